"""`/bake help`, `/bake list` and `/bake status` teach: what each image takes, what was baked, how to start."""

from __future__ import annotations

from bot.commands.parser import USAGE
from tests.fixtures.bakery import REQUESTER

AMI = "ami-0123456789abcdef0"


def request_id_of(answer: dict) -> str:
    text = answer["text"]
    assert "Bake `b-" in text, text
    return text.split("`")[1]


def shown(answer: dict) -> list[str]:
    """The texts of the answer's blocks: what Slack shows."""
    return [block["text"]["text"] for block in answer["blocks"]]


def test_help_shows_each_images_variables_defaults_parent_and_targets(bakery):
    answer = bakery.command(REQUESTER, "help")
    assert shown(answer) == [
        USAGE,
        "*Images you can bake*\n"
        "• *base* — rolls out to `base-canary`\n"
        "    variables (defaults): `instance_type=t3.micro`\n"
        "• *web* on top of *base* — rolls out to `web-prod`\n"
        "    variables (defaults): `app_version=1.0.0`, `instance_type=t3.micro`",
    ]
    assert answer["response_type"] == "ephemeral"


def test_list_adds_each_images_latest_amis(bakery):
    rid = request_id_of(bakery.command(REQUESTER, "base"))
    bakery.run_pipeline("base", bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", AMI)])
    bakery.wait(lambda: AMI in "".join(shown(bakery.command(REQUESTER, "list"))), what="the AMI in the list")
    assert shown(bakery.command(REQUESTER, "list")) == [
        "*Images*\n"
        "• *base* — rolls out to `base-canary`\n"
        "    variables (defaults): `instance_type=t3.micro`\n"
        f"    latest AMI: `{AMI}` (eu-west-1)\n"
        "• *web* on top of *base* — rolls out to `web-prod`\n"
        "    variables (defaults): `app_version=1.0.0`, `instance_type=t3.micro`\n"
        "    latest AMI: none baked yet",
    ]


def test_status_with_nothing_in_flight_before_any_bake_says_how_to_start_one(bakery):
    assert bakery.command(REQUESTER, "status")["text"] == (
        "Nothing is baking right now.\nNothing has been baked yet.\n"
        "Start one with `/bake <image> [key=value ...] [reason]`; the images are *base*, *web*. "
        "`/bake help` lists their variables."
    )


def test_status_with_nothing_in_flight_lists_the_last_bakes(bakery):
    rids = []
    for image in ("base", "web", "base"):
        rid = request_id_of(bakery.command(REQUESTER, image))
        bakery.run_pipeline(image, bakery.commit_of(rid), request_id=rid, amis=[("eu-west-1", AMI)])
        bakery.wait(lambda rid=rid: not bakery.services.bakes.status(None), what=f"{rid} to finish")
        rids.append(rid)
    lines = bakery.command(REQUESTER, "status")["text"].splitlines()
    assert lines[:2] == ["Nothing is baking right now.", "*Last bakes*"]
    listed = [line.split("`")[1] for line in lines[2:5]]
    # Newest first; request times are whole seconds, so only each image's own order is certain.
    assert sorted(listed) == sorted(rids) and listed.index(rids[2]) < listed.index(rids[0])
    assert lines[5].startswith("Start one with `/bake <image>")
