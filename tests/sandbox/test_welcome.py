"""The welcome's steps say what the sandbox's configuration does: the train it runs, or the buttons it asks with."""

from __future__ import annotations

from pathlib import Path

from bot.config.model import Config
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws import upstream
from bot.sandbox.config import FAIL_EXAMPLE
from bot.sandbox.welcome import welcome

ROOT = Path(__file__).resolve().parents[2]
USERS = [
    {"name": "carol", "title": "developer", "roles": ["baker"]},
    {"name": "alice", "title": "platform", "roles": ["baker", "approver", "deployer"]},
    {"name": "bob", "title": "platform", "roles": ["baker", "approver", "deployer"]},
]


def configuration(tmp_path: Path, **train_keys: str) -> Config:
    example = sandbox_config.read_example(ROOT / "bakery.example.yaml")
    doc = sandbox_config.derive(
        example,
        queue_url="https://sqs.eu-west-1.amazonaws.com/123456789012/q",
        topic_arn="arn:aws:sns:eu-west-1:123456789012:t",
        state_path=tmp_path / "s.db",
        **train_keys,
    )
    return sandbox_config.write(doc, tmp_path / "bakery.yaml").config


def steps(config: Config) -> str:
    return welcome(USERS, config=config)[1][0]["text"]["text"].split("*Try first:*")[1]


def test_under_the_sandboxs_train_the_steps_say_the_child_bakes_and_the_target_rolls_by_themselves(tmp_path):
    text = steps(
        configuration(
            tmp_path,
            upstream_topic_arn="arn:aws:sns:eu-west-1:123456789012:upstream",
            upstream_parameter=upstream.UPSTREAM_PARAMETER,
        )
    )

    assert "As *carol*, type `/bake base`" in text and "switch to *alice* or *bob*" in text
    assert "the bakery bakes *web* on its new AMI by itself" in text
    assert "*web-prod* rolls out by itself: approve the rollout as *alice* or *bob*" in text
    assert "4. *Upstream release: base* in the sidebar" in text and "one release train" in text
    assert "Roll out to web-prod" not in text and "Rebake web" not in text and "`/bake web`" not in text


def test_with_the_examples_ask_everywhere_the_steps_name_the_buttons_a_person_presses(tmp_path):
    text = steps(configuration(tmp_path))

    assert "Press *Rebake web* in base's thread (or `/bake web`)" in text
    assert "*Roll out to web-prod* as *alice* and approve the rollout as *bob*" in text
    assert "by itself" not in text and "Upstream release" not in text
    assert f"`/bake base {FAIL_EXAMPLE}` makes the Test stage fail" in text


def test_the_welcome_says_which_account_each_image_and_target_lives_in(tmp_path):
    text = welcome(USERS, config=configuration(tmp_path))[1][0]["text"]["text"]

    accounts = text.split("*Two AWS accounts* (both local):")[1].split("*Try first:*")[0]
    assert "*web* and *web-prod* live in account `210987654321`, which the bot reaches through an assumed role" in (
        accounts
    )
    assert "*base* in the bakery's own account `123456789012`" in accounts
    assert "*base*'s released AMIs are shared with `210987654321`, as its children there need" in accounts
