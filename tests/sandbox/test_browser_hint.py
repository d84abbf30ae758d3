"""The page's box sends text without a slash as a channel message, as Slack does: it shows who wrote it, and
the bot answers `bake base` with a private hint."""

from __future__ import annotations

import pytest

from tests.sandbox.test_browser import act_as, browser, page, sandbox, slash, wait_text  # noqa: F401 - fixtures

pytestmark = pytest.mark.slow


def test_bake_typed_without_the_slash_is_shown_as_carols_message_and_answered_with_a_hint(page):  # noqa: F811
    act_as(page, "carol")
    slash(page, "bake base")
    wait_text(page.locator(".msg.ephemeral"), r"Did you mean /bake base\? Slash commands start with /")
    typed = page.locator("#feed > .msg:not(.ephemeral)", has_text="bake base").last
    assert typed.locator(".who").inner_text() == "carol"
