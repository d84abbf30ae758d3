"""Sessions in an image's own account (CONTRACT §13): credentials from sts:AssumeRole on its `account_role`.

Each (role, image, region) gets one boto3 Session whose credentials are botocore's DeferredRefreshableCredentials,
as botocore's own AssumeRoleProvider makes them: nothing is called until the first request signs, then one
AssumeRole; botocore refreshes them before they expire (advisory 15, mandatory 10 minutes before), under its
lock, so concurrent bakes that share the session share one call. The credentials are never logged nor shown.
A refusal is remembered: for a back-off (30 s, doubling to 5 minutes, forgotten on success) the same role is
refused again at once, without asking STS, so a queue redelivering that image's messages does not hammer it.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import boto3
import botocore.session
from botocore.credentials import DeferredRefreshableCredentials, _local_now
from botocore.exceptions import BotoCoreError, ClientError, ParamValidationError

from bot.domain.errors import RoleRefused

# What STS accepts as RoleSessionName.
_SESSION_NAME_CHARS = re.compile(r"[^\w+=,.@-]", re.ASCII)
SESSION_NAME_PREFIX = "ami-bakery-"
CREDENTIALS_METHOD = "ami-bakery-assume-role"
# After a refusal the same role is not asked again for this long, doubling on each refusal up to the most, and
# forgotten on success: redeliveries of a message for that image meet the same refusal without calling STS.
BACKOFF_FIRST_SECONDS = 30.0
BACKOFF_MOST_SECONDS = 300.0


class AssumeRoleRefused(RoleRefused):
    """STS refused the image's role (AccessDenied, a wrong external id, no such role) or could not be reached."""


def refusal_text(account: str, image: str, detail: str) -> str:
    """What a bake's thread, `/bake` and `bakery check --aws` say when the role is refused: one line."""
    return (
        f"The bakery cannot reach account {account} for image {image}: {detail}."
        " Check the role's trust policy and BAKERY_EXTERNAL_ID."
    )


@dataclass(frozen=True)
class _Backoff:
    """After a refusal, STS is not asked again for the same (role, image, region) until `until`."""

    until: datetime
    seconds: float
    refusal: AssumeRoleRefused


def session_name(image: str) -> str:
    """`ami-bakery-<image>`, within STS's [\\w+=,.@-]{2,64}.

    CONTRACT §13 says the session name is the request id; issue 12 says the credentials are per image and shared
    by concurrent bakes, so one session cannot carry one request id: it names the bakery and the image. The
    request id reaches the member account through the commit, the pipeline's variables and the tags.
    """
    return (SESSION_NAME_PREFIX + _SESSION_NAME_CHARS.sub("-", image))[:64]


class AssumedSessions:
    """One assumed-role boto3 Session per (role, image, region), made on first use and shared by every thread."""

    def __init__(
        self,
        sts_for: Callable[[str | None], Any],
        *,
        external_id: str = "",
        time_fetcher: Callable[[], datetime] = _local_now,
        duration_seconds: int = 3600,
    ):
        self._sts_for = sts_for  # the bot's own STS client in a region (its own credentials)
        self._external_id = external_id
        self._time_fetcher = time_fetcher
        self._duration = duration_seconds
        self._sessions: dict[tuple[str, str, str | None], boto3.Session] = {}
        self._lock = threading.Lock()
        self._backoff: dict[tuple[str, str, str | None], _Backoff] = {}

    def session(self, role_arn: str, image: str, region: str | None) -> boto3.Session:
        key = (role_arn, image, region)
        with self._lock:
            if key not in self._sessions:
                credentials = DeferredRefreshableCredentials(
                    refresh_using=self._refresher(role_arn, image, region),
                    method=CREDENTIALS_METHOD,
                    time_fetcher=self._time_fetcher,
                )
                core = botocore.session.Session()
                core._credentials = credentials  # as boto3's docs show for a refreshable session
                self._sessions[key] = boto3.Session(botocore_session=core, region_name=region)
            return self._sessions[key]

    def _refresher(self, role_arn: str, image: str, region: str | None) -> Callable[[], dict[str, str]]:
        params: dict[str, Any] = {
            "RoleArn": role_arn,
            "RoleSessionName": session_name(image),
            "DurationSeconds": self._duration,
        }
        if self._external_id:
            params["ExternalId"] = self._external_id

        key = (role_arn, image, region)
        account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else role_arn

        def refused(detail: str) -> AssumeRoleRefused:
            return AssumeRoleRefused(refusal_text(account, image, detail), account=account, image=image)

        def refresh() -> dict[str, str]:
            with self._lock:
                waiting = self._backoff.get(key)
            if waiting is not None and self._time_fetcher() < waiting.until:
                # Refused a moment ago: STS is not asked again before the back-off ends.
                raise AssumeRoleRefused(str(waiting.refusal), account=account, image=image)
            try:
                answer = self._sts_for(region).assume_role(**params)
            except ClientError as exc:
                error = exc.response.get("Error", {})
                code = error.get("Code", "UnknownError")
                # The cause would carry the request; nothing about credentials is worth showing.
                raise self._refused(key, waiting, refused(f"{error.get('Message') or code} ({code})")) from None
            except ParamValidationError:
                detail = (
                    "STS would refuse the request's parameters (is BAKERY_EXTERNAL_ID 2 to 1224 characters of"
                    " letters, digits and + = , . @ : / - ?)"
                )
                raise self._refused(key, waiting, refused(detail)) from None
            except BotoCoreError as exc:
                raise self._refused(key, waiting, refused(f"STS is unreachable ({exc})")) from None
            with self._lock:
                self._backoff.pop(key, None)
            found = answer["Credentials"]
            expiry = found["Expiration"]
            return {
                "access_key": found["AccessKeyId"],
                "secret_key": found["SecretAccessKey"],
                "token": found["SessionToken"],
                "expiry_time": expiry.isoformat() if isinstance(expiry, datetime) else str(expiry),
            }

        return refresh

    def _refused(
        self, key: tuple[str, str, str | None], before: _Backoff | None, refusal: AssumeRoleRefused
    ) -> AssumeRoleRefused:
        """Remember a refusal: the next back-off is twice the last (at most BACKOFF_MOST_SECONDS)."""
        seconds = min(before.seconds * 2, BACKOFF_MOST_SECONDS) if before else BACKOFF_FIRST_SECONDS
        with self._lock:
            self._backoff[key] = _Backoff(self._time_fetcher() + timedelta(seconds=seconds), seconds, refusal)
        return refusal

    def check(self, role_arn: str, image: str, region: str | None) -> None:
        """Assume the role now (for `bakery check --aws`); AssumeRoleRefused when STS refuses it."""
        self._refresher(role_arn, image, region)()
