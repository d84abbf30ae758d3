"""The modals the bot opened in the Slack stand-in: views.open, views.push and views.update, refused as Slack would."""

from __future__ import annotations

from typing import Any

from bot.sandbox.slack.limits import view_problems
from bot.sandbox.slack.refusals import SlackRefusal, arg


class SlackViews:
    """Every view opened, by id in opening order; pushed views keep their stack's root and previous view."""

    def __init__(self, *, team_id: str, bot_id: str):
        self.team_id = team_id
        self.bot_id = bot_id
        self._view_seq = 0
        self.views: dict[str, dict[str, Any]] = {}

    def views_open(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open(args, push=False)

    def views_push(self, args: dict[str, Any]) -> dict[str, Any]:
        return self._open(args, push=True)

    def views_update(self, args: dict[str, Any]) -> dict[str, Any]:
        view_id = arg(args, "view_id")
        if not view_id and args.get("external_id"):
            wanted = arg(args, "external_id")
            view_id = next((k for k, r in self.views.items() if r["view"].get("external_id") == wanted), "")
        record = self.views.get(view_id)
        if record is None:
            raise SlackRefusal("not_found")
        if args.get("hash") and args["hash"] != record["hash"]:
            raise SlackRefusal("hash_conflict")
        problems = view_problems(args.get("view"))
        if problems:
            raise SlackRefusal("invalid_arguments", problems)
        self._view_seq += 1
        record["view"], record["hash"] = args["view"], f"{self._view_seq}.h"
        return {"view": self._view_json(view_id)}

    def _open(self, args: dict[str, Any], *, push: bool) -> dict[str, Any]:
        if not arg(args, "trigger_id"):
            raise SlackRefusal("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        view = args.get("view")
        problems = view_problems(view)
        if problems:
            raise SlackRefusal("invalid_arguments", problems)
        self._view_seq += 1
        view_id = f"V{self._view_seq:08d}"
        previous = next(reversed(self.views), None) if push else None
        root = self.views[previous]["root_view_id"] if previous else view_id
        self.views[view_id] = {
            "view": view,
            "trigger_id": arg(args, "trigger_id"),
            "hash": f"{self._view_seq}.h",
            "root_view_id": root,
            "previous_view_id": previous,
        }
        return {"view": self._view_json(view_id)}

    def _view_json(self, view_id: str) -> dict[str, Any]:
        record = self.views[view_id]
        view = record["view"]
        return {
            **view,
            "id": view_id,
            "team_id": self.team_id,
            "bot_id": self.bot_id,
            "state": {"values": {}},
            "hash": record["hash"],
            "root_view_id": record["root_view_id"],
            "previous_view_id": record["previous_view_id"],
            "external_id": view.get("external_id", ""),
            "private_metadata": view.get("private_metadata", ""),
            "callback_id": view.get("callback_id", ""),
        }
