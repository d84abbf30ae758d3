"""The Slack app manifests: one per mode, asking for exactly the scopes the bot's Web API calls need."""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = {"socket": ROOT / "slack" / "manifest-socket.yaml", "http": ROOT / "slack" / "manifest-http.yaml"}
# Every Web API method the bot calls, with the bot scopes Slack requires for it (docs.slack.dev/reference/methods).
# auth.test (Bolt, at start) and views.open need none; "commands" is what delivers /bake at all. users.info shows
# the profile's email only with users:read.email, and the bot reads it (SlackChat.user_email).
SCOPES_OF_METHOD = {
    "chat.postMessage": {"chat:write"},
    "chat.update": {"chat:write"},
    "chat.postEphemeral": {"chat:write"},
    "usergroups.users.list": {"usergroups:read"},
    "users.info": {"users:read", "users:read.email"},
    "views.open": set(),
    "views.update": set(),
    "auth.test": set(),
    # Reading its own channels back, only to find its own message after a crash (CONTRACT §15): a public
    # channel's history needs channels:history, a private one's groups:history.
    "conversations.history": {"channels:history", "groups:history"},
    "conversations.replies": {"channels:history", "groups:history"},
}
CALL_RE = re.compile(r'_call\(\s*"([a-z]+\.[A-Za-z.]+)"')
# The events the bot listens to (handlers/events/), with the scope each needs: people's messages in public and
# private channels, for the hint to `bake base` typed without its slash.
SCOPES_OF_EVENT = {"message.channels": {"channels:history"}, "message.groups": {"groups:history"}}


def _manifest(mode: str) -> dict:
    return yaml.safe_load(MANIFESTS[mode].read_text())


def _methods_the_bot_calls() -> set[str]:
    sources = [*(ROOT / "bot").rglob("*.py"), *(ROOT / "handlers").rglob("*.py")]
    return {m for path in sources if "sandbox" not in path.parts for m in CALL_RE.findall(path.read_text())}


@pytest.mark.parametrize("mode", MANIFESTS)
def test_the_manifest_declares_the_app_with_one_bake_command(mode):
    manifest = _manifest(mode)
    assert manifest["_metadata"]["major_version"] == 1
    assert manifest["display_information"]["name"]
    assert 175 <= len(manifest["display_information"]["long_description"]) <= 4000  # Slack's bounds
    (command,) = manifest["features"]["slash_commands"]
    assert command["command"] == "/bake"
    assert command["usage_hint"] and command["should_escape"] is False
    assert manifest["features"]["bot_user"]["display_name"]
    settings = manifest["settings"]
    assert settings["interactivity"]["is_enabled"] is True
    assert settings["org_deploy_enabled"] is False and settings["token_rotation_enabled"] is False


def test_the_scope_table_covers_every_web_api_method_the_bot_calls():
    called = _methods_the_bot_calls()
    assert called, "the scan finds the bot's Slack calls"
    assert called <= set(SCOPES_OF_METHOD), sorted(called - set(SCOPES_OF_METHOD))


@pytest.mark.parametrize("mode", MANIFESTS)
def test_the_bot_asks_for_exactly_the_scopes_its_calls_need(mode):
    needed = {"commands"}.union(*(SCOPES_OF_METHOD.get(m, set()) for m in _methods_the_bot_calls()))
    needed |= set().union(*SCOPES_OF_EVENT.values())
    assert set(_manifest(mode)["oauth_config"]["scopes"]["bot"]) == needed


@pytest.mark.parametrize("mode", MANIFESTS)
def test_the_manifest_subscribes_to_the_message_events_the_bot_listens_to(mode):
    assert set(_manifest(mode)["settings"]["event_subscriptions"]["bot_events"]) == set(SCOPES_OF_EVENT)
    listeners = "".join(p.read_text() for p in (ROOT / "handlers" / "events").glob("*.py"))
    assert '@app.event("message")' in listeners


def test_socket_mode_needs_no_request_urls():
    manifest = _manifest("socket")
    assert manifest["settings"]["socket_mode_enabled"] is True
    assert "url" not in manifest["features"]["slash_commands"][0]
    assert "request_url" not in manifest["settings"]["interactivity"]
    assert "request_url" not in manifest["settings"]["event_subscriptions"]


def test_http_mode_sends_commands_and_clicks_to_slack_events():
    manifest = _manifest("http")
    assert manifest["settings"]["socket_mode_enabled"] is False
    settings = manifest["settings"]
    urls = [settings["interactivity"]["request_url"], settings["event_subscriptions"]["request_url"]]
    for url in (manifest["features"]["slash_commands"][0]["url"], *urls):
        parts = urlsplit(url)
        assert parts.scheme == "https" and parts.path == "/slack/events"


def test_the_two_manifests_differ_only_in_how_slack_reaches_the_bot():
    socket, http = _manifest("socket"), _manifest("http")
    del http["features"]["slash_commands"][0]["url"], http["settings"]["interactivity"]["request_url"]
    del http["settings"]["event_subscriptions"]["request_url"]
    http["settings"]["socket_mode_enabled"] = True
    assert http == socket
