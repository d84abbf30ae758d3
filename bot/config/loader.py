"""Reading a configuration file: strict YAML in, a validated `Config` out, or every problem with its key path."""

from __future__ import annotations

import os
from collections.abc import Hashable
from dataclasses import replace
from pathlib import Path
from typing import Any

import yaml

from bot.config.model import Config, ImageConfig
from bot.config.validator import Validator
from bot.domain.errors import ConfigError
from bot.domain.repositories import is_local_path


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a configuration file; raise ConfigError listing every problem."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError([f"{p}: no such file (pass --config or set BAKERY_CONFIG)"]) from None
    except OSError as exc:
        raise ConfigError([f"{p}: cannot be read ({exc.strerror})"]) from None
    return parse_config(text, source=str(p))


def parse_config(text: str, *, source: str = "<string>", cwd: str | os.PathLike[str] | None = None) -> Config:
    """Validate a configuration's text; raise ConfigError listing every problem.

    Relative paths (the state file, repositories given as local paths) are made absolute against `cwd`
    (default: the current directory) here and only here, so nothing downstream depends on where it runs.
    """
    try:
        raw = yaml.load(text, Loader=_StrictLoader)  # noqa: S506 - a SafeLoader subclass
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" (line {mark.line + 1}, column {mark.column + 1})" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{source}: not valid YAML{where}: {problem}"]) from None
    v = Validator()
    config = v.config(raw, source)
    if v.problems or config is None:
        raise ConfigError(v.problems)
    return _with_absolute_paths(config, Path.cwd() if cwd is None else Path(cwd))


def _absolute(path: str, cwd: Path) -> str:
    return os.path.normpath(cwd / os.path.expanduser(path))


def _with_absolute_paths(config: Config, cwd: Path) -> Config:
    # Against where the bot starts, once: git runs some commands inside its clones, where a relative path
    # would name something else, and no later cwd change may move the state file.
    state = config.state
    if state.path != ":memory:" and not state.path.startswith("file:"):  # SQLite's in-memory and URI names
        state = replace(state, path=_absolute(state.path, cwd))
    images: dict[str, ImageConfig] = {
        name: replace(image, repository=_absolute(image.repository, cwd)) if is_local_path(image.repository) else image
        for name, image in config.images.items()
    }
    return replace(config, state=state, images=images)


class _StrictLoader(yaml.SafeLoader):
    """SafeLoader that refuses duplicate keys, which plain YAML silently overwrites."""


def _construct_mapping(loader: _StrictLoader, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
    seen: set[Any] = set()
    for key_node, _ in node.value:
        key = loader.construct_object(key_node, deep=deep)
        if not isinstance(key, Hashable):  # `? [a, b]`: YAML allows it, a mapping cannot hold it
            raise yaml.constructor.ConstructorError(
                None, None, f"a key cannot be a {type(key).__name__}", key_node.start_mark
            )
        if key in seen:
            raise yaml.constructor.ConstructorError(None, None, f"duplicate key {key!r}", key_node.start_mark)
        seen.add(key)
    return loader.construct_mapping(node, deep=deep)


_StrictLoader.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, _construct_mapping)
