"""Rebake avoidance end to end (issue 11 item 6): through signed Slack requests and pipeline messages, a
`/bake` whose inputs a released bake already has opens nothing and says which AMI has them; --force bakes
anyway, for bakers only."""

from __future__ import annotations

from tests.fixtures.bakery import OUTSIDER, REQUESTER, git_log
from tests.test_bake_loop import request_id_of

BASE_AMI, WEB_AMI = "ami-0123456789abcdef0", "ami-0fedcba9876543210"


def test_the_same_inputs_bake_once_and_force_bakes_them_again(bakery):
    base = request_id_of(bakery.command(REQUESTER, "base"))
    bakery.run_pipeline("base", bakery.commit_of(base), request_id=base, amis=[("eu-west-1", BASE_AMI)])
    bakery.wait(lambda: bakery.services.bakes.image_summary("base").get("amis"), what="base's released AMI")

    web = request_id_of(bakery.command(REQUESTER, "web first"))
    commit = bakery.commit_of(web)
    request = git_log(bakery.repos["web"])[0]["request"]
    assert request["source_ami"] == BASE_AMI and len(request["inputs"]) == 64
    bakery.run_pipeline("web", commit, request_id=web, amis=[("eu-west-1", WEB_AMI)])
    bakery.wait(lambda: (b := bakery.services.bakes.get(web)) and b.released, what="web released")
    bakery.wait_idle()
    tops = [m for m in bakery.messages() if not m.get("thread_ts")]
    commits = len(git_log(bakery.repos["web"]))

    again = bakery.command(REQUESTER, "web second")
    assert f"`web` was already baked with these inputs: `{WEB_AMI}` on " in again["text"]
    assert f"(`{web}`)" in again["text"] and "--force" in again["text"]
    refused = bakery.command(OUTSIDER, "web --force third")
    assert "not in `access.bakers`" in refused["text"]
    bakery.wait_idle()
    assert len(git_log(bakery.repos["web"])) == commits
    assert [m for m in bakery.messages() if not m.get("thread_ts")] == tops

    forced = request_id_of(bakery.command(REQUESTER, "web --force fourth"))
    bakery.commit_of(forced)
    head = git_log(bakery.repos["web"])[0]
    assert head["request"]["inputs"] == request["inputs"] and head["request"]["reason"] == "fourth"
    assert bakery.services.bakes.get(forced).forced


def test_an_automatic_bake_through_the_running_bot_is_committed_once_as_the_bakerys_own(bakery):
    from bot.domain.causes import Cause, CauseKind
    from bot.domain.models import parse_trailers

    cause = Cause(CauseKind.PARENT, image="base", ami_id=BASE_AMI, request_id="b-parent1")
    opened = bakery.services.bakes.open_automatic("web", source_ami=BASE_AMI, cause=cause)
    assert opened and bakery.services.bakes.open_automatic("web", source_ami=BASE_AMI, cause=cause) is None
    bakery.commit_of(opened)
    bakery.wait(lambda: bakery.bake_message(opened), what="the automatic bake's message")
    bakery.wait_idle()
    [head, *_] = git_log(bakery.repos["web"])
    assert [c for c in git_log(bakery.repos["web"]) if "Bakery-Request:" in c["message"]] == [head]
    assert head["message"].splitlines()[0] == f"bake(web): base released {BASE_AMI} (b-parent1)"
    trailers = parse_trailers(head["message"])
    assert (trailers["Requested-By"], trailers["Bakery-Cause"]) == ("bakery", "parent:b-parent1")
    assert (head["request"]["requested_by"], head["request"]["source_ami"]) == ("bakery", BASE_AMI)
