"""What each stage of the sandbox pipeline does (CONTRACT §11), against the local AWS, with a log per stage.

Validate runs the real `packer validate -syntax-only` when packer is installed; Bake registers the AMI in
moto with the tags of CONTRACT §10 and publishes the bake result; Test boots an instance of it; Publish
marks it released. The manual approval lives in `pipeline.py`, which owns waiting. Every stage acts in the
image's own account (§13); Bake fails, as Packer would, on a source AMI that account may not launch.
"""

from __future__ import annotations

import io
import json
import logging
import os
import shutil
import subprocess
import tarfile
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, cast

from bot.domain.models import (
    TAG_COMMIT,
    TAG_EXECUTION,
    TAG_IMAGE,
    TAG_INPUTS,
    TAG_PARENT_AMI,
    TAG_RELEASED,
    TAG_REQUEST_ID,
    TAG_REQUESTED_BY,
    TAG_TRAIN,
)
from bot.domain.repositories import request_file_at
from bot.sandbox.aws.accounts import launch_refusal, session_in
from bot.sandbox.aws.events import bake_result
from bot.sandbox.aws.seed import DEFAULT_SOURCE_AMI_PARAMETER, LATEST_PARAMETER, register_ami
from bot.sandbox.pipeline.journal import Journal

log = logging.getLogger(__name__)

PACKER_TIMEOUT = 120
TEMPLATE_SUFFIXES = (".pkr.hcl", ".pkrvars.hcl")


class StageFailed(Exception):
    """The stage's action failed; `summary` is what CodePipeline would show as its execution summary."""

    def __init__(self, summary: str, category: str | None = None):
        super().__init__(summary)
        self.summary, self.category = summary[:500], category


@dataclass
class Run:
    """One pipeline execution as the stages see it."""

    image: str
    pipeline: str
    parent: str | None
    region: str
    repository: Path  # the bare git repository
    execution_id: str
    commit: str
    request: dict[str, Any]  # the commit's bake-request.json, {} for a commit pushed by hand
    path: str = ""  # the image's directory in its repository (§4), where its bake-request.json is
    account: str = ""  # the account the pipeline runs in (§13); "" for the bakery's own
    author: str = ""
    ami_id: str = ""
    source_ami: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def request_id(self) -> str:
        return str(self.request.get("request_id") or f"h-{self.commit[:10]}")

    @property
    def fail_stage(self) -> str:
        return str((self.request.get("variables") or {}).get("sandbox_fail") or "").lower()


def template_dirs(run: Run) -> tuple[str, ...]:
    """Where the image's templates are: its path, else the project's layout (packer/images/<image>)."""
    return (run.path,) if run.path else (f"packer/images/{run.image}", f"packer/{run.image}")


def git(bare: Path, *args: str, data: bool = False) -> Any:
    """Run git on a bare repository, isolated from the machine's git configuration."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("GIT_")}
    env.update(GIT_CONFIG_NOSYSTEM="1", GIT_CONFIG_GLOBAL=os.devnull, LC_ALL="C")
    out = subprocess.run(["git", f"--git-dir={bare}", *args], capture_output=True, check=True, env=env, timeout=60)
    return out.stdout if data else out.stdout.decode().strip()


class Stages:
    """The work of Source, Validate, Bake, Test and Publish; each returns its summary or raises StageFailed."""

    def __init__(
        self,
        session: Any,
        *,
        publish: Callable[[dict[str, Any]], None],
        logs: Journal,
        log_url: Callable[[str, str], str],
        packer: str | None = None,
        account: str = "123456789012",
        members: tuple[str, ...] = (),  # the other accounts the sandbox has (§13)
    ):
        self._session, self._publish, self._logs, self._log_url = session, publish, logs, log_url
        self._packer, self._account, self._accounts = packer, account, (account, *members)

    def _in(self, run: Run) -> Any:
        """Clients acting in the run's account: its pipeline's own role's, as CodeBuild's would be."""
        return session_in(self._session, run.account or self._account, self._account)

    def _log(self, run: Run, stage: str, line: str) -> None:
        self._logs.write(run, stage, f"[{datetime.now(UTC):%H:%M:%S}] {line}")

    def source(self, run: Run) -> str:
        subject = git(run.repository, "log", "-1", "--format=%s", run.commit)
        run.author = git(run.repository, "log", "-1", "--format=%an", run.commit)
        try:
            run.request = json.loads(git(run.repository, "show", f"{run.commit}:{request_file_at(run.path)}"))
        except (subprocess.CalledProcessError, ValueError):
            run.request = {}  # a commit pushed by hand: baked all the same
        self._log(run, "Source", f"commit {run.commit} by {run.author}: {subject}")
        return f"{run.commit[:8]}: {subject}"[:200]

    def validate(self, run: Run) -> str:
        if not self._packer:
            self._log(run, "Validate", "packer is not on PATH; install it to check templates here")
            return "Skipped: packer is not installed on this machine (syntax not checked)"
        with tempfile.TemporaryDirectory(prefix="bakery-validate-") as tmp:
            archive = git(run.repository, "archive", "--format=tar", run.commit, data=True)
            with tarfile.open(fileobj=io.BytesIO(archive)) as tar:
                tar.extractall(tmp, filter="data")
            checked = 0
            for target in self._targets(Path(tmp), run):
                checked += 1
                self._packer_validate(run, target)
        if not checked:
            self._log(run, "Validate", "no Packer templates for this image in the commit")
            return "Skipped: no Packer templates for this image in the commit"
        return f"packer validate -syntax-only passed ({checked} template set{'s' if checked > 1 else ''})"

    def _targets(self, root: Path, run: Run) -> list[Path]:
        """What to validate: the image's HCL directory (shared packer/*.pkr.hcl beside it) and JSON templates."""
        targets: list[Path] = []
        for rel in template_dirs(run):
            folder = root / rel
            if not folder.is_dir():
                continue
            hcl = [p for p in folder.glob("*") if p.name.endswith(TEMPLATE_SUFFIXES)]
            if hcl:
                shared = [p for p in (root / "packer").glob("*") if p.name.endswith(TEMPLATE_SUFFIXES)]
                staged = root / ".validate" / rel.replace("/", "_")
                staged.mkdir(parents=True)
                for p in shared + hcl:
                    # Packer 1.6 rejects the `packer { required_plugins }` block; newer Packer checks it in the build.
                    if "required_plugins" not in p.read_text(encoding="utf-8", errors="replace"):
                        shutil.copy(p, staged / p.name)
                targets.append(staged)
            targets += sorted(p for p in folder.glob("*.json") if '"builders"' in p.read_text(errors="replace"))
        return targets

    def _packer_validate(self, run: Run, target: Path) -> None:
        env = {**os.environ, "CHECKPOINT_DISABLE": "1", "PACKER_CHECKPOINT_DISABLE": "1", "PACKER_NO_COLOR": "1"}
        cmd = [str(self._packer), "validate", "-syntax-only", str(target)]
        self._log(run, "Validate", "$ packer validate -syntax-only " + target.name)
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=PACKER_TIMEOUT)
        except subprocess.TimeoutExpired:
            raise StageFailed(f"packer validate took longer than {PACKER_TIMEOUT}s") from None
        output = (done.stdout + done.stderr).strip()
        for line in output.splitlines():
            self._log(run, "Validate", line)
        if done.returncode != 0:
            first = next((line for line in output.splitlines() if line.strip()), "no output")
            raise StageFailed(f"packer validate failed: {first}")

    def _source_ami(self, run: Run) -> str:
        if run.request.get("source_ami"):
            return str(run.request["source_ami"])
        # As buildspec.yml resolves it: the parent's released AMI, else the upstream default.
        ssm = self._in(run).client("ssm", region_name=run.region)
        name = LATEST_PARAMETER.format(image=run.parent) if run.parent else DEFAULT_SOURCE_AMI_PARAMETER
        try:
            return cast("str", ssm.get_parameter(Name=name)["Parameter"]["Value"])  # boto3 answers are untyped
        except ssm.exceptions.ParameterNotFound:
            raise StageFailed(f"no source AMI: none pinned, and SSM has no {name}") from None

    def bake(self, run: Run, *, fail: bool = False) -> str:
        if fail:
            self._log(run, "Bake", "==> amazon-ebs: sandbox_fail=bake: stopping the build on purpose")
            self._publish_result(run, "failed")
            raise StageFailed("sandbox_fail=bake: Packer failed on purpose")
        self._log(run, "Bake", f"$ packer build -var-file={request_file_at(run.path)} {template_dirs(run)[0]}")
        variables = run.request.get("variables") or {}
        for key, value in sorted(variables.items()):
            self._log(run, "Bake", f"  var {key} = {value}")
        run.source_ami = self._source_ami(run)
        self._log(run, "Bake", f"amazon-ebs: source AMI {run.source_ami} (parent {run.parent or 'none'})")
        refusal = launch_refusal(
            run.source_ami,
            run.region,
            run.account or self._account,
            owners=self._accounts,
            clients=lambda account: session_in(self._session, account, self._account).client(
                "ec2", region_name=run.region
            ),
        )
        if refusal:  # Packer's amazon-ebs asks DescribeImages first: an AMI not shared is one it cannot see
            self._log(run, "Bake", f"==> amazon-ebs: Error querying AMI: {refusal}")
            self._publish_result(run, "failed")
            raise StageFailed(f"Error querying AMI: {refusal}")
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        tags = {
            "Name": f"{run.image}-{stamp}",
            TAG_IMAGE: run.image,
            TAG_REQUEST_ID: run.request_id,
            TAG_COMMIT: run.commit,
            TAG_PARENT_AMI: run.source_ami,
            TAG_REQUESTED_BY: str(run.request.get("requested_by") or run.author),
            TAG_EXECUTION: run.execution_id,
        }
        if run.request.get("inputs"):  # as the Bake buildspec does: the fingerprint from bake-request.json (§12)
            tags[TAG_INPUTS] = str(run.request["inputs"])
        if run.request.get("train"):  # and the train it is a hop of, only where there is one (§10)
            tags[TAG_TRAIN] = str(run.request["train"])
        ec2 = self._in(run).client("ec2", region_name=run.region)
        run.ami_id = register_ami(ec2, f"{run.image}-{stamp}-{run.request_id}", tags)
        self._log(run, "Bake", f"amazon-ebs: tagged {', '.join(f'{k}={v}' for k, v in tags.items() if k != 'Name')}")
        self._log(run, "Bake", f"amazon-ebs: AMI {run.ami_id} created from {run.source_ami} (simulated build)")
        self._publish_result(run, "succeeded")
        return f"AMI {run.ami_id} in {run.region} from {run.source_ami}"

    def _publish_result(self, run: Run, status: str) -> None:
        self._publish(
            bake_result(
                image=run.image,
                request_id=run.request_id,
                commit_id=run.commit,
                pipeline=run.pipeline,
                execution_id=run.execution_id,
                amis=[(run.region, run.ami_id)] if run.ami_id else [],
                status=status,
                account=run.account or self._account,
                log_url=self._log_url(run.execution_id, "Bake"),
            )
        )

    def test(self, run: Run) -> str:
        ec2 = self._in(run).client("ec2", region_name=run.region)
        instance_type = str((run.request.get("variables") or {}).get("instance_type") or "t3.micro")
        instance = ec2.run_instances(ImageId=run.ami_id, MinCount=1, MaxCount=1, InstanceType=instance_type)
        instance_id = instance["Instances"][0]["InstanceId"]
        self._log(run, "Test", f"booted {instance_id} ({instance_type}) from {run.ami_id}")
        self._log(run, "Test", f"{instance_id}: smoke test passed (simulated: moto runs no software)")
        ec2.terminate_instances(InstanceIds=[instance_id])
        self._log(run, "Test", f"terminated {instance_id}")
        return f"Booted {instance_id} from {run.ami_id}; checks passed"

    def publish(self, run: Run) -> str:
        ec2 = self._in(run).client("ec2", region_name=run.region)
        ec2.create_tags(Resources=[run.ami_id], Tags=[{"Key": TAG_RELEASED, "Value": "true"}])
        name = LATEST_PARAMETER.format(image=run.image)
        self._in(run).client("ssm", region_name=run.region).put_parameter(
            Name=name, Value=run.ami_id, Type="String", DataType="aws:ec2:image", Overwrite=True
        )
        self._log(run, "Publish", f"{run.ami_id} tagged {TAG_RELEASED}=true; {name} = {run.ami_id}")
        return f"{run.ami_id} released: {name}"
