"""The sandbox page in a real browser (Debian's Chromium through Playwright): what a user sees and clicks."""

from __future__ import annotations

import json
import os
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bot.sandbox.pipeline.runner import ACTIONS
from tests.fixtures.waiting import wait_for
from tests.sandbox.sandbox_process import SandboxProcess

# One sandbox for the module (its fixture starts `bakery sandbox`, ~8 s): under `make test`'s workers the whole
# module runs on one of them (--dist loadgroup), so it starts once.
pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("sandbox-browser")]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
WAIT_MS = 30_000
RID = re.compile(r"Bake `?(b-[a-z0-9]{6,12})`? of")
GOLDEN = Path(__file__).resolve().parents[1] / "data" / "golden" / "page"
# What changes from run to run, and its stand-in in the reviewed page text.
VOLATILE = [
    (re.compile(r"\b[bhr]-[a-z0-9]{6,12}\b"), "<id>"),
    (re.compile(r"\bami-[0-9a-f]{8,17}\b"), "<ami>"),
    (re.compile(r"\b[0-9a-f]{8}\b"), "<hex>"),
    (re.compile(r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d(:\d\d)?Z?"), "<time>"),
    (re.compile(r"\b\d+(h \d\dm|m \d\ds|s)\b"), "<took>"),
    (re.compile(r"\b\d{12}\b"), "<account>"),
    (re.compile(r"(\d{1,2}/\d{1,2}/\d{4}, )?\d{1,2}:\d\d(:\d\d)? [AP]M"), "<time>"),
    # The variables are the bake's input, not its state (and the sandbox's defaults are its own business).
    (re.compile(r"^Variables\n.*$", re.MULTILINE), "Variables\n<variables>"),
]


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture(scope="module")
def sandbox() -> Iterator[SandboxProcess]:
    box = SandboxProcess(stage_seconds=0.3, refresh_seconds=3.0)
    try:
        yield box
    finally:
        assert box.stop() == 0, "".join(box.stderr[-30:])


@pytest.fixture
def page(browser: Any, sandbox: SandboxProcess) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US", timezone_id="UTC")
    tab = context.new_page()
    tab.goto(sandbox.url)
    tab.wait_for_selector("#users .user")
    try:
        yield tab
    finally:
        context.close()


def act_as(page: Any, name: str) -> None:
    page.locator("#users .user", has_text=name).click()
    page.locator("#users .user.current", has_text=name).wait_for()
    # The feed is redrawn for the new user before anything is read from it.
    page.wait_for_function(
        "() => document.getElementById('feed').dataset.user === document.querySelector('#users .current input').value"
    )


def slash(page: Any, text: str) -> None:
    page.fill("#cmd", text)
    page.press("#cmd", "Enter")


def bake(page: Any, text: str) -> str:
    """Type a /bake command; returns the request id from the private answer the page shows."""

    def rids() -> set[str]:
        return {m.group(1) for t in page.locator(".msg.ephemeral").all_inner_texts() if (m := RID.search(t))}

    before = rids()
    slash(page, text)
    page.wait_for_function(
        "n => [...document.querySelectorAll('.msg.ephemeral')].filter(m => /Bake b-/.test(m.innerText)).length > n",
        arg=len(before),
        timeout=WAIT_MS,
    )
    (new,) = rids() - before
    return new


def bake_message(page: Any, rid: str) -> Any:
    """The bake's own message (its header names it), not a train message that lists it as a hop."""
    return page.locator("#feed > .msg:not(.ephemeral)", has_text=re.compile(rf"Bake {rid} of"))


def automatic_web_bake(sandbox: Any, after: str) -> str | None:
    """The request id of the newest web bake the bakery opened itself (a train's hop), if there is one."""
    found = [
        (m["ts"], hit.group(1))
        for m in sandbox.messages()
        if not m.get("thread_ts") and (hit := re.match(r"Bake (b-[a-z0-9]+) of web", m.get("text") or ""))
        and "bakery" in json.dumps(m["blocks"]) and m["ts"] > after
    ]
    return max(found)[1] if found else None


def train_message(page: Any, *, train_id: str = "", started_by: str = "") -> Any:
    """A train's one top-level message: the given train, or the one a person started."""
    name = re.escape(train_id) if train_id else r"t-[a-z0-9]{6}"
    who = rf", started by @{started_by}\)" if started_by else ""
    return top_message(page, rf"Release train {name} \((moving|finished){who}")


def top_message(page: Any, pattern: str) -> Any:
    """The channel's top-level messages (no replies, nothing private) whose text matches `pattern`."""
    return page.locator("#feed > .msg:not(.ephemeral)", has_text=re.compile(pattern, re.S))


def approval_card(page: Any, rid: str) -> Any:
    """The approval card, a reply in the bake's thread (it names its bake); the message only points to it."""
    return page.locator("#feed .thread .msg", has_text=rid)


def thread_of(page: Any, rid: str) -> Any:
    """The replies shown under the bake's message."""
    return bake_message(page, rid).locator("xpath=following-sibling::*[1][contains(@class, 'thread')]").locator(".msg")


def as_reviewed(page: Any, rid: str, name: str) -> None:
    """The bake's message and thread as the page shows them, against their reviewed text.

    Text, not pixels: the page is drawn with whatever fonts and emoji the machine has, so a screenshot
    comparison fails on a font update; the text fails only when what a reader is told changes. Ids, AMIs,
    times and durations differ per run and are replaced. The page may still be catching up with the last
    events, so it is read until it matches or the wait runs out. BAKERY_UPDATE_GOLDEN=1 rewrites the files.
    """

    def shown() -> str:
        text = bake_message(page, rid).first.inner_text() + "\n--- thread\n"
        text += "\n---\n".join(thread_of(page, rid).all_inner_texts())
        for pattern, stand_in in VOLATILE:
            text = pattern.sub(stand_in, text)
        return "\n".join(line.rstrip() for line in text.splitlines()) + "\n"

    path = GOLDEN / f"{name}.txt"
    if os.environ.get("BAKERY_UPDATE_GOLDEN"):
        path.parent.mkdir(exist_ok=True)
        path.write_text(shown())
    reviewed = path.read_text()
    try:
        wait_for(lambda: shown() == reviewed, WAIT_MS / 1000, f"the page to show {path.name}")
    except AssertionError:
        assert shown() == reviewed  # the difference, as pytest shows it


def wait_text(locator: Any, pattern: str | re.Pattern[str]) -> None:
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    try:
        locator.filter(has_text=re.compile(pattern)).first.wait_for(timeout=WAIT_MS)  # re.compile keeps flags
    except PlaywrightTimeout:
        shown = "\n---\n".join(locator.all_inner_texts()) or "(nothing)"
        raise AssertionError(f"no message matching {pattern!r} within {WAIT_MS} ms; shown:\n{shown}") from None


def free_the_pipeline(sandbox: SandboxProcess, pipeline: str) -> None:
    """Reject a waiting approval without the bot, so the next bake of the image does not queue behind it.

    Rejected, not approved: a release would set the sandbox's train moving (web bakes, web-prod rolls), and
    those bakes would wait at Approve ahead of the trains the tests below follow."""
    codepipeline = sandbox.aws("codepipeline")
    stage = next(
        s for s in codepipeline.get_pipeline_state(name=pipeline)["stageStates"] if s["stageName"] == "Approve"
    )
    latest = stage["actionStates"][0].get("latestExecution", {})
    if latest.get("status") == "InProgress":
        codepipeline.put_approval_result(
            pipelineName=pipeline,
            stageName="Approve",
            actionName=ACTIONS["Approve"],
            result={"summary": "set aside by the browser test", "status": "Rejected"},
            token=latest["token"],
        )


def test_a_bake_typed_in_the_page_shows_its_progress_and_ami(page, sandbox):
    act_as(page, "carol")
    rid = bake(page, "/bake base --force from the browser")
    assert "Only visible to you" in page.locator(".msg.ephemeral").last.inner_text()
    message = bake_message(page, rid)
    wait_text(message, r"Source\s*succeeded")
    wait_text(message, r"Approve\s*waiting for approval — see the thread")
    approval_card(page, rid).locator("button[data-action-id=bake_approve]").first.wait_for(timeout=WAIT_MS)
    as_reviewed(page, rid, "waiting_for_approval")
    text = message.first.inner_text()
    assert re.search(r"of base:? waiting for approval", text) and "running" not in text, text
    assert "not released yet" in text and message.locator("button").count() == 0, text
    assert re.search(r"Validate\s*succeeded", text) and re.search(r"Bake\s*succeeded", text), text
    assert re.search(r"ami-[0-9a-f]{8,17} \(eu-west-1\)", text), text
    assert "@carol" in text  # <@U0CAROL> rendered as a mention, not as markup
    act_as(page, "alice")  # carol's private answer is not alice's to see
    page.wait_for_function("() => !document.querySelector('.msg.ephemeral')")
    free_the_pipeline(sandbox, "ami-bakery-base")
    wait_text(bake_message(page, rid), r"Approve\s*rejected")


def test_bot_text_is_shown_as_text_never_as_html(page, sandbox):
    act_as(page, "carol")
    rid = bake(page, "/bake base --force <img src=x onerror=window.pwned=1> <b>bold</b>")
    wait_text(bake_message(page, rid), r"<b>bold</b>")
    assert page.evaluate("() => window.pwned === undefined")
    assert page.locator("#feed img").count() == 0
    wait_text(bake_message(page, rid), r"Approve\s*waiting for approval")
    free_the_pipeline(sandbox, "ami-bakery-base")
    wait_text(bake_message(page, rid), r"Approve\s*rejected")


def test_a_train_started_by_a_person_four_eyes_on_every_hop_then_rolled_out(page, sandbox):
    """§12: carol's released bake moves the sandbox's train; alice and bob approve its hops (the refusals of
    whoever started a train are tests/trains/test_train_conversation.py's)."""
    act_as(page, "carol")
    rid = bake(page, "/bake base --force four eyes")
    message = bake_message(page, rid)
    approve = approval_card(page, rid).locator("button[data-action-id=bake_approve]")
    approve.first.wait_for(timeout=WAIT_MS)
    private = page.locator(".msg.ephemeral").count()
    approve.first.click()  # the requester may not approve their own bake
    page.locator(".msg.ephemeral").nth(private).wait_for(timeout=WAIT_MS)
    # carol is no approver in the example configuration; were she one, four-eyes would refuse her.
    assert re.search(r"not allowed to approve|four-eyes", page.locator(".msg.ephemeral").nth(private).inner_text())
    assert re.search(r"Approve\s*waiting for approval", message.first.inner_text())
    act_as(page, "alice")
    approval_card(page, rid).locator("button[data-action-id=bake_approve]").first.click()
    wait_text(bake_message(page, rid), r"Publish\s*succeeded")
    text = bake_message(page, rid).first.inner_text()
    assert re.search(r"Approve\s*approved by @alice", text) and re.search(r"AMIs released\s*ami-[0-9a-f]{8,17}", text)
    released = re.search(r"AMIs released\s*(ami-[0-9a-f]{8,17})", text).group(1)
    # alice's one private answer is the outcome: no "Approving…" beside it.
    wait_text(page.locator(".msg.ephemeral"), r"You approved")
    assert not [t for t in page.locator(".msg.ephemeral").all_inner_texts() if "Approving" in t]

    # The sandbox's train (§9): base's release bakes web at once, as the bakery, on exactly that AMI; its
    # target web-prod rolls by itself (on_release: auto) and, gated, waits for an approver.
    web = sandbox.wait(lambda: automatic_web_bake(sandbox, after=message.first.get_attribute("data-ts") or ""),
                       what="the train's web bake")
    wait_text(bake_message(page, web), rf"Source AMI\s*{released}")
    train = train_message(page, started_by="carol")
    wait_text(train, rf"bake base {rid}: released")
    approval_card(page, web).locator("button[data-action-id=bake_approve]").first.wait_for(timeout=WAIT_MS)
    approval_card(page, web).locator("button[data-action-id=bake_approve]").first.click()
    wait_text(bake_message(page, web), r"Publish\s*succeeded")
    act_as(page, "bob")
    approve = page.locator("button[data-action-id=rollout_approve]").last
    approve.wait_for(timeout=WAIT_MS)
    # The train rolls web-prod by itself: once its rollout is open, the bake offers no Roll out button. (Between
    # the release and that rollout the bot draws one: longer where web-prod is reached through a role.)
    wait_for(
        lambda: bake_message(page, web).locator("button[data-action-id=rollout_start]").count() == 0,
        WAIT_MS / 1000,
        "no Roll out button on web's bake once the train rolls web-prod",
    )
    approve.click(timeout=WAIT_MS)
    # The rollout's progress lives in the web bake's thread; the refresh takes refresh_seconds (3 s here).
    wait_text(page.locator("#feed .thread .msg"), r"Rollout r-[a-z0-9]+ of web-prod onto ami-[0-9a-f]+:? succeeded")
    # The bake's message no longer offers what happened: it says where its AMI runs.
    wait_text(bake_message(page, web), r"web-prod runs this AMI since")
    assert bake_message(page, web).locator("button", has_text="Roll out to web-prod").count() == 0
    rolled = r"rollout web-prod r-[a-z0-9]+ onto .*: succeeded .*approved by @bob"
    wait_text(train_message(page, started_by="carol"), rolled)


def test_a_rejection_asks_for_a_reason_in_a_modal_and_fails_the_bake(page, sandbox):
    act_as(page, "carol")
    rid = bake(page, "/bake base --force to be turned down")
    act_as(page, "alice")
    reject = approval_card(page, rid).locator("button[data-action-id=bake_reject]")
    reject.first.click(timeout=WAIT_MS)
    modal = page.locator("#modal")
    modal.locator("textarea, input").first.wait_for(timeout=WAIT_MS)
    modal.locator("textarea, input").first.fill("not before the freeze ends")
    modal.locator("button.primary").click()
    page.locator("#modal-bg").wait_for(state="hidden", timeout=WAIT_MS)
    message = bake_message(page, rid)
    wait_text(message, r"of base:? rejected by @alice: not before the freeze ends")
    wait_text(message, r"Approve\s*rejected")
    wait_text(message, r"AMIs not released(?! yet)")  # once the execution ended
    text = message.first.inner_text()
    assert "failed" not in text, text
    assert message.locator("button").count() == 0  # no Roll out for an AMI that was not released
    said = [t for t in thread_of(page, rid).all_inner_texts() if "not before the freeze ends" in t]
    assert len(said) == 1 and "rejected by @alice" in said[0]  # the card, become its outcome; said once
    wait_text(page.locator(".msg.ephemeral"), r"You rejected")
    as_reviewed(page, rid, "rejected")


def test_a_failed_test_stage_fails_the_bake_and_its_ami_is_not_released(page, sandbox):
    act_as(page, "carol")
    rid = bake(page, "/bake base --force sandbox_fail=test to see a failure")
    message = bake_message(page, rid)
    wait_text(message, r"of base:? failed at Test")
    wait_text(thread_of(page, rid), r"Stage Test failed")
    text = message.first.inner_text()
    assert re.search(r"Test\s*failed", text) and re.search(r"AMIs not released\s+ami-", text), text
    assert "rejected" not in text and message.locator("button").count() == 0
    as_reviewed(page, rid, "failed_test")


# --- the first screen (issue 10, items 4 and 6) -------------------------------------------------------


def approval_of(page: Any, rid: str) -> Any:
    """The message that carries bake `rid`'s Approve button, wherever the bot puts it (message or thread)."""
    return page.locator("#feed .msg", has_text=rid).filter(has=page.locator("button[data-action-id=bake_approve]"))


def test_the_first_screen_welcomes_and_says_whom_to_switch_to(page, sandbox):
    welcome = page.locator("#feed > .msg.from-sandbox").first
    assert welcome.locator(".who").inner_text() == "sandbox"
    assert "Who is who" in welcome.inner_text() and "Try first" in welcome.inner_text()
    assert page.locator("#feed > .msg").first.get_attribute("class").split() == ["msg", "from-sandbox"]
    assert "left it" not in page.locator("header").inner_text()

    act_as(page, "carol")
    rid = bake(page, "/bake base --force whom to switch to")
    card = approval_of(page, rid)
    card.first.wait_for(timeout=WAIT_MS)
    hint = card.first.locator(".hint")
    assert re.sub(r"\s+", " ", hint.inner_text()) == (
        "carol is not an approver here: switch to alice or bob in the sidebar to use these buttons."
    )
    act_as(page, "alice")  # an approver: no hint
    approval_of(page, rid).first.wait_for(timeout=WAIT_MS)
    assert approval_of(page, rid).first.locator(".hint").count() == 0
    free_the_pipeline(sandbox, "ami-bakery-base")
    wait_text(bake_message(page, rid), r"Approve\s*rejected")


def test_emoji_are_drawn_in_the_emoji_font_stack_with_their_shortcode(page, sandbox):
    wave = page.locator("#feed .from-sandbox .emoji").first
    assert wave.inner_text() == "👋" and wave.get_attribute("title") == ":wave:"
    family = wave.evaluate("e => getComputedStyle(e).fontFamily")
    assert family.startswith('"Noto Color Emoji"') and family.endswith("sans-serif"), family
    assert page.locator("aside h1 .emoji").inner_text() == "🍞"  # Unicode emoji in the page's own text too
    act_as(page, "carol")
    rid = bake(page, "/bake base --force emoji")
    check = bake_message(page, rid).locator(".emoji[title=':white_check_mark:']")
    check.first.wait_for(timeout=WAIT_MS)
    assert check.first.inner_text() == "✅"
    approval_of(page, rid).first.wait_for(timeout=WAIT_MS)
    free_the_pipeline(sandbox, "ami-bakery-base")
    wait_text(bake_message(page, rid), r"Approve\s*rejected")


def test_the_emoji_font_draws_in_colour_when_installed(page):
    if not Path("/usr/share/fonts/truetype/noto/NotoColorEmoji.ttf").exists():
        pytest.skip("fonts-noto-color-emoji is not installed (.ci/run installs it)")
    coloured = page.evaluate(
        """() => {
          const c = document.createElement("canvas"); c.width = c.height = 48;
          const g = c.getContext("2d"); g.font = '40px "Noto Color Emoji"'; g.fillText("🍞", 0, 40);
          const d = g.getImageData(0, 0, 48, 48).data;
          for (let i = 0; i < d.length; i += 4) if (d[i + 3] && Math.abs(d[i] - d[i + 2]) > 40) return true;
          return false;
        }"""
    )
    assert coloured  # a colour glyph, not a monochrome box


def test_bake_typed_without_the_slash_is_shown_as_carols_message_and_answered_with_a_hint(page):
    """The page's box sends text without a slash as a channel message, as Slack does: it shows who wrote it,
    and the bot answers `bake base` with a private hint."""
    act_as(page, "carol")
    slash(page, "bake base")
    wait_text(page.locator(".msg.ephemeral"), r"Did you mean /bake base\? Slash commands start with /")
    typed = page.locator("#feed > .msg:not(.ephemeral)", has_text="bake base").last
    assert typed.locator(".who").inner_text() == "carol"


def test_one_click_on_upstream_release_runs_the_whole_train_in_one_message(page, sandbox):
    """Issue 11 item 8, §9: the page's button plays Amazon's release; base, web and web-prod follow, each hop
    waiting only for its approver, all of it in one train message and in `/bake status t-…`. Last here."""
    from bot.sandbox.aws.upstream import UPSTREAM_PARAMETER

    ssm = sandbox.aws("ssm")
    before = ssm.get_parameter(Name=UPSTREAM_PARAMETER)["Parameter"]["Value"]
    assert page.locator("#upstream button").all_inner_texts() == ["Upstream release: base"]  # web has a parent
    act_as(page, "alice")

    page.locator("#upstream button", has_text="base").click()

    moved = wait_for(
        lambda: (v := ssm.get_parameter(Name=UPSTREAM_PARAMETER)["Parameter"]["Value"]) != before and v,
        WAIT_MS / 1000,
        "the stand-in parameter to move",
    )
    assert sandbox.aws("ec2").describe_images(ImageIds=[moved])["Images"][0]["State"] == "available"
    # The base bake the upstream caused: the bakery's, on exactly the new AMI, in a train of its own.
    cause = rf"upstream al2023-ami-kernel-default-x86_64 moved to {moved}"
    base_message = top_message(page, rf"Bake b-[a-z0-9]+ of base.*{cause}")
    base_message.first.wait_for(timeout=WAIT_MS)
    header = base_message.first.inner_text()
    base, train_id = RID.search(header).group(1), re.search(r"train (t-[a-z0-9]{6})", header).group(1)
    assert "The bakery baked it" in header and re.search(rf"Source AMI\s*{moved}", header), header
    assert header.count(cause) == 1, header  # said once, not again as the bake's reason
    train = train_message(page, train_id=train_id)
    wait_text(train, rf"cause: {cause}")
    assert "started by" not in train.first.inner_text()  # an automatic root: nobody to exclude

    approval_card(page, base).locator("button[data-action-id=bake_approve]").first.click(timeout=WAIT_MS)
    wait_text(bake_message(page, base), r"Publish\s*succeeded")
    released = re.search(r"AMIs released\s*(ami-[0-9a-f]{8,17})", bake_message(page, base).first.inner_text()).group(1)
    wait_text(train, rf"bake base {base}: released \(\d+s\), approved by @alice")
    # §13: base's release is shared with web's account before web bakes there.
    wait_text(train, rf"distribution of base {base}: shared with 210987654321")

    # web, baked by itself on exactly base's released AMI; any approver may approve it: bob here.
    web_message = top_message(page, rf"Bake b-[a-z0-9]+ of web.*base released {released}")
    web_message.first.wait_for(timeout=WAIT_MS)
    web = RID.search(web_message.first.inner_text()).group(1)
    assert re.search(rf"Source AMI\s*{released}", web_message.first.inner_text())
    act_as(page, "bob")
    approval_card(page, web).locator("button[data-action-id=bake_approve]").first.click(timeout=WAIT_MS)
    wait_text(bake_message(page, web), r"Publish\s*succeeded")
    wait_text(bake_message(page, web), r"ami-[0-9a-f]+ \(eu-west-1, 210987654321\)")  # baked in web's own account
    wait_text(train, rf"bake web {web}: released \(\d+s\), approved by @bob")

    # web-prod rolls by itself (on_release: auto); its approval still waits for an approver: alice.
    rollout = re.compile(r"rollout web-prod (r-[a-z0-9]+) onto ami-[0-9a-f]+: waiting")
    wait_text(train, rollout)
    rid = rollout.search(train.first.inner_text()).group(1)
    act_as(page, "alice")
    card = page.locator("#feed .msg", has_text=rid).locator("button[data-action-id=rollout_approve]")
    card.first.click(timeout=WAIT_MS)
    wait_text(train, rf"rollout web-prod {rid} onto ami-[0-9a-f]+: succeeded \(\d+s\), approved by @alice")
    wait_text(train_message(page, train_id=train_id), r"\(finished\)")
    text = train.first.inner_text()
    assert text.count("message") == 3 and train.locator("button").count() == 0, text  # links, no buttons

    # A hop's link shows its message on this page (no new tab, no slack.com).
    train.locator("a", has_text="message").first.click()
    page.locator(".msg.shown", has_text=re.compile(rf"Bake {base} of")).wait_for(timeout=WAIT_MS)
    assert page.url.endswith("#msg-" + bake_message(page, base).first.get_attribute("data-ts"))

    # /bake status t-… is the same view, privately.
    private = page.locator(".msg.ephemeral").count()
    slash(page, f"/bake status {train_id}")
    page.locator(".msg.ephemeral").nth(private).wait_for(timeout=WAIT_MS)
    said = page.locator(".msg.ephemeral").nth(private).inner_text()
    for line in [f"Release train {train_id} (finished)", f"cause: {cause}", f"bake base {base}: released",
                 f"bake web {web}: released", f"rollout web-prod {rid}"]:
        assert line in said, (line, said)
