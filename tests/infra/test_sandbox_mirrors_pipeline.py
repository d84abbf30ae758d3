"""The sandbox's local pipeline mirrors the real one: same stages, same action names, in the same order."""

from __future__ import annotations

from bot.domain.models import STAGES
from bot.sandbox.pipeline.runner import ACTIONS


def test_the_sandbox_pipeline_names_its_actions_as_the_real_pipeline_does(templates):
    pipeline = templates["image"]["Resources"]["Pipeline"]["Properties"]
    real = {stage["Name"]: [a["Name"] for a in stage["Actions"]] for stage in pipeline["Stages"]}
    assert list(real) == list(STAGES) == list(ACTIONS)
    assert {stage: [action] for stage, action in ACTIONS.items()} == real
