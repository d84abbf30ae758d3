"""Takes docs/sandbox.png: the sandbox page in the middle of a bake, waiting for its approval.

Usage: .venv/bin/python scripts/screenshot_sandbox.py [--out docs/sandbox.png] [--chromium /usr/bin/chromium]
Starts `bakery sandbox --port 0` in its own process group, drives Debian's Chromium through Playwright, and
stops the sandbox with Ctrl-C (SIGINT) when done. Needs no network.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import subprocess
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def start_sandbox(stage_seconds: float) -> tuple[subprocess.Popen[str], str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "SLACK_", "BAKERY_"))}
    env["BAKERY_SANDBOX_STAGE_SECONDS"] = str(stage_seconds)
    proc = subprocess.Popen(
        [sys.executable, "-m", "bot.cli", "sandbox", "--port", "0"],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        start_new_session=True,
    )
    url: list[str] = []

    def read() -> None:
        for line in proc.stdout:  # type: ignore[union-attr]
            if match := re.search(r"open (http://\S+)", line):
                url.append(match.group(1))
                return

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    reader.join(60)
    if not url:
        os.killpg(proc.pid, signal.SIGKILL)
        raise SystemExit("the sandbox did not start within 60 s")
    return proc, url[0]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default=str(ROOT / "docs" / "sandbox.png"))
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    args = parser.parse_args()
    from playwright.sync_api import sync_playwright

    proc, url = start_sandbox(stage_seconds=0.5)
    try:
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1280, "height": 860}, device_scale_factor=1)
            page.goto(url)
            page.locator("#users .user", has_text="carol").click()
            page.fill("#cmd", "/bake base instance_type=t3.small CVE-2026-1234 openssl fix")
            page.press("#cmd", "Enter")
            # Mid-bake: the build stages done, the pipeline waiting at its manual approval (its buttons shown,
            # in the bake's message or its thread, whatever the messages' words).
            page.locator("#feed button[data-action-id=bake_approve]").first.wait_for(timeout=60_000)
            page.wait_for_timeout(1500)  # one more poll, so the thread and buttons are drawn
            page.fill("#cmd", "/bake status")
            Path(args.out).parent.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=args.out)
            browser.close()
    finally:
        os.killpg(proc.pid, signal.SIGINT)
        proc.wait(20)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
