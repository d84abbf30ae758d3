"""The bakery's domain errors: adapters translate library errors into these."""

from __future__ import annotations


class BakeryError(Exception):
    """Base of every error the bakery raises on purpose; its message is fit to show a user."""


class RoleRefused(BakeryError):
    """The bakery could not act in an image's account: STS refused (or could not be asked for) its role (§13).

    `account` and `image` say where; the message is the sentence the bake's thread and `/bake` show.
    """

    def __init__(self, message: str, *, account: str = "", image: str = ""):
        super().__init__(message)
        self.account = account
        self.image = image


class ConfigError(BakeryError):
    """The configuration file or environment is invalid; `problems` lists each with its key path."""

    def __init__(self, problems: list[str]):
        self.problems = list(problems)
        super().__init__("; ".join(self.problems) or "invalid configuration")


class BadRequest(BakeryError):
    """A user's input (slash command text, button payload) is not acceptable."""


class NotAllowed(BakeryError):
    """The caller may not do this."""


class NotFound(BakeryError):
    """The thing asked for does not exist."""


class BadMessage(BakeryError):
    """A notification (SNS/SQS body) is malformed or not one of the shapes we read."""


class ForgedMessage(BakeryError):
    """A notification whose signature, certificate or topic does not check out."""


class RepoError(BakeryError):
    """A source repository operation failed (git or CodeCommit)."""


class RepoConflict(RepoError):
    """The branch moved under us; the caller may retry on the new tip."""


class PipelineError(BakeryError):
    """A CodePipeline call failed."""


class ChatError(BakeryError):
    """A Slack Web API call failed; `code` is Slack's error code when Slack gave one."""

    def __init__(self, message: str, code: str | None = None):
        super().__init__(message)
        self.code = code


class StateConflict(BakeryError):
    """A conditional write lost a race; reload and retry."""


class ShuttingDown(BakeryError):
    """The bot is stopping and takes no new background work."""


class FleetError(BakeryError):
    """An Auto Scaling or launch template call failed."""


class RefreshInProgress(FleetError):
    """The group already has an active instance refresh; only one may run at a time."""


class NoActiveRefresh(FleetError):
    """The group has no active instance refresh to cancel or roll back."""


class IrreversibleRefresh(FleetError):
    """The refresh cannot be rolled back (no pinned launch template version to return to)."""


class ApprovalTokenInvalid(PipelineError):
    """The token is not the open approval's: it was answered, replaced by a newer approval, or expired."""


class ApprovalAlreadyDecided(PipelineError):
    """Someone already approved or rejected this approval."""


class ExecutionNotFound(PipelineError):
    """The pipeline has no execution with this id."""


class ExecutionNotStoppable(PipelineError):
    """The execution has already finished, so there is nothing to stop."""


class StopAlreadyRequested(PipelineError):
    """This execution is already stopping the way the caller asked."""


class ImageError(BakeryError):
    """An EC2 image call failed."""


class ParameterError(BakeryError):
    """An SSM parameter could not be read."""


class ImageGone(ImageError):
    """The AMI does not exist (EC2's InvalidAMIID.*): asking again cannot help."""
