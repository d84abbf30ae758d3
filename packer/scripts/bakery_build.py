#!/usr/bin/env python3
"""The Bake stage's logic: bake-request.json -> a Packer var file; packer-manifest.json -> the bake result.

Runs in the Packer build image (stdlib only). Request values are data end to end: they are read with json and
written with json into a `-var-file`, never placed on a command line or into a shell, so `$(...)`, `;`, backticks
and newlines reach Packer verbatim. Which keys a request may set is decided here, not by the request.

    bakery_build.py prepare --request bake-request.json --template-dir . --source-ami AMI --out bakery.pkrvars.json
    bakery_build.py report --request bake-request.json --manifest packer-manifest.json --out bake-result.json
        [--package-list s3://BUCKET/packages/IMAGE/EXECUTION/packages.txt]

The CodeBuild environment it reads is listed in packer/pipeline-contract.json.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

BAKE_RESULT_TYPE = "bakery.bake-result"

# The bake's identity and where it runs: written by the build, never taken from the request's variables.
IDENTITY_VARIABLES = (
    "image_name",
    "source_ami",
    "parent_ami",
    "request_id",
    "requested_by",
    "commit_id",
    "pipeline_execution_id",
    "region",
    "inputs",
    "train",
)
# The platform's: PKR_VAR_* environment of the CodeBuild project (network, instance profile, encryption).
PLATFORM_VARIABLES = (
    "ami_regions",
    "vpc_id",
    "subnet_id",
    "associate_public_ip_address",
    "security_group_id",
    "iam_instance_profile",
    "kms_key_id",
    "root_volume_size",
    "bakery_tools",
)

# The bot's own formats (bot/domain/models.py, bot/intake/parse.py): what it would refuse, the build refuses first.
REQUEST_ID_RE = re.compile(r"[bh]-[a-z0-9]{6,12}")
SLACK_USER_RE = re.compile(r"[UW][A-Z0-9]{2,20}")
AMI_RE = re.compile(r"ami-[0-9a-f]{8,17}")
COMMIT_RE = re.compile(r"[0-9a-f]{40}|[0-9a-f]{64}")
INPUTS_RE = re.compile(r"[0-9a-f]{64}")  # the inputs fingerprint, a SHA-256 in hex (CONTRACT §12)
TRAIN_RE = re.compile(r"t-[a-z0-9]{6,12}")  # the train a bake is a hop of (CONTRACT §12)
BAKERY_USER = "bakery"  # requested_by of the bakery's own bakes (CONTRACT §12)
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
REGION_RE = re.compile(r"[a-z]{2}(-[a-z]+)+-[0-9]{1,2}")
NAME_RE = re.compile(r"[A-Za-z0-9.@_-]{1,100}")
# `variable "name" {` at the start of a line, in any *.pkr.hcl of the template directory.
VARIABLE_BLOCK_RE = re.compile(r'^\s*variable\s+"([A-Za-z_][A-Za-z0-9_-]*)"\s*\{', re.MULTILINE)
MAX_VALUE = 1024
# Where the Bake buildspec stored the AMI's package list (pipeline-contract.json's package_list_key).
PACKAGE_LIST_RE = re.compile(
    r"s3://[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]/packages/[A-Za-z0-9.@_-]{1,100}/[0-9a-f-]{36}/packages\.txt"
)


class Refused(Exception):
    """The request or the environment cannot make a correct bake; the message says why, in one line."""


# --- prepare: the Packer var file ----------------------------------------------------------------------


def declared_variables(template_dir: Path) -> set[str]:
    """Names of the `variable` blocks in the template directory's *.pkr.hcl files."""
    names: set[str] = set()
    for path in sorted(template_dir.glob("*.pkr.hcl")):
        names.update(VARIABLE_BLOCK_RE.findall(path.read_text(encoding="utf-8")))
    return names


def request_variables(request: Mapping[str, Any], declared: set[str]) -> dict[str, str]:
    """The request's `variables`, checked: only keys the template declares and the request may set."""
    variables = request.get("variables", {})
    if not isinstance(variables, dict):
        raise Refused("bake-request.json: 'variables' must be an object")
    settable = declared - set(IDENTITY_VARIABLES) - set(PLATFORM_VARIABLES)
    unknown = sorted(k for k in variables if k not in settable)
    if unknown:
        allowed = ", ".join(sorted(settable)) or "none"
        raise Refused(f"bake-request.json sets variables this image does not accept: {', '.join(unknown)} "
                      f"(accepted: {allowed})")
    for key, value in variables.items():
        if not isinstance(value, str) or len(value) > MAX_VALUE:
            raise Refused(f"bake-request.json: variable {key} must be a string of at most {MAX_VALUE} characters")
    return dict(variables)


def bake_identity(request: Mapping[str, Any] | None, commit_id: str, commit_message: str | None) -> tuple[str, str]:
    """(request_id, requested_by) of this bake, as the bot knows it.

    The file names the request only if this commit made it: its `Bakery-Request` trailer says so. A commit
    pushed by hand leaves an older bake-request.json in place; the bot calls such a bake `h-<sha[:10]>`.
    Without the commit message (a source artifact without git metadata) the file is trusted.
    """
    trailers = _trailers(commit_message or "")
    request = request or {}
    request_id = request.get("request_id")
    made_here = commit_message is None or trailers.get("Bakery-Request") == request_id
    if isinstance(request_id, str) and REQUEST_ID_RE.fullmatch(request_id) and made_here:
        return request_id, _slack_user(request.get("requested_by"))
    return f"h-{commit_id[:10].lower()}", _slack_user(trailers.get("Requested-By"))


def _slack_user(value: Any) -> str:
    # Only a Slack user id (or the bakery itself) goes into the bakery:requested-by tag; anything else is left out.
    return value if isinstance(value, str) and (SLACK_USER_RE.fullmatch(value) or value == BAKERY_USER) else ""


def bake_inputs(request: Mapping[str, Any] | None, commit_id: str, commit_message: str | None) -> str:
    """The request's inputs fingerprint (tag bakery:inputs), only when this commit made the request: a file
    left in place by a commit pushed by hand describes another bake's inputs."""
    return _own_field(request, "inputs", INPUTS_RE, commit_id, commit_message)


def bake_train(request: Mapping[str, Any] | None, commit_id: str, commit_message: str | None) -> str:
    """The train the request's bake is a hop of (tag bakery:train, only where there is one), on the same terms:
    a file left in place by a commit pushed by hand names another bake's train."""
    return _own_field(request, "train", TRAIN_RE, commit_id, commit_message)


def _own_field(
    request: Mapping[str, Any] | None, key: str, pattern: re.Pattern[str], commit_id: str, commit_message: str | None
) -> str:
    request = request or {}
    value = request.get(key)
    if not isinstance(value, str) or not pattern.fullmatch(value):
        return ""
    return value if bake_identity(request, commit_id, commit_message)[0] == request.get("request_id") else ""


def packer_var_file(
    request: Mapping[str, Any],
    *,
    declared: set[str],
    source_ami: str,
    env: Mapping[str, str],
    commit_message: str | None,
) -> dict[str, Any]:
    """Everything the build passes to Packer, as one JSON object for `-var-file`."""
    image = _required_env(env, "IMAGE_NAME", NAME_RE)
    if request.get("image") not in (None, image):
        raise Refused(f"bake-request.json is for image {json.dumps(request.get('image'))}, this pipeline bakes {image}")
    if not AMI_RE.fullmatch(source_ami):
        raise Refused(f"source AMI {json.dumps(source_ami)} is not an AMI id (ami-...)")
    missing = sorted(set(IDENTITY_VARIABLES) - declared)
    if missing:
        raise Refused(f"the template does not declare the variables the build sets: {', '.join(missing)}")
    commit_id = source_commit(env)
    request_id, requested_by = bake_identity(request, commit_id, commit_message)
    values: dict[str, Any] = request_variables(request, declared)
    values.update(
        image_name=image,
        source_ami=source_ami,
        parent_ami=source_ami,
        request_id=request_id,
        requested_by=requested_by,
        commit_id=commit_id,
        pipeline_execution_id=env.get("PIPELINE_EXECUTION_ID", ""),
        inputs=bake_inputs(request, commit_id, commit_message),
        train=bake_train(request, commit_id, commit_message),
    )
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        values["region"] = region
    return values


# --- report: the bake result (CONTRACT §8.3) -----------------------------------------------------------


def manifest_amis(manifest: Mapping[str, Any], request_id: str) -> list[dict[str, str]]:
    """[{region, ami_id}] of the manifest's last run; [] when that run is not this request's.

    The manifest post-processor appends every run; `last_run_uuid` names the newest. Its custom_data carries the
    request id, so a manifest left over from another bake never reports that bake's AMIs as ours.
    """
    last = manifest.get("last_run_uuid")
    amis: list[dict[str, str]] = []
    for build in manifest.get("builds", []):
        if not isinstance(build, dict) or not last or build.get("packer_run_uuid") != last:
            continue
        custom = build.get("custom_data") or {}
        if custom.get("request_id") not in (None, request_id):
            return []
        for pair in str(build.get("artifact_id", "")).split(","):
            region, sep, ami_id = pair.strip().partition(":")
            if sep and REGION_RE.fullmatch(region) and AMI_RE.fullmatch(ami_id):
                amis.append({"region": region, "ami_id": ami_id})
    return amis


def bake_result(
    request: Mapping[str, Any] | None,
    manifest: Mapping[str, Any] | None,
    *,
    env: Mapping[str, str],
    commit_message: str | None,
    package_list: str = "",
) -> dict[str, Any]:
    """The message the bot reads when Packer finishes; status failed unless the build succeeded with AMIs.

    `package_list`, the S3 URI of the AMI's package list, is named (optional field `package_list`) only for a
    bake that succeeded, and only in the form the buildspec writes it.
    """
    commit_id = source_commit(env)
    request_id, _ = bake_identity(request, commit_id, commit_message)
    succeeding = env.get("CODEBUILD_BUILD_SUCCEEDING") == "1"
    amis = manifest_amis(manifest, request_id) if succeeding and manifest else []
    account_id = _account_of(env.get("CODEBUILD_BUILD_ARN", ""))
    for ami in amis:
        ami["account_id"] = account_id
    log_url = env.get("CODEBUILD_BUILD_URL", "")
    result = {
        "type": BAKE_RESULT_TYPE,
        "version": 1,
        "image": _required_env(env, "IMAGE_NAME", NAME_RE),
        "request_id": request_id,
        "commit_id": commit_id,
        "pipeline": _pipeline_name(env),
        "execution_id": _required_env(env, "PIPELINE_EXECUTION_ID", UUID_RE),
        "status": "succeeded" if succeeding and amis else "failed",
        "amis": amis,
        "log_url": log_url if log_url.startswith("https://") and not re.search(r"\s", log_url) else "",
    }
    if result["status"] == "succeeded" and PACKAGE_LIST_RE.fullmatch(package_list):
        result["package_list"] = package_list
    return result


def _pipeline_name(env: Mapping[str, str]) -> str:
    # CODEBUILD_INITIATOR is "codepipeline/<pipeline-name>" for a build started by a pipeline.
    name = env.get("PIPELINE_NAME") or env.get("CODEBUILD_INITIATOR", "").removeprefix("codepipeline/")
    if not NAME_RE.fullmatch(name):
        raise Refused("PIPELINE_NAME is not set (the CodeBuild project's environment must name the pipeline)")
    return name


def _account_of(build_arn: str) -> str:
    # arn:aws:codebuild:<region>:<account>:build/<project>:<uuid>
    parts = build_arn.split(":")
    return parts[4] if len(parts) > 5 and re.fullmatch(r"[0-9]{12}", parts[4]) else ""


def source_commit(env: Mapping[str, str]) -> str:
    """The commit this build is of: the pipeline's, else CodeBuild's.

    CodeBuild documents CODEBUILD_RESOLVED_SOURCE_VERSION as possibly unavailable for builds started by
    CodePipeline, so image.yaml passes #{SourceVariables.CommitId} as BAKERY_COMMIT_ID and that comes first.
    """
    for name in ("BAKERY_COMMIT_ID", "CODEBUILD_RESOLVED_SOURCE_VERSION"):
        if env.get(name):
            return _required_env(env, name, COMMIT_RE)
    raise Refused(
        "the build does not know its commit: neither BAKERY_COMMIT_ID (the pipeline action's "
        "#{SourceVariables.CommitId}) nor CODEBUILD_RESOLVED_SOURCE_VERSION is set (see packer/pipeline-contract.json)"
    )


def _required_env(env: Mapping[str, str], name: str, pattern: re.Pattern[str]) -> str:
    value = env.get(name, "")
    if not pattern.fullmatch(value):
        shown = "not set" if not value else f"{json.dumps(value[:80])}, not in the expected format"
        raise Refused(f"{name} is {shown} (see packer/pipeline-contract.json)")
    return value


def _trailers(message: str) -> dict[str, str]:
    # The last paragraph's `Key: value` lines, like bot.models.parse_trailers.
    paragraphs = [p for p in message.strip().split("\n\n") if p.strip()]
    if len(paragraphs) < 2:
        return {}
    trailers = {}
    for line in paragraphs[-1].splitlines():
        key, sep, value = line.partition(":")
        if sep and re.fullmatch(r"[A-Za-z][A-Za-z0-9-]*", key.strip()):
            trailers[key.strip()] = value.strip()
    return trailers


# --- command line ----------------------------------------------------------------------------------------


def _read_json(path: Path, *, strict: bool) -> Any:
    """The file's JSON; None when it is missing. Invalid JSON is refused when strict, else None."""
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (ValueError, UnicodeDecodeError) as exc:
        if strict:
            raise Refused(f"{path} is not valid JSON: {exc}") from None
        return None


def _commit_message(path: str | None) -> str | None:
    return Path(path).read_text(encoding="utf-8") if path and Path(path).is_file() else None


def _write_json(path: Path, doc: Mapping[str, Any]) -> None:
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def main(argv: list[str] | None = None, env: Mapping[str, str] | None = None) -> int:
    env = os.environ if env is None else env
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    prep = sub.add_parser("prepare", help="write the Packer var file from bake-request.json")
    prep.add_argument("--request", type=Path, required=True)
    prep.add_argument("--template-dir", type=Path, default=Path("."))
    prep.add_argument("--source-ami", required=True)
    prep.add_argument("--commit-message", help="file holding this commit's message (optional)")
    prep.add_argument("--out", type=Path, required=True)
    rep = sub.add_parser("report", help="write the bake result from packer-manifest.json")
    rep.add_argument("--request", type=Path, required=True)
    rep.add_argument("--manifest", type=Path, required=True)
    rep.add_argument("--commit-message")
    rep.add_argument("--package-list", default="", help="S3 URI of the AMI's package list (optional)")
    rep.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)
    try:
        if args.command == "prepare":
            # No request file is a repository nobody baked through Slack yet: a hand-pushed bake, defaults only.
            request = _read_json(args.request, strict=True)
            if request is None:
                request = {}
            if not isinstance(request, dict):
                raise Refused(f"{args.request} must hold a JSON object")
            values = packer_var_file(
                request,
                declared=declared_variables(args.template_dir),
                source_ami=args.source_ami,
                env=env,
                commit_message=_commit_message(args.commit_message),
            )
            _write_json(args.out, values)
            print(f"bakery: wrote {args.out} for request {values['request_id']}: {', '.join(sorted(values))}")
        else:
            # The report must come out even when the request file is what broke the build.
            request = _read_json(args.request, strict=False)
            manifest = _read_json(args.manifest, strict=False)
            result = bake_result(
                request if isinstance(request, dict) else None,
                manifest if isinstance(manifest, dict) else None,
                env=env,
                commit_message=_commit_message(args.commit_message),
                package_list=args.package_list,
            )
            _write_json(args.out, result)
            print(f"bakery: bake {result['request_id']} {result['status']}: "
                  f"{', '.join(a['region'] + ':' + a['ami_id'] for a in result['amis']) or 'no AMIs'}")
    except Refused as exc:
        print(f"bakery: refused: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
