"""With SQLite state, one bot process: a second `bakery serve`, and `bakery gc`, refuse while one runs (§15)."""

from __future__ import annotations

from pathlib import Path

from tests.test_cli import bakery, error_lines, served, slack_env  # noqa: F401 - served is a fixture

__all__ = ["served"]


def test_a_second_serve_and_gc_refuse_while_a_bot_holds_the_sqlite_file(served, slack_api, tmp_path: Path):
    proc, _ = served
    state = tmp_path / "state.db"
    env = slack_env(slack_api, tmp_path)

    second = bakery("serve", "--config", "serve.yaml", "--port", "0", cwd=tmp_path, env=env)
    assert second.returncode == 1
    (line,) = error_lines(second.stderr)
    assert str(state) in line and f"pid {proc.pid}" in line and "use state.backend: dynamodb" in line

    gc = bakery("gc", "--config", "serve.yaml", "--dry-run", cwd=tmp_path, env=env)
    assert gc.returncode == 1 and gc.stdout == ""
    (line,) = error_lines(gc.stderr)
    assert line.startswith(f"error: bakery gc cannot run while a bot holds the SQLite state {state} (pid {proc.pid})")
