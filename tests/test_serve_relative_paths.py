"""`bakery serve` the way the README runs it: default work directory, relative paths, started from anywhere."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

from bot.sandbox.slack.api import SlackApiStandIn
from bot.sandbox.slack.requests import SlackRequests
from tests.fixtures.bakery import SIGNING_SECRET, git_log, make_bare_repo
from tests.fixtures.waiting import wait_for
from tests.test_cli import BAKERY, listening_url, user_env

# Every path in it is relative: the repository, and (by leaving them out) the state file and work directory.
RELATIVE_CONFIG = """
slack: {channel: C0BAKERY}
access: {bakers: ["*"]}
images:
  base: {repository: remotes/base.git, pipeline: ami-bakery-base}
"""


def test_a_bake_commits_when_serve_runs_with_the_default_work_directory_and_relative_paths(
    tmp_path: Path, slack_api: SlackApiStandIn, moto: str
):
    ops = tmp_path / "ops"  # where the operator starts the bot; nothing else about the test is there
    (ops / "conf").mkdir(parents=True)
    (ops / "conf" / "bakery.yaml").write_text(RELATIVE_CONFIG)
    bare = make_bare_repo(ops / "remotes", "base")
    env = user_env(  # no BAKERY_WORKDIR: the default, .bakery, relative
        SLACK_BOT_TOKEN=slack_api.token, SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=slack_api.base_url
    )
    log = tmp_path / "serve.log"
    with log.open("w") as stderr:
        proc = subprocess.Popen(
            [str(BAKERY), "serve", "--config", "conf/bakery.yaml", "--port", "0"],
            cwd=ops,
            env=env,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
        )
    try:
        url = listening_url(proc, log)
        slack = SlackRequests(bot_url=url, signing_secret=SIGNING_SECRET, response_base=slack_api.root_url, names={})
        reply = slack.command(user="U0CAROL", channel="C0BAKERY", command="/bake", text="base relative paths")
        assert reply.status == 200, reply.body

        commit = _bake_commit(bare, log)
        assert commit["message"].startswith("bake(base): relative paths")
        assert commit["request"]["requested_by"] == "U0CAROL"
        assert "git symbolic-ref failed" not in log.read_text()
        # The defaults landed where the README says: under the directory the bot was started in.
        assert (ops / ".bakery" / "state.db").is_file()
        assert (ops / ".bakery" / "repos").is_dir()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        proc.stdout.close()


def _bake_commit(bare: Path, log: Path) -> dict[str, Any]:
    """The first commit on the bare repository that carries a bake request, once the bot has pushed it."""

    def landed_or_failed() -> dict[str, Any] | None:
        commit = next((c for c in git_log(bare) if c["request"]), None)
        if commit is None and "bake.commit_failed" in log.read_text():
            raise AssertionError(f"the bake's commit failed; the bot said:\n{log.read_text()}")
        return commit

    return wait_for(landed_or_failed, 20, "the bake commit", explain=log.read_text)
