"""Thread replies in words: every notice kind against its reviewed text, and notices stored as text before."""

from __future__ import annotations

import pytest

from bot.domain.models import Notice, NoticeKind
from bot.slack.notices import notice_text

LOG = "https://console.aws.amazon.com/codesuite/codebuild/projects/web/build/web:1/log"

# (kind, fields, the reviewed text): one row per kind; a new kind without a row fails the completeness test.
GOLDEN = [
    (NoticeKind.ACTION_FAILED, dict(stage="Test", action="BootAndCheck", summary="port 22 open", log_url=LOG),
     f":x: Stage *Test* failed in action *BootAndCheck*.\n> port 22 open\n<{LOG}|Build log>"),
    (NoticeKind.APPROVAL_REJECTED, dict(stage="Approve", action="Release", summary="", log_url=""),
     ":no_entry: Rejected at *Approve* (action *Release*)."),
    (NoticeKind.EXECUTION_ENDED, dict(execution_id="0c6ab1a2-0000-4000-8000-000000000001", state="SUPERSEDED"),
     ":heavy_minus_sign: Execution `0c6ab1a2` ended *SUPERSEDED*: a newer execution took its place before it "
     "finished."),
    (NoticeKind.RESULT_FAILED, dict(status="failed", log_url=LOG),
     f":x: The build reported the bake *failed*.\n<{LOG}|Build log>"),
    (NoticeKind.COMMIT_FAILED, dict(reason="git push failed: <rejected>"),
     ":x: Could not commit the bake request: git push failed: &lt;rejected&gt;"),
    (NoticeKind.ROLE_REFUSED,
     dict(reason="The bakery cannot reach account 210987654321 for image web: not authorized <on> the role "
          "(AccessDenied). Check the role's trust policy and BAKERY_EXTERNAL_ID."),
     ":no_entry: The bakery cannot reach account 210987654321 for image web: not authorized &lt;on&gt; the role "
     "(AccessDenied). Check the role's trust policy and BAKERY_EXTERNAL_ID."),
    (NoticeKind.INTERRUPTED, {},
     ":warning: The bot restarted before this bake's commit was confirmed. If a pipeline run appears it will "
     "still be followed here; otherwise run `/bake` again."),
    (NoticeKind.NO_AMIS, {},
     ":warning: The pipeline succeeded but no AMI tagged with this request was found and the build sent no bake "
     "result."),
    (NoticeKind.ROLLOUT_ENDED,
     dict(rollout_id="r-abcdef", target="web-prod", ami_id="ami-0123456789abcdef0", status="succeeded", version=7,
          detail=""),
     ":white_check_mark: Rollout `r-abcdef` of *web-prod* onto `ami-0123456789abcdef0` succeeded. Launch template "
     "version 7 is now the default.\n`web-prod` is free for the next rollout."),
    (NoticeKind.STOP_FAILED, dict(rollout_id="r-abcdef", rollback=True, error="no refresh <to> roll back"),
     ":warning: Could not roll back rollout `r-abcdef`: no refresh &lt;to&gt; roll back"),
    (NoticeKind.DEFAULT_VERSION_FAILED, dict(version=7, error="AccessDenied"),
     ":warning: The refresh succeeded but version 7 could not be made the launch template's default: AccessDenied"),
    (NoticeKind.DISTRIBUTION_FAILED,
     dict(error="The copy ami-0c0ffee in us-east-1 is failed: <KMS key disabled>", final=True, retry_seconds=0,
          regions="us-east-1", accounts="210987654321"),
     ":x: Could not copy to us-east-1 and share with 210987654321: The copy ami-0c0ffee in us-east-1 is failed: "
     "&lt;KMS key disabled&gt;\nNothing that follows this release (children, rollouts) starts."),
    (NoticeKind.DISTRIBUTION_FAILED,
     dict(error="Could not copy AMI ami-1 from eu-west-1 to us-east-1: Rate exceeded (RequestLimitExceeded)",
          final=False, retry_seconds=120, regions="", accounts="210987654321"),
     ":warning: Could not share with 210987654321 yet; trying again in 2 min: Could not copy AMI ami-1 from "
     "eu-west-1 to us-east-1: Rate exceeded (RequestLimitExceeded)"),
    (NoticeKind.TEXT, dict(text=":x: Stage *Bake* failed in action *Packer*."),
     ":x: Stage *Bake* failed in action *Packer*."),
]  # fmt: skip


@pytest.mark.parametrize("kind, fields, expected", GOLDEN, ids=[row[0].value for row in GOLDEN])
def test_each_notice_reads_as_reviewed(kind, fields, expected):
    assert notice_text(Notice(key="k", kind=kind, fields=fields)) == expected


def test_every_notice_kind_has_reviewed_words():
    assert {row[0] for row in GOLDEN} == set(NoticeKind)


def test_a_notice_stored_as_text_by_an_earlier_version_is_posted_as_it_was_written():
    stored = {"key": "failed:x:Bake/Packer", "text": ":x: Stage *Bake* failed in action *Packer*.", "posted": False}
    notice = Notice.from_doc(stored)
    assert notice_text(notice) == ":x: Stage *Bake* failed in action *Packer*."
    assert Notice.from_doc(notice.to_doc()) == notice


def test_a_rollout_that_ends_badly_quotes_why_and_frees_its_target():
    fields = dict(
        rollout_id="r-abcdef", target="web-prod", ami_id="ami-0123456789abcdef0", status="cancelled", version=7,
        detail="<!channel> cancelled by someone",
    )  # fmt: skip
    text = notice_text(Notice(key="ended:cancelled", kind=NoticeKind.ROLLOUT_ENDED, fields=fields))
    assert text.startswith(":heavy_minus_sign: Rollout `r-abcdef` of *web-prod* onto `ami-0123456789abcdef0` cancelled")
    assert "now the default" not in text and "\n> &lt;!channel&gt; cancelled by someone\n" in text
