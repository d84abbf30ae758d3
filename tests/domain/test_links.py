"""Where execution and commit links lead: the AWS console by default, the sandbox's views with a base URL."""

from __future__ import annotations

from bot.domain.links import CONSOLE, Links

EXECUTION = "0c6ab1a2-0000-4000-8000-000000000001"


def test_console_links_are_the_aws_consoles_in_the_regions_partition():
    assert CONSOLE.execution(pipeline="ami-bakery-web", execution_id=EXECUTION, region="eu-west-1") == (
        "https://eu-west-1.console.aws.amazon.com/codesuite/codepipeline/pipelines/ami-bakery-web"
        f"/executions/{EXECUTION}/timeline?region=eu-west-1"
    )
    assert CONSOLE.execution(pipeline="p", execution_id=EXECUTION, region="cn-north-1").startswith(
        "https://cn-north-1.console.amazonaws.cn/"
    )
    assert CONSOLE.execution(pipeline="p", execution_id=EXECUTION, region="") == ""  # no region, no console link
    assert CONSOLE.commit(image="web", commit_id="a" * 40, default="https://git.example/c/aaa") == (
        "https://git.example/c/aaa"
    )


def test_a_base_url_makes_every_link_the_sandboxs_own_view():
    base = {"url": "http://127.0.0.1:1"}
    links = Links(base_url=lambda: base["url"])
    base["url"] = "http://127.0.0.1:8080/"  # read on each link: the page learns its port only once bound
    assert links.execution(pipeline="ami-bakery-web", execution_id=EXECUTION, region="") == (
        f"http://127.0.0.1:8080/executions/ami-bakery-web/{EXECUTION}"
    )
    assert links.commit(image="web", commit_id="b" * 40, default="https://console") == (
        f"http://127.0.0.1:8080/commits/web/{'b' * 40}"
    )
    assert links.local and not CONSOLE.local


def test_a_message_link_is_the_permalink_slack_gives_in_the_workspace_auth_test_names():
    links = Links(workspace_url=lambda: "https://acme.slack.com/")

    assert links.message(channel="C0BAKERY", ts="1764583200.000100") == (
        "https://acme.slack.com/archives/C0BAKERY/p1764583200000100"  # chat.getPermalink's form
    )
    assert links.message(channel="C0BAKERY", ts="") == "" and links.message(channel="", ts="1.2") == ""


def test_while_the_workspace_is_unknown_a_message_link_goes_through_slack_com():
    assert Links(workspace_url=lambda: "").message(channel="C1", ts="1.000200") == "https://slack.com/archives/C1/p1000200"
    assert CONSOLE.message(channel="C1", ts="1.000200") == "https://slack.com/archives/C1/p1000200"


def test_in_the_sandbox_a_message_link_shows_the_message_on_its_page():
    links = Links(base_url=lambda: "http://127.0.0.1:8080/")

    assert links.message(channel="C0BAKERY", ts="1764583200.000100") == "http://127.0.0.1:8080/#msg-1764583200.000100"
