"""The sandbox's own pages behind the bot's links: an execution's stages, a commit's content, a stage's log.

On AWS those links open the console; in the sandbox (`bot.domain.links.Links` with the page's base URL)
they open these, served by the page's server:
  /executions/<pipeline>/<execution id>   the stages as the local pipeline ran them, each with its log
  /commits/<image>/<commit>               `git show` of the commit in the image's local repository
  /logs/<execution id>/<stage>            the lines the local stage wrote
"""

from __future__ import annotations

import html
import re
import subprocess
from collections.abc import Mapping
from pathlib import Path

from bot.sandbox.pipeline.journal import ExecutionRecord, Journal
from bot.sandbox.pipeline.stages import git

_LOG = re.compile(r"^/logs/([0-9a-f-]{36})/([A-Za-z]{1,32})$")
_EXECUTION = re.compile(r"^/executions/([A-Za-z0-9._-]{1,100})/([0-9a-f-]{36})$")
_COMMIT = re.compile(r"^/commits/([a-z0-9][a-z0-9-]{0,62})/([0-9a-f]{7,40})$")
MAX_SHOWN = 200_000  # characters of `git show`: a seeded commit carries whole templates
TEXT = "text/plain; charset=utf-8"
HTML = "text/html; charset=utf-8"
_STYLE = (
    "body{font:15px/1.45 -apple-system,'Segoe UI',Roboto,Helvetica,Arial,sans-serif;margin:24px;color:#1d1c1d}"
    "table{border-collapse:collapse}td,th{border-bottom:1px solid #e0e0e0;padding:4px 12px;text-align:left}"
    "pre{background:#f6f6f6;padding:12px;overflow:auto;font:12px/1.4 Menlo,Consolas,monospace}"
    ".note{color:#616061;font-size:13px}"
)


class LocalViews:
    """Answers a GET path with (content type, body), or None when the path is not one of these views."""

    def __init__(self, journal: Journal, repositories: Mapping[str, Path]):
        self._journal, self._repositories = journal, dict(repositories)  # image -> bare repository

    def __call__(self, path: str) -> tuple[int, str, bytes] | None:
        if match := _LOG.match(path):
            text = self._journal.read(match.group(1), match.group(2))
            return (200, TEXT, text.encode()) if text is not None else _missing("no such log")
        if match := _EXECUTION.match(path):
            record = self._journal.execution(match.group(1), match.group(2))
            return (200, HTML, execution_page(record).encode()) if record else _missing("no such execution")
        if match := _COMMIT.match(path):
            page = self.commit_page(match.group(1), match.group(2))
            return (200, HTML, page.encode()) if page else _missing("no such commit")
        return None

    def commit_page(self, image: str, commit: str) -> str | None:
        bare = self._repositories.get(image)
        if bare is None:
            return None
        try:
            shown = git(bare, "show", "--stat", "--patch", "--format=fuller", commit, "--")
        except subprocess.CalledProcessError:
            return None
        cut = len(shown) > MAX_SHOWN
        body = (
            f"<h1>Commit <code>{html.escape(commit[:12])}</code> of {html.escape(image)}</h1>"
            f"<p class=note>From the sandbox's local repository of {html.escape(image)} "
            "(on AWS this link opens the CodeCommit console).</p>"
            f"<pre>{html.escape(shown[:MAX_SHOWN])}</pre>" + ("<p class=note>(cut short)</p>" if cut else "")
        )
        return _document(f"commit {commit[:12]}", body)


def execution_page(record: ExecutionRecord) -> str:
    rows = []
    for stage in record.stages:
        took = f"{(stage.ended - stage.started).total_seconds():.1f}s" if stage.ended else "…"
        log = f"/logs/{record.execution_id}/{stage.name}"
        rows.append(
            f"<tr><td><b>{html.escape(stage.name)}</b></td><td>{html.escape(stage.status)}</td><td>{took}</td>"
            f"<td>{html.escape(stage.summary)}</td><td><a href='{html.escape(log)}'>log</a></td></tr>"
        )
    commit = f"/commits/{record.image}/{record.commit}"
    body = (
        f"<h1>{html.escape(record.pipeline)}: execution <code>{html.escape(record.execution_id[:8])}</code></h1>"
        f"<p>{html.escape(record.status)} · started {record.started:%Y-%m-%d %H:%M:%S} UTC · commit "
        f"<a href='{html.escape(commit)}'><code>{html.escape(record.commit[:8])}</code></a></p>"
        "<table><tr><th>stage</th><th>status</th><th>took</th><th>summary</th><th></th></tr>"
        + "".join(rows)
        + "</table><p class=note>As the sandbox's local pipeline ran it (on AWS this link opens the CodePipeline"
        " console).</p>"
    )
    return _document(f"{record.pipeline} {record.execution_id[:8]}", body)


def _document(title: str, body: str) -> str:
    return (
        f"<!doctype html><html lang=en><head><meta charset=utf-8><title>{html.escape(title)} · ami-bakery sandbox"
        f"</title><style>{_STYLE}</style></head><body>{body}</body></html>"
    )


def _missing(what: str) -> tuple[int, str, bytes]:
    return 404, TEXT, f"{what}\n".encode()
