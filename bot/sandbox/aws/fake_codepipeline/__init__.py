"""A local CodePipeline: an in-memory pipeline model served over CodePipeline's AWS JSON 1.1 protocol.

records: what it holds; model: the state as Python sets and reads it; api: what each call answers; server: serving.
"""

from bot.sandbox.aws.fake_codepipeline.model import StageSpec
from bot.sandbox.aws.fake_codepipeline.records import (
    APPROVAL_LIFETIME,
    ApprovalDecision,
    CodePipelineFault,
    Event,
    ExecutionStarted,
    StopRequest,
)
from bot.sandbox.aws.fake_codepipeline.server import FakeCodePipeline

__all__ = [
    "APPROVAL_LIFETIME",
    "ApprovalDecision",
    "CodePipelineFault",
    "Event",
    "ExecutionStarted",
    "FakeCodePipeline",
    "StageSpec",
    "StopRequest",
]
