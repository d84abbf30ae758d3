"""What the bot takes from the process environment, and which configuration file it reads.

Only this package and the CLI read `os.environ`; everything else receives a `Config` and an `Environment`.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass

DEFAULT_CONFIG_PATH = "bakery.yaml"
DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_WORKDIR = ".bakery"
# The longest build timeout (build-projects.yaml, Bake: 90 minutes): older build resources are leftovers.
DEFAULT_BUILD_TIMEOUT_MINUTES = "90"
# The bakery's AMI key in each region, by its alias (ami-key.yaml: alias/${NamePrefix}-ami): a copy of a released
# AMI into another region is encrypted with that region's key (§13). An alias, since a key's ARN names one region.
DEFAULT_AMI_KEY_ALIAS = "alias/ami-bakery-ami"
AMI_KEY_ALIAS_RE = re.compile(r"^alias/[A-Za-z0-9/_-]{1,250}$", re.ASCII)
EXTERNAL_ID_RE = re.compile(r"^[\w+=,.@:/-]{2,1224}$", re.ASCII)  # what sts:AssumeRole accepts as ExternalId


@dataclass(frozen=True)
class Environment:
    """What the bot takes from the process environment. Secrets live here, never in the YAML file."""

    slack_bot_token: str = ""
    slack_signing_secret: str = ""
    slack_app_token: str = ""
    slack_api_url: str = DEFAULT_SLACK_API_URL
    aws_region: str = ""
    workdir: str = DEFAULT_WORKDIR
    build_timeout_minutes: str = DEFAULT_BUILD_TIMEOUT_MINUTES  # BAKERY_BUILD_TIMEOUT_MINUTES, for the leak sweep
    external_id: str = ""  # BAKERY_EXTERNAL_ID (§13): sent with every sts:AssumeRole; never logged nor shown
    ami_key_alias: str = DEFAULT_AMI_KEY_ALIAS  # BAKERY_AMI_KEY_ALIAS (§13): the key a copied AMI is encrypted with

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] | None = None) -> Environment:
        env = os.environ if environ is None else environ
        return cls(
            slack_bot_token=env.get("SLACK_BOT_TOKEN", ""),
            slack_signing_secret=env.get("SLACK_SIGNING_SECRET", ""),
            slack_app_token=env.get("SLACK_APP_TOKEN", ""),
            slack_api_url=env.get("SLACK_API_URL") or DEFAULT_SLACK_API_URL,
            aws_region=env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION") or "",
            # Absolute from here on: git runs some commands inside its clones, where a relative path breaks.
            workdir=os.path.abspath(os.path.expanduser(env.get("BAKERY_WORKDIR") or DEFAULT_WORKDIR)),
            build_timeout_minutes=env.get("BAKERY_BUILD_TIMEOUT_MINUTES") or DEFAULT_BUILD_TIMEOUT_MINUTES,
            external_id=env.get("BAKERY_EXTERNAL_ID", ""),
            ami_key_alias=env.get("BAKERY_AMI_KEY_ALIAS") or DEFAULT_AMI_KEY_ALIAS,
        )

    @property
    def build_timeout_seconds(self) -> int:
        """BAKERY_BUILD_TIMEOUT_MINUTES in seconds (problems_for refuses a value that is not 5 to 2160 minutes)."""
        minutes = self.build_timeout_minutes
        return int(minutes) * 60 if minutes.isascii() and minutes.isdigit() else 0

    def __repr__(self) -> str:  # never print secrets, even by accident in a traceback
        return (
            f"Environment(slack_api_url={self.slack_api_url!r}, aws_region={self.aws_region!r}, "
            f"bot_token={'set' if self.slack_bot_token else 'unset'}, "
            f"signing_secret={'set' if self.slack_signing_secret else 'unset'}, "
            f"app_token={'set' if self.slack_app_token else 'unset'}, "
            f"external_id={'set' if self.external_id else 'unset'})"
        )

    def problems_for(self, mode: str) -> list[str]:
        """What the environment lacks for `serve` (HTTP) or `socket` mode."""
        problems = []
        if not self.slack_bot_token:
            problems.append("SLACK_BOT_TOKEN: not set (the bot token, xoxb-…)")
        if mode == "serve" and not self.slack_signing_secret:
            problems.append("SLACK_SIGNING_SECRET: not set (HTTP mode verifies every Slack request with it)")
        if mode == "socket":
            if not self.slack_app_token:
                problems.append("SLACK_APP_TOKEN: not set (Socket Mode needs an xapp- token)")
            elif not self.slack_app_token.startswith("xapp-"):
                problems.append("SLACK_APP_TOKEN: must be an app-level token starting with xapp-")
        if not (self.build_timeout_minutes.isascii() and self.build_timeout_minutes.isdigit()
                and 5 <= int(self.build_timeout_minutes) <= 2160):
            problems.append(
                f"BAKERY_BUILD_TIMEOUT_MINUTES: {self.build_timeout_minutes!r} is not a whole number of minutes from 5"
                " to 2160 (the longest CodeBuild timeout of the bakery's builds)"
            )
        if self.external_id and not EXTERNAL_ID_RE.fullmatch(self.external_id):
            # Its value is a shared secret of sorts: the problem says what is wrong, never what it is.
            problems.append(
                "BAKERY_EXTERNAL_ID: must be 2 to 1224 characters of letters, digits and + = , . @ : / - (STS's rule)"
            )
        if not AMI_KEY_ALIAS_RE.fullmatch(self.ami_key_alias):
            problems.append(
                f"BAKERY_AMI_KEY_ALIAS: {self.ami_key_alias[:80]!r} is not a KMS alias like alias/ami-bakery-ami (an "
                "alias, not a key id or ARN: copies are encrypted with the key of that alias in each region)"
            )
        if not re.match(r"^https?://", self.slack_api_url):
            problems.append(f"SLACK_API_URL: {self.slack_api_url!r} is not an http(s) URL")
        return problems


def config_path(explicit: str | None, environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return explicit or env.get("BAKERY_CONFIG") or DEFAULT_CONFIG_PATH
