#!/usr/bin/env python3
"""Which AMI a bake starts from: the one the bot pinned for this very commit, else the released AMI of the parameter.

Validate and Bake run it the same way (buildspec-validate.yml, buildspec.yml) and give its answer to bakery_build.py:

    source_ami.py --request bake-request.json --parameter NAME --parameter-ami VALUE \
        --commit-message .bakery-commit-message --changed-files .bakery-changed-files

They first ask `source_ami.py --pinned ...` (the same arguments but --parameter-ami): it prints the AMI the bot
pinned for this commit, or an empty line, and only then, when there is none, do they read the parameter. A child
in a member account bakes on the AMI the bot pinned (the parent's release shared with it); the parameter lives in
the parent's account and is never read there for a /bake commit.

NAME is the pipeline's SOURCE_AMI_PARAMETER: `/bakery/images/<parent>/latest` for a child image (image.yaml's
ParentImage), the upstream OS parameter for a root image. VALUE is what SSM answered for it, empty when the
parameter does not exist. The AMI goes to stdout; a refusal to stderr, with exit status 2.

A `source_ami` in bake-request.json is trusted only when the bot made the request for this commit: the commit's
`Bakery-Request` trailer names the file's request_id AND this commit changed the file (its diff against its first
parent lists it). A commit pushed by hand leaves the last /bake's file, and its source_ami, in place; so does a
commit that copies a trailer onto an old request. Then, and whenever git cannot tell (no clone, a shallow clone
without the parent), the parameter decides: a child never bakes on a stale or upstream AMI by accident. A request
whose source_ami is not an AMI id is refused whether trusted or not: the file is malformed.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

# The build image puts both scripts in /opt/bakery; Python puts the running script's directory on sys.path.
from bakery_build import AMI_RE, REQUEST_ID_RE, Refused, _trailers

PARENT_PREFIX = "/bakery/images/"
PARENT_SUFFIX = "/latest"


def parent_of(parameter: str) -> str | None:
    """The parent image a `/bakery/images/<parent>/latest` parameter belongs to; None for any other parameter."""
    if parameter.startswith(PARENT_PREFIX) and parameter.endswith(PARENT_SUFFIX):
        name = parameter[len(PARENT_PREFIX) : -len(PARENT_SUFFIX)]
        return name if name and "/" not in name else None
    return None


def made_for_this_commit(
    request: Mapping[str, Any], request_path: str, commit_message: str | None, changed_files: list[str] | None
) -> bool:
    """Whether the bot wrote this request in this commit (see the module's docstring)."""
    request_id = request.get("request_id")
    if not (isinstance(request_id, str) and REQUEST_ID_RE.fullmatch(request_id)):
        return False
    if commit_message is None or _trailers(commit_message).get("Bakery-Request") != request_id:
        return False
    return changed_files is not None and request_path in changed_files


def pinned_for_this_commit(request: Mapping[str, Any], *, trusted: bool) -> str:
    """The AMI the bot pinned for this commit, else "" (the parameter decides); Refused for a malformed one."""
    pinned = request.get("source_ami")
    if pinned is not None and not (isinstance(pinned, str) and AMI_RE.fullmatch(pinned)):
        raise Refused(f"bake-request.json: source_ami {json.dumps(pinned)[:80]} is not an AMI id (ami-...)")
    return pinned if pinned and trusted else ""


def choose(
    request: Mapping[str, Any],
    *,
    parameter: str,
    parameter_ami: str,
    trusted: bool,
) -> tuple[str, str]:
    """(AMI, why) for this bake, or Refused with what to do."""
    if pinned_for_this_commit(request, trusted=trusted):
        return request["source_ami"], f"the bot's request {request['request_id']} for this commit pins it"
    pinned = request.get("source_ami")
    ignored = f" (bake-request.json's source_ami {pinned} is not this commit's request: ignored)" if pinned else ""
    if not parameter_ami:
        parent = parent_of(parameter)
        if parent:
            raise Refused(
                f"the parent image {parent} has no released AMI: SSM parameter {parameter} does not exist in this "
                f"region. Bake and release {parent} first (its Publish stage writes the parameter); this image "
                f"is not baked on another base{ignored}"
            )
        raise Refused(f"the source AMI parameter {parameter} does not exist in this region{ignored}")
    if not AMI_RE.fullmatch(parameter_ami):
        raise Refused(f"SSM parameter {parameter} holds {json.dumps(parameter_ami[:80])}, not an AMI id")
    return parameter_ami, f"{parameter}{ignored}"


def _read_request(path: Path) -> dict[str, Any]:
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except (ValueError, UnicodeDecodeError) as exc:
        raise Refused(f"{path} is not valid JSON: {exc}") from None
    if not isinstance(doc, dict):
        raise Refused(f"{path} must hold a JSON object")
    return doc


def _optional_text(path: str | None) -> str | None:
    return Path(path).read_text(encoding="utf-8") if path and Path(path).is_file() else None


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--request", type=Path, required=True)
    parser.add_argument("--parameter", required=True, help="the SSM parameter naming the source AMI")
    parser.add_argument("--parameter-ami", default="", help="its value; empty when it does not exist")
    parser.add_argument("--commit-message", help="file holding this commit's message (optional)")
    parser.add_argument("--changed-files", help="file listing the paths this commit changed (optional)")
    parser.add_argument("--pinned", action="store_true",
                        help="print only the AMI the bot pinned for this commit, or an empty line: read no parameter")
    args = parser.parse_args(argv)
    try:
        request = _read_request(args.request)
        changed = _optional_text(args.changed_files)
        trusted = made_for_this_commit(
            request,
            args.request.as_posix(),
            _optional_text(args.commit_message),
            None if changed is None else changed.splitlines(),
        )
        if args.pinned:
            print(pinned_for_this_commit(request, trusted=trusted))
            return 0
        ami, why = choose(request, parameter=args.parameter, parameter_ami=args.parameter_ami, trusted=trusted)
    except Refused as exc:
        print(f"bakery: refused: {exc}", file=sys.stderr)
        return 2
    print(f"bakery: source AMI {ami}: {why}", file=sys.stderr)
    print(ami)
    return 0


if __name__ == "__main__":
    sys.exit(main())
