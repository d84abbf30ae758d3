"""Everything the sandbox finds when it starts (CONTRACT §9), in the accounts its configuration places it in.

The member account's role (which the bot assumes), the fleet and the upstream AMI (seed.py), each image's
repository in its account's CodeCommit, and the released bakes the train starts from (upstream.py). Returns
what the local pipeline runs: one pipeline per image, in its account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bot.config import Config
from bot.sandbox import config as sandbox_config
from bot.sandbox.aws import seed, upstream
from bot.sandbox.aws.accounts import seed_member_role
from bot.sandbox.aws.fake_codecommit import FakeCodeCommit
from bot.sandbox.pipeline.runner import PipelineSpec


def seed_sandbox(
    session: Any,
    config: Config,
    *,
    codecommit: FakeCodeCommit,
    project_root: Path,
    state_path: Path,
    region: str,
    bakery_account: str,
    external_id: str,
) -> list[PipelineSpec]:
    roles = {i.account_role for i in config.images.values() if i.account_role}
    for role in sorted(roles):
        account, name = role.split(":")[4], role.split("/")[-1]
        seed_member_role(session, account, name, bakery_account=bakery_account, external_id=external_id)
    seeded = seed.seed_fleet(session, config, region, bakery_account=bakery_account)
    commits, specs = {}, []
    for image in config.images.values():
        repositories = codecommit.in_account(image.account or bakery_account)
        name = sandbox_config.repository_name(image.name, image.repository)
        files = seed.image_files(project_root, image.name, set(config.images))
        commits[image.name] = seed.seed_repository(repositories, name, image.branch, files, image=image.name)
        specs.append(
            PipelineSpec(
                image.name,
                image.pipeline,
                repositories.bare_path(name),
                image.branch,
                image.region or region,
                image.parent,
                image.path,
                account=image.account,
            )
        )
    upstream.seed_train(session, config, state_path, seeded, commits, region)
    return specs
