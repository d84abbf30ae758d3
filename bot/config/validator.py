"""The configuration's validator: walks the raw YAML and collects every problem with its key path."""

from __future__ import annotations

import re
from typing import Any

from bot.config import account_keys, lifecycle_keys, paths, train_keys
from bot.config.fields import FieldChecks, kind, nearest
from bot.config.model import (
    IMAGE_NAME_RE,
    RECORD_ID_PREFIX_RE,
    ROLES,
    SUBCOMMANDS,
    TARGET_NAME_RE,
    VARIABLE_KEY_RE,
    VARIABLE_VALUE_RE,
    AccessConfig,
    Config,
    ImageConfig,
    LifecycleConfig,
    NotificationsConfig,
    StateConfig,
    TargetConfig,
)
from bot.domain.repositories import branch_problem, repository_problem

# Checked with fullmatch (`$` alone lets a trailing newline through) and ASCII-only (`\d`, `\w` and `\s` would
# also take other scripts' digits and letters, which no AWS or Slack id contains).
CHANNEL_RE = re.compile(r"^[CG][A-Z0-9]{2,}$")
PRINCIPAL_RE = re.compile(r"^([UW][A-Z0-9]{2,}|S[A-Z0-9]{2,}|\*)$")
PIPELINE_RE = re.compile(r"^[A-Za-z0-9.@\-_]{1,100}$")
REGION_RE = re.compile(r"^[a-z]{2}(-[a-z]+)+-\d{1,2}$", re.ASCII)
TOPIC_ARN_RE = re.compile(r"^arn:aws[a-z-]*:sns:[a-z0-9-]+:\d{12}:[A-Za-z0-9_\-]{1,256}$", re.ASCII)
QUEUE_URL_RE = re.compile(r"^https?://[A-Za-z0-9.\-]+(:\d+)?/\d{12}/[A-Za-z0-9_\-]{1,80}(\.fifo)?$", re.ASCII)
LAUNCH_TEMPLATE_RE = re.compile(r"^(lt-[0-9a-f]{8,17}|[A-Za-z0-9()./_\-]{3,128})$")
ASG_RE = re.compile(r"^[^\s:][^:]{0,254}$")  # Auto Scaling allows any Unicode in a group name


class Validator(FieldChecks):
    """Walks the raw YAML, collecting every problem with its key path instead of stopping at the first."""

    def config(self, raw: Any, source: str) -> Config | None:
        if raw is None:
            self.err(source, "the file is empty")
            return None
        top = self.mapping(
            raw,
            "",
            {"slack", "access", "state", "notifications", "images", "targets", "fleet", "lifecycle"},
            {"slack", "images"},
        )
        if not isinstance(raw, dict):
            return None

        slack = self.mapping(top.get("slack"), "slack", {"channel"}, {"channel"})
        channel = self.string(slack.get("channel"), "slack.channel", CHANNEL_RE, "a Slack channel id (C… or G…)")

        access_raw = self.mapping(top.get("access"), "access", set(ROLES))
        principal_what = 'a Slack user id (U…/W…), user-group id (S…) or "*"'
        access = AccessConfig(
            **{
                role: self.string_list(access_raw.get(role), f"access.{role}", PRINCIPAL_RE, principal_what)
                for role in ROLES
            }
        )

        state_raw = self.mapping(top.get("state"), "state", {"backend", "path", "table"})
        backend = self.string(state_raw.get("backend"), "state.backend") or "sqlite"
        if backend not in ("sqlite", "dynamodb"):
            self.err("state.backend", f"{backend!r} is not one of sqlite, dynamodb")
        state = StateConfig(
            backend=backend,
            path=self.string(state_raw.get("path"), "state.path") or StateConfig.path,
            table=self.string(
                state_raw.get("table"), "state.table", re.compile(r"^[A-Za-z0-9_.\-]{3,255}$"), "a DynamoDB table name"
            )
            or StateConfig.table,
        )

        notif_raw = self.mapping(
            top.get("notifications"), "notifications", {"queue_url", "sns_topic_arns", "upstream_topic_arns"}
        )
        notifications = NotificationsConfig(
            queue_url=self.string(
                notif_raw.get("queue_url"), "notifications.queue_url", QUEUE_URL_RE, "an SQS queue URL"
            ),
            sns_topic_arns=self.string_list(
                notif_raw.get("sns_topic_arns"), "notifications.sns_topic_arns", TOPIC_ARN_RE, "an SNS topic ARN"
            ),
            upstream_topic_arns=self.string_list(
                notif_raw.get("upstream_topic_arns"),
                "notifications.upstream_topic_arns",
                TOPIC_ARN_RE,
                "an SNS topic ARN",
            ),
        )

        fleet = lifecycle_keys.fleet(self, top.get("fleet"))
        lifecycle = lifecycle_keys.lifecycle(self, top.get("lifecycle"), "lifecycle", LifecycleConfig())
        images = self.images(top.get("images"), channel or "", lifecycle)
        targets = self.targets(top.get("targets"), images)
        if self.problems or channel is None:
            return None
        return Config(
            channel=channel,
            access=access,
            state=state,
            notifications=notifications,
            images=images,
            targets=targets,
            source=source,
            fleet=fleet,
            lifecycle=lifecycle,
        )

    def images(self, raw: Any, default_channel: str, lifecycle: LifecycleConfig) -> dict[str, ImageConfig]:
        if raw is None or raw == {}:
            self.err("images", "at least one image is required")
            return {}
        images_raw = self.mapping(raw, "images", set(raw) if isinstance(raw, dict) else set())
        images: dict[str, ImageConfig] = {}
        pipelines: dict[tuple[str, str], str] = {}  # (pipeline, account) -> image
        for name, body in images_raw.items():
            path = f"images.{name}"
            if not isinstance(name, str) or not IMAGE_NAME_RE.fullmatch(name):
                self.err(path, "an image name is lower-case letters, digits and '-', at most 63 characters")
                continue
            if self.clashes_with_a_command(name, path):
                continue
            b = self.mapping(
                body,
                path,
                {"repository", "branch", "pipeline", "region", "channel", "parent", "variables"}
                | {"path", "upstream", "on_parent_release", "account_role", "share_with", "lifecycle"},
                {"repository", "pipeline"},
            )
            train_keys.lineage_problems(self, path, body=b)
            # The adapters' own rules, so that what `bakery check` passes the first /bake can open.
            repository = self.checked(b.get("repository"), f"{path}.repository", repository_problem)
            branch = self.checked(b.get("branch"), f"{path}.branch", branch_problem)
            pipeline = self.string(b.get("pipeline"), f"{path}.pipeline", PIPELINE_RE, "a CodePipeline name")
            role = account_keys.account_role(self, b.get("account_role"), f"{path}.account_role")
            # A pipeline name is unique within an account; two accounts may both have `ami-bakery-web` (§13).
            key = (pipeline or "", role.split(":")[4] if role else "")
            if pipeline and key in pipelines:
                where = f" in account {key[1]}" if key[1] else " in the bakery's account"
                used = f"pipeline {pipeline!r} is already used by image {pipelines[key]!r}{where}"
                self.err(f"{path}.pipeline", used)
            elif pipeline:
                pipelines[key] = name
            variables: dict[str, str] = {}
            vars_raw = b.get("variables")
            if vars_raw is not None and not isinstance(vars_raw, dict):
                self.err(f"{path}.variables", f"must be a mapping, not {kind(vars_raw)}")
            for key, value in (vars_raw or {}).items() if isinstance(vars_raw, dict) else ():
                vpath = f"{path}.variables.{key}"
                if not isinstance(key, str) or not VARIABLE_KEY_RE.fullmatch(key):
                    self.err(vpath, "a variable name is lower-case letters, digits and '_'")
                    continue
                if isinstance(value, bool) or not isinstance(value, str | int | float):
                    self.err(vpath, f"must be a string or a number, not {kind(value)}")
                    continue
                text = str(value)
                if not VARIABLE_VALUE_RE.fullmatch(text):
                    self.err(vpath, f"{text!r} has characters outside letters, digits and . _ - : / +")
                    continue
                variables[key] = text
            images[name] = ImageConfig(
                name=name,
                repository=repository or "",
                branch=branch or "main",
                path=paths.path(self, b.get("path"), f"{path}.path"),
                pipeline=pipeline or "",
                region=self.string(b.get("region"), f"{path}.region", REGION_RE, "an AWS region"),
                channel=self.string(b.get("channel"), f"{path}.channel", CHANNEL_RE, "a Slack channel id (C… or G…)")
                or default_channel,
                parent=self.string(b.get("parent"), f"{path}.parent"),
                variables=variables,
                upstream=train_keys.upstream(self, b.get("upstream"), f"{path}.upstream"),
                on_parent_release=train_keys.choice(
                    self, b.get("on_parent_release"), f"{path}.on_parent_release", train_keys.ON_PARENT_RELEASE
                ),
                account_role=role,
                share_with=account_keys.share_with(self, b.get("share_with"), f"{path}.share_with"),
                lifecycle=lifecycle_keys.lifecycle(self, b.get("lifecycle"), f"{path}.lifecycle", lifecycle),
            )
        for name, image in images.items():
            if image.parent and image.parent not in images:
                self.err(f"images.{name}.parent", names_no_image(image.parent, images))
        self.check_cycles(images)
        paths.overlap_problems(self, images)
        return images

    def clashes_with_a_command(self, name: str, path: str) -> bool:
        if name in SUBCOMMANDS:
            self.err(path, f"{name!r} is a /bake subcommand; choose another name")
            return True
        if RECORD_ID_PREFIX_RE.match(name):
            self.err(path, f"{name!r} looks like a record id (b-…, r-…, t-…, h-…); choose another name")
            return True
        return False

    def check_cycles(self, images: dict[str, ImageConfig]) -> None:
        reported: set[str] = set()
        for start in images:
            chain = [start]
            current = images[start].parent
            while current and current in images:
                if current in chain:
                    cycle = chain[chain.index(current) :] + [current]
                    if not reported & set(cycle):
                        self.err(f"images.{current}.parent", f"parent cycle: {' -> '.join(cycle)}")
                        reported.update(cycle)
                    break
                chain.append(current)
                current = images[current].parent

    def targets(self, raw: Any, images: dict[str, ImageConfig]) -> dict[str, TargetConfig]:
        if raw is None:
            return {}
        targets_raw = self.mapping(raw, "targets", set(raw) if isinstance(raw, dict) else set())
        targets: dict[str, TargetConfig] = {}
        for name, body in targets_raw.items():
            path = f"targets.{name}"
            if not isinstance(name, str) or not TARGET_NAME_RE.fullmatch(name):
                self.err(path, "a target name is lower-case letters, digits and '-', at most 63 characters")
                continue
            if self.clashes_with_a_command(name, path):
                continue
            b = self.mapping(
                body,
                path,
                {
                    "image",
                    "auto_scaling_group",
                    "launch_template",
                    "approval",
                    "min_healthy_percentage",
                    "instance_warmup",
                    "region",
                    "on_release",
                },
                {"image", "auto_scaling_group", "launch_template"},
            )
            image = self.string(b.get("image"), f"{path}.image")
            if image and image not in images:
                self.err(f"{path}.image", names_no_image(image, images))
            targets[name] = TargetConfig(
                name=name,
                image=image or "",
                auto_scaling_group=self.string(
                    b.get("auto_scaling_group"), f"{path}.auto_scaling_group", ASG_RE, "an Auto Scaling group name"
                )
                or "",
                launch_template=self.string(
                    b.get("launch_template"),
                    f"{path}.launch_template",
                    LAUNCH_TEMPLATE_RE,
                    "a launch template name or lt- id",
                )
                or "",
                approval=self.boolean(b.get("approval"), f"{path}.approval", False),
                min_healthy_percentage=self.integer(
                    b.get("min_healthy_percentage"), f"{path}.min_healthy_percentage", 0, 100, 90
                ),
                instance_warmup=self.integer(b.get("instance_warmup"), f"{path}.instance_warmup", 0, 3600, 300),
                region=self.string(b.get("region"), f"{path}.region", REGION_RE, "an AWS region"),
                on_release=train_keys.choice(self, b.get("on_release"), f"{path}.on_release", train_keys.ON_RELEASE),
            )
        return targets


def names_no_image(name: str, images: dict[str, ImageConfig]) -> str:
    """`names no image ('bse') — did you mean 'base'? The images are base, web`."""
    known = ", ".join(sorted(images)) or "none valid yet"
    near = nearest(name, images)
    if near:
        return f"names no image ({name!r}) — did you mean {near!r}? The images are {known}"
    return f"names no image ({name!r}); the images are {known}"
