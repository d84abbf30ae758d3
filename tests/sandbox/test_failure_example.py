"""One failure example everywhere a newcomer reads one: README, terminal, page, welcome, the config's docstring."""

from __future__ import annotations

import re
from pathlib import Path

from bot.sandbox import config as sandbox_config
from bot.sandbox.config import FAIL_EXAMPLE

ROOT = Path(__file__).resolve().parents[2]
OTHERS = re.compile(r"sandbox_fail=(?!test\b)[A-Za-z]+")  # any other stage given as the example


def test_the_example_is_sandbox_fail_test():
    assert FAIL_EXAMPLE == "sandbox_fail=test"


def test_readme_page_terminal_and_config_docstring_give_the_same_example_and_no_other():
    texts = {
        "README.md": (ROOT / "README.md").read_text(),
        "index.html": (ROOT / "bot/sandbox/slack/static/index.html").read_text(),
        "config docstring": sandbox_config.__doc__ or "",
    }
    for name, text in texts.items():
        assert FAIL_EXAMPLE in text, name
        assert not OTHERS.search(text), (name, OTHERS.search(text))
    # The terminal's line and the welcome are built from FAIL_EXAMPLE itself.
    run = (ROOT / "bot/sandbox/run.py").read_text()
    assert "{FAIL_EXAMPLE}" in run and not OTHERS.search(run)
    assert "welcome(" in (ROOT / "bot/sandbox/aws/stack.py").read_text()
    assert "{FAIL_EXAMPLE}" in (ROOT / "bot/sandbox/welcome.py").read_text()  # tests/sandbox/test_welcome.py reads it
