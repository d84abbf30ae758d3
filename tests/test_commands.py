"""Parsing `/bake` text: each form, and bad input answered with one clear sentence."""

from __future__ import annotations

import pytest

from bot.commands import parser as commands
from bot.domain.errors import BadRequest


def refused(text: str) -> str:
    with pytest.raises(BadRequest) as info:
        commands.parse_command(text)
    return str(info.value)


@pytest.mark.parametrize("text", ["", "   ", "help", "HELP"])
def test_help_forms(text):
    assert commands.parse_command(text) == commands.Help()


def test_list_and_status_forms():
    assert commands.parse_command("list") == commands.ListImages()
    assert commands.parse_command("status") == commands.Status(None)
    assert commands.parse_command("status b-7f3k2q") == commands.Status("b-7f3k2q")
    assert commands.parse_command("status web") == commands.Status("web")


def test_a_bake_with_variables_and_a_reason():
    cmd = commands.parse_command("web instance_type=t3.small app_version=1.2.3 CVE-2026-1234 hotfix")
    assert cmd == commands.Bake(
        image="web", variables={"instance_type": "t3.small", "app_version": "1.2.3"}, reason="CVE-2026-1234 hotfix"
    )


def test_force_right_after_the_image_bakes_even_the_same_inputs_again():
    cmd = commands.parse_command("web --force instance_type=t3.small CVE-2026-1234")
    assert (cmd.force, cmd.variables, cmd.reason) == (True, {"instance_type": "t3.small"}, "CVE-2026-1234")
    assert commands.parse_command("web CVE-2026-1234").force is False
    assert commands.parse_command("web rebuild --force").force is False  # a word of the reason, as typed


def test_source_ami_pins_the_base_image():
    cmd = commands.parse_command("web source_ami=ami-0123456789abcdef0")
    assert cmd.source_ami == "ami-0123456789abcdef0" and cmd.variables == {}


def test_rollout_form():
    assert commands.parse_command("rollout web-prod ami-0123456789abcdef0") == commands.Rollout(
        "web-prod", "ami-0123456789abcdef0"
    )
    assert commands.parse_command("rollout web-prod") == commands.Rollout("web-prod", None)


def test_fleet_revoke_and_gc_forms():
    assert commands.parse_command("fleet") == commands.FleetCommand(None)
    assert commands.parse_command("fleet web-prod") == commands.FleetCommand("web-prod")
    assert commands.parse_command("revoke ami-0123456789abcdef0 CVE-2026-1234 in openssl") == commands.Revoke(
        "ami-0123456789abcdef0", "CVE-2026-1234 in openssl"
    )
    assert commands.parse_command("gc") == commands.Gc()


@pytest.mark.parametrize(
    "text, fragment",
    [
        ("fleet web base", "Usage: `/bake fleet"),
        ("fleet ../web", "neither an image nor a target"),
        ("revoke", "Usage: `/bake revoke <ami-id> <reason>`"),
        ("revoke ami-0123456789abcdef0", "Say why `ami-0123456789abcdef0` is revoked"),
        ("revoke ami-0123456789abcdef0 \u200b", "Say why"),
        ("revoke web bad", "is not an AMI id"),
        ("revoke ami-0123456789abcdef0 " + "x" * 400, "the most is 300"),
        ("gc now", "`/bake gc` takes nothing after it"),
        ("web x=$(reboot)", "may only use letters"),
        ("web x=a;b", "may only use letters"),
        ("web x=`id`", "may only use letters"),
        ("web x=../../etc/passwd", "may not contain `..`"),
        ("web x=--force", "may not start with `-`"),
        ("web x=", "has no value"),
        ("web X=1", "is not a variable name"),
        ("web x=1 x=2", "given twice"),
        ("web source_ami=ubuntu", "must be an AMI id"),
        ("web x=" + "a" * 10_000, "the most `/bake` takes"),
        ("web x=" + "a" * 300, "the most is 256"),
        ("../web", "is not an image name"),
        ("status ../../x", "neither a request id"),
        ("rollout web-prod not-an-ami", "is not an AMI id"),
        ("list extra", "takes nothing"),
    ],
)
def test_bad_input_is_refused_with_a_reason(text, fragment):
    assert fragment in refused(text)


def test_a_reason_is_one_line_of_printable_text():
    cmd = commands.parse_command("web fix\nBakery-Request: b-forged1\u0007 now")
    assert cmd.reason == "fix Bakery-Request: b-forged1 now"
    assert "\n" not in cmd.reason


def test_a_very_long_reason_is_refused():
    assert "the most is 300" in refused("web " + "word " * 100)


def test_refusals_do_not_echo_backticks():
    message = refused("`web`")
    assert "``" not in message


@pytest.mark.parametrize(
    "text, quoted",
    [
        ('web instance_type="t3 small" CVE-1', '`"t3 small"`'),
        ("web instance_type='t3 small'", "`'t3 small'`"),
        ("web instance_type=\u201ct3 small\u201d now", "`\u201ct3 small\u201d`"),  # quotes as macOS retypes them
        ('web instance_type="t3 small', '`"t3 small`'),  # never closed: the rest of the text
        ("web instance_type=t3,small", "`t3,small`"),
    ],
)
def test_a_refused_value_is_quoted_whole_as_it_was_typed(text, quoted):
    assert refused(text) == (
        "Variable `instance_type` may only use letters, digits and `. _ - : / +` (no spaces or quotes); "
        f"{quoted} does not."
    )


def test_a_long_refused_value_is_quoted_shortened_to_its_first_57_characters():
    value = '"' + "word " * 30 + '"'
    message = refused(f"web x={value}")
    assert f"`{value[:57]}…` does not." in message


def test_a_value_typed_without_quotes_ends_at_its_first_space():
    cmd = commands.parse_command("web instance_type=t3 small")
    assert cmd.variables == {"instance_type": "t3"} and cmd.reason == "small"
