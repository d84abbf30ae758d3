"""Where a person opens a pipeline execution, a commit or a message: AWS and Slack, or the sandbox's own views.

The wiring chooses one `Links` for the whole bot: `CONSOLE` on AWS; in the sandbox, one with the base URL of
its page, which serves `/executions/<pipeline>/<id>` (the execution's stages and logs) and
`/commits/<image>/<commit>` (the commit's content) from the local pipeline and git repositories, and shows a
message at `/#msg-<ts>` of its page.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import quote


def console_host(region: str) -> str:
    """The AWS console's host for a region (other domains in the China and GovCloud partitions)."""
    if region.startswith("cn-"):
        return "console.amazonaws.cn"
    if region.startswith("us-gov-"):
        return "console.amazonaws-us-gov.com"
    return "console.aws.amazon.com"


@dataclass(frozen=True)
class Links:
    """`base_url` unset: console links (commits as the repository adapter gives them); set: the sandbox's views.

    `base_url` is a function, read on each link, because the sandbox's page learns its port only once bound.
    """

    base_url: Callable[[], str] | None = None
    # Slack's workspace URL ("https://acme.slack.com/", auth.test's `url`), read on each link; "" while unknown.
    workspace_url: Callable[[], str] | None = None

    @property
    def local(self) -> bool:
        return self.base_url is not None

    def execution(self, *, pipeline: str, execution_id: str, region: str) -> str:
        """A pipeline execution's page ("" when the region, needed by the console, is unknown)."""
        path = f"{quote(pipeline, safe='')}/{quote(execution_id, safe='')}"
        if self.base_url is not None:
            return f"{self.base_url().rstrip('/')}/executions/{path}"
        if not region:
            return ""
        return (
            f"https://{region}.{console_host(region)}/codesuite/codepipeline/pipelines/"
            f"{path.replace('/', '/executions/', 1)}/timeline?region={region}"
        )

    def commit(self, *, image: str, commit_id: str, default: str) -> str:
        """A commit's page: the sandbox's view of it, else `default` (the repository adapter's own link)."""
        if self.base_url is None:
            return default
        return f"{self.base_url().rstrip('/')}/commits/{quote(image, safe='')}/{quote(commit_id, safe='')}"

    def message(self, *, channel: str, ts: str) -> str:
        """A message's permalink in the form chat.getPermalink answers (<workspace>/archives/<channel>/p<ts>),
        made without a call per link; the sandbox's page anchor instead. "" without a channel or ts."""
        if not channel or not ts:
            return ""
        if self.base_url is not None:
            return f"{self.base_url().rstrip('/')}/#msg-{quote(ts, safe='')}"
        # slack.com/archives/… redirects to the reader's own workspace: the fallback while auth.test is unknown.
        workspace = (self.workspace_url() if self.workspace_url else "") or "https://slack.com/"
        return f"{workspace.rstrip('/')}/archives/{quote(channel, safe='')}/p{ts.replace('.', '')}"


CONSOLE = Links()
