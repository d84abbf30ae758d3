"""The configuration loader at scale (hypothesis): any text loads or is a ConfigError; a valid file round-trips."""

from __future__ import annotations

import copy
import os
import string
from typing import Any

import yaml
from hypothesis import example, given
from hypothesis import strategies as st

from bot.adapters.repos import repo_spec_problem
from bot.config import (
    AccessConfig,
    Config,
    ImageConfig,
    NotificationsConfig,
    StateConfig,
    TargetConfig,
    parse_config,
)
from bot.config.model import RECORD_ID_PREFIX_RE, ROLES, SUBCOMMANDS
from bot.domain.errors import ConfigError

CWD = "/srv/bakery"  # where the bot "starts": relative paths resolve against it
LOWER, UPPER, DIGITS = string.ascii_lowercase, string.ascii_uppercase, string.digits


def word(alphabet: str, min_size: int = 1, max_size: int = 12) -> st.SearchStrategy[str]:
    return st.text(alphabet, min_size=min_size, max_size=max_size)


def joined(*parts: st.SearchStrategy[str], sep: str = "") -> st.SearchStrategy[str]:
    return st.tuples(*parts).map(sep.join)


# What CONTRACT §4 calls valid, written out independently of the validator's own patterns.
channels = joined(st.sampled_from("CG"), word(UPPER + DIGITS, 2, 10))
principals = st.just("*") | joined(st.sampled_from("UWS"), word(UPPER + DIGITS, 2, 10))
names = joined(word(LOWER + DIGITS, 1, 1), word(LOWER + DIGITS + "-", 0, 20)).filter(
    lambda n: n not in SUBCOMMANDS and not RECORD_ID_PREFIX_RE.match(n)
)
accounts = word(DIGITS, 12, 12)
regions = joined(word(LOWER, 2, 2), word(LOWER, 1, 9), st.integers(1, 15).map(str), sep="-")
pipelines = word(string.ascii_letters + DIGITS + ".@-_", 1, 30)
branches = st.lists(joined(word(LOWER + DIGITS + "_", 1, 1), word(LOWER + DIGITS + "_-", 0, 9)), min_size=1, max_size=2)
branches = branches.map("/".join)
variable_keys = joined(word(LOWER + "_", 1, 1), word(LOWER + DIGITS + "_", 0, 20))
variable_values = word(string.ascii_letters + DIGITS + "._-:/+", 1, 30) | st.integers(0, 10**6)
queue_urls = st.builds(
    lambda host, port, account, name: f"https://{host}{port}/{account}/{name}",
    word(LOWER + DIGITS + ".-", 1, 20),
    st.sampled_from(["", ":443", ":4566"]),
    accounts,
    word(string.ascii_letters + DIGITS + "_-", 1, 30),
)
topic_arns = st.builds(
    lambda region, account, name: f"arn:aws:sns:{region}:{account}:{name}",
    regions,
    accounts,
    word(string.ascii_letters + DIGITS + "_-", 1, 30),
)
launch_templates = joined(st.just("lt-"), word("0123456789abcdef", 8, 17)) | word(
    string.ascii_letters + DIGITS + "()./_-", 3, 30
)
groups = joined(word(string.ascii_letters, 1, 1), word(string.ascii_letters + DIGITS + " _-", 0, 30))
tables = word(string.ascii_letters + DIGITS + "_.-", 3, 30)
relative_paths = st.lists(joined(word(LOWER + DIGITS + "_", 1, 1), word(LOWER + DIGITS + "._-", 0, 10)), max_size=3)
relative_paths = relative_paths.filter(bool).map("/".join)


def absolute(written: str) -> str:
    return os.path.normpath(os.path.join(CWD, written))


@st.composite
def repositories(draw: st.DrawFn) -> tuple[str, str]:
    """(as written in the file, as the loader must give it back)."""
    name = draw(word(LOWER + DIGITS + "_-", 1, 20))
    written = draw(
        st.sampled_from(
            [
                f"codecommit://{name}",
                f"https://git.example.com/images/{name}.git",
                f"git@git.example.com:images/{name}.git",
                f"file:///srv/git/{name}.git",
            ]
        )
        | relative_paths
        | relative_paths.map("/".__add__)
    )
    return written, (written if ":" in written else absolute(written))


@st.composite
def configurations(draw: st.DrawFn) -> tuple[dict[str, Any], Config]:
    """A valid configuration document, and the Config it must load as."""
    channel = draw(channels)
    doc: dict[str, Any] = {"slack": {"channel": channel}}
    access = {role: draw(st.lists(principals, max_size=3)) for role in ROLES}
    doc["access"] = {role: found for role, found in access.items() if found}
    state = StateConfig(path=absolute(StateConfig.path))
    if draw(st.booleans()):
        backend, table = draw(st.sampled_from(["sqlite", "dynamodb"])), draw(tables)
        path = draw(st.just(":memory:") | relative_paths | relative_paths.map("/".__add__))
        doc["state"] = {"backend": backend, "path": path, "table": table}
        state = StateConfig(backend=backend, path=path if path == ":memory:" else absolute(path), table=table)
    queue, topics = draw(st.none() | queue_urls), draw(st.lists(topic_arns, max_size=2))
    doc["notifications"] = {"queue_url": queue, "sns_topic_arns": topics}

    image_names = draw(st.lists(names, min_size=1, max_size=4, unique=True))
    count = len(image_names)
    image_pipelines = draw(st.lists(pipelines, min_size=count, max_size=count, unique=True))
    doc["images"], images = {}, {}
    drawn = [(draw(repositories()), draw(st.none() | branches)) for _ in image_names]
    shared = {
        (r, b or "main")
        for (_, r), b in drawn
        if sum((r2, b2 or "main") == (r, b or "main") for (_, r2), b2 in drawn) > 1
    }
    for i, (name, pipeline) in enumerate(zip(image_names, image_pipelines, strict=True)):
        (written, repository), branch = drawn[i]
        region, image_channel = draw(st.none() | regions), draw(st.none() | channels)
        # Images sharing a repository and branch keep to directories of their own (§4): never the root.
        own = st.sampled_from([(f"images/{name}", f"images/{name}"), (f"./images//{name}/", f"images/{name}")])
        path_written, path = draw(own if (repository, branch or "main") in shared else st.just((None, "")) | own)
        parent = draw(st.none() | st.sampled_from(image_names[:i])) if i else None  # an earlier one: no cycles
        variables = draw(st.dictionaries(variable_keys, variable_values, max_size=3))
        body = {"repository": written, "pipeline": pipeline, "branch": branch, "region": region, "path": path_written}
        body |= {"channel": image_channel, "parent": parent, "variables": variables}
        doc["images"][name] = {k: v for k, v in body.items() if v is not None}
        images[name] = ImageConfig(
            name=name,
            repository=repository,
            branch=branch or "main",
            path=path,
            pipeline=pipeline,
            channel=image_channel or channel,
            region=region,
            parent=parent,
            variables={k: str(v) for k, v in variables.items()},
        )

    doc["targets"], targets = {}, {}
    for name in draw(st.lists(names, max_size=3, unique=True)):
        target = TargetConfig(
            name=name,
            image=draw(st.sampled_from(image_names)),
            auto_scaling_group=draw(groups),
            launch_template=draw(launch_templates),
            approval=draw(st.booleans()),
            min_healthy_percentage=draw(st.integers(0, 100)),
            instance_warmup=draw(st.integers(0, 3600)),
            region=draw(st.none() | regions),
        )
        doc["targets"][name] = {k: v for k, v in vars(target).items() if k != "name" and v is not None}
        targets[name] = target
    expected = Config(
        channel=channel,
        access=AccessConfig(**{role: tuple(found) for role, found in access.items()}),
        state=state,
        notifications=NotificationsConfig(queue_url=queue, sns_topic_arns=tuple(topics)),
        images=images,
        targets=targets,
        source="bakery.yaml",
    )
    return doc, expected


def dump(doc: Any) -> str:
    return yaml.safe_dump(doc, sort_keys=False, allow_unicode=True)


@given(configurations())
def test_a_valid_configuration_written_to_yaml_loads_as_the_same_configuration(case):
    doc, expected = case
    loaded = parse_config(dump(doc), source="bakery.yaml", cwd=CWD)
    assert loaded == expected
    well_formed(loaded)


# --- arbitrary input ----------------------------------------------------------------------------

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=12),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=6,
)
# Digits and letters of other scripts that look like ASCII ones to a person, and to `\d` or `\w`.
LOOKALIKES = str.maketrans({"0": "٠", "1": "١", "3": "٣", "a": "а", "e": "е", "C": "С"})


def variants(value: Any) -> st.SearchStrategy[Any]:
    """Values a hand-edited file might hold instead of a valid one."""
    near = [json_values]
    if isinstance(value, str):
        near += [st.sampled_from([f"{value}\n", f" {value}", f"{value} ", value.translate(LOOKALIKES), ""])]
        near += [st.sampled_from([f"-{value}", f"{value}.lock", f"{value}/.x", f"{value}/", f"ext::{value}"])]
    return st.one_of(near)


def places(doc: Any, path: tuple = ()) -> list[tuple]:
    """The key path of every mapping key and every value in a document."""
    found = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        found.append((*path, key))
        found += places(value, (*path, key))
    return found


@st.composite
def near_misses(draw: st.DrawFn) -> dict[str, Any]:
    """A valid document with one key or value changed the way a hand edit changes it."""
    doc = copy.deepcopy(draw(configurations())[0])
    *parents, last = draw(st.sampled_from(places(doc)))
    container = doc
    for key in parents:
        container = container[key]
    if isinstance(container, dict) and draw(st.booleans()):  # the key itself, or the key dropped
        value = container.pop(last)
        renamed = draw(st.none() | variants(last).filter(lambda k: isinstance(k, str | int | bool | None)))
        if renamed is not None:
            container[renamed] = value
    else:
        container[last] = draw(variants(container[last]))
    return doc


def well_formed(config: Config) -> None:
    """What every loaded Config promises: its names and ids are whole ASCII words, and its paths absolute."""
    words = [config.channel, *config.access.bakers, *config.access.approvers, *config.access.deployers]
    words += [config.state.table, config.notifications.queue_url or "-", *config.notifications.sns_topic_arns]
    for image in config.images.values():
        words += [image.name, image.branch, image.pipeline, image.channel, image.region or "-"]
        words += [*image.variables, *image.variables.values()]
    for target in config.targets.values():
        words += [target.name, target.image, target.launch_template, target.region or "-"]
    assert [w for w in words if not (w.isascii() and w.isprintable() and w and w == w.strip())] == []
    assert all(os.path.isabs(i.repository) or ":" in i.repository for i in config.images.values())
    # What `bakery check` passes, the first /bake can open: the loader and open_repo agree on the rules.
    assert {i.name: repo_spec_problem(i.repository, i.branch) for i in config.images.values()} == dict.fromkeys(
        config.images
    )
    assert os.path.isabs(config.state.path) or config.state.path == ":memory:"


def load_or_refuse(text: str) -> None:
    try:
        config = parse_config(text, cwd=CWD)
    except ConfigError as refusal:
        assert refusal.problems and all(isinstance(p, str) and p for p in refusal.problems)
        return
    well_formed(config)


MINIMAL = {"slack": {"channel": "C0BAKERY"}, "images": {"base": {"repository": "r", "pipeline": "p"}}}


@given(near_misses() | json_values)
@example({**MINIMAL, "slack": {"channel": "C0BAKERY\n"}})
@example({**MINIMAL, "images": {"base": {"repository": "r", "pipeline": "p", "region": "eu-west-٣"}}})
def test_a_hand_edited_configuration_loads_well_formed_or_is_refused_with_its_problems(doc):
    load_or_refuse(dump(doc))


branch_texts = st.text(string.ascii_letters + DIGITS + "._/-@{}:~^ ", max_size=20) | st.sampled_from(
    ["-x", "x.lock", "a/.b", "a//b", "a..b", "@{u}", "x/", "main"]
)
repository_texts = st.text(max_size=30) | st.sampled_from(
    ["-x", "ext::sh -c x", "fd::3", "ftp://h/x", " /srv/x", "codecommit://.", "codecommit://..", "/srv/x.git"]
)


@given(repository_texts, branch_texts)
def test_a_repository_and_branch_the_configuration_accepts_are_ones_the_bot_can_open(repository, branch):
    doc = {**MINIMAL, "images": {"base": {"repository": repository, "branch": branch, "pipeline": "p"}}}
    try:
        image = parse_config(dump(doc), cwd=CWD).images["base"]
    except ConfigError:
        return
    assert repo_spec_problem(image.repository, image.branch) is None


# Text the YAML parser itself has to make sense of: fragments that open, alias, tag and key things oddly.
FRAGMENTS = ["slack:", "  channel: C0BAKERY", "images:", "  base: {repository: r, pipeline: p}", "? [a, b]", ": x",
             "- ", "&a [1]", "*a", "!!binary aGk=", "!!python/object:os.system", "{", "[", "'", '"', "\t", "---",
             "%YAML 1.1", "<<: *a", "? {x: 1}", ": "]  # fmt: skip


@given(st.text(max_size=200) | st.lists(st.sampled_from(FRAGMENTS) | st.text(max_size=8), max_size=12).map("\n".join))
@example("? [a]\n: b\n")
def test_any_text_loads_or_is_refused_with_its_problems(text):
    load_or_refuse(text)
