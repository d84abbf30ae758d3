"""The page draws every Slack :shortcode: the bot writes as its emoji, not as the shortcode's text."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
# A word of its own (after a space, a quote or the literal's start), not a piece of an ARN (arn:aws:sns:…).
SHORTCODE = re.compile(r"""(?<![^\s"'(`]):([a-z][a-z0-9_+-]*[a-z0-9]):(?![\w:{])""")


def page_emoji() -> set[str]:
    page = (ROOT / "bot/sandbox/slack/static/index.html").read_text()
    table = re.search(r"const EMOJI = \{(.*?)\};", page, re.S)
    assert table, "the page's EMOJI table"
    return set(re.findall(r'"?([a-z0-9_+-]+)"?:"', table.group(1)))


def test_every_shortcode_the_bot_writes_is_in_the_pages_table():
    used: set[str] = set()
    for path in [*ROOT.glob("bot/**/*.py"), *ROOT.glob("handlers/**/*.py")]:
        for literal in re.findall(r'"(?:[^"\\\n]|\\.)*"', path.read_text()):
            used |= set(SHORTCODE.findall(literal))
    assert {"white_check_mark", "hourglass_flowing_sand", "wave"} <= used  # the scan finds them
    missing = sorted(used - page_emoji())
    assert not missing, f"add these to EMOJI in bot/sandbox/slack/static/index.html: {missing}"
