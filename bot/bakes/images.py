"""The image record: an image's last bakes (for `/bake status <image>`) and its latest AMIs (the parent pin)."""

from __future__ import annotations

import logging
from typing import Any

from bot.bakes.record import Bake
from bot.domain.errors import StateConflict
from bot.domain.ports import StateStore
from bot.domain.records import upsert
from bot.domain.times import parse_time

log = logging.getLogger(__name__)

IMAGE = "image"  # state kind: image name -> {"recent": [...], "latest_request", "latest_at", "amis"}


def image_summary(store: StateStore, image: str) -> dict[str, Any]:
    rec = store.get(IMAGE, image)
    return dict(rec.doc) if rec else {}


def note_recent(store: StateStore, image: str, request_id: str) -> None:
    """Put a bake first in its image's list of recent bakes (five are kept)."""

    def add(doc: dict[str, Any] | None) -> dict[str, Any]:
        doc = dict(doc or {})
        doc["recent"] = ([request_id] + [r for r in doc.get("recent", []) if r != request_id])[:5]
        return doc

    try:
        upsert(store, IMAGE, image, add)
    except StateConflict:
        # Only `/bake status <image>` reads this list, and only once the bake has settled: the bake
        # itself must not stop for it.
        log.exception("bake.recent_not_noted image=%s request_id=%s", image, request_id)


def record_latest(store: StateStore, bake: Bake) -> None:
    """The image's latest AMIs (the parent pin of the images built on it). Raises StateConflict rather
    than lose them, so the message that brought them is handled again; repeats write nothing."""
    latest = {
        "latest_request": bake.request_id,
        "latest_at": bake.requested_at,
        "amis": [{"region": a.region, "ami_id": a.ami_id, "account_id": a.account_id} for a in bake.amis],
    }

    def put(doc: dict[str, Any] | None) -> dict[str, Any] | None:
        doc = dict(doc or {})
        if doc.get("latest_request") and _newer(doc.get("latest_at", ""), than=bake.requested_at):
            return None  # an older bake finishing late does not replace a newer AMI
        if all(doc.get(k) == v for k, v in latest.items()):
            return None
        return {**doc, **latest}

    upsert(store, IMAGE, bake.image, put)


def restore_latest(store: StateStore, image: str, *, revoked_request: str, good: Bake) -> bool:
    """A revocation (§14) of the image's latest bake: its latest AMIs become `good`'s, the newest good release, so
    children pin and rollouts default to what `/bakery/images/<image>/latest` names again. Only while the revoked
    bake is still the latest (a newer bake recorded since stays); True when it moved."""
    latest = {
        "latest_request": good.request_id,
        "latest_at": good.requested_at,
        "amis": [{"region": a.region, "ami_id": a.ami_id, "account_id": a.account_id} for a in good.amis],
    }

    def put(doc: dict[str, Any] | None) -> dict[str, Any] | None:
        doc = dict(doc or {})
        if doc.get("latest_request") != revoked_request:
            return None
        return {**doc, **latest}

    doc = upsert(store, IMAGE, image, put)
    return bool(doc and doc.get("latest_request") == good.request_id)


def _newer(stored: str, *, than: str) -> bool:
    """The image's recorded latest bake was requested after this one (an unreadable time is not newer)."""
    try:
        return parse_time(stored) > parse_time(than)
    except ValueError:
        return False
