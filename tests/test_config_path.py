"""`images.<name>.path` (CONTRACT §4, §7): a directory inside the image's repository, normalised; each mistake
named by its key path, and images sharing a repository and branch kept to directories of their own."""

from __future__ import annotations

import pytest

from bot.config import parse_config
from bot.domain.errors import ConfigError


def config_text(base: str = "", web: str = "", *, web_repository: str = "codecommit://images") -> str:
    return (
        "slack: {channel: C0BAKERY}\n"
        "images:\n"
        f"  base: {{repository: codecommit://images, pipeline: base{', ' + base if base else ''}}}\n"
        f"  web: {{repository: {web_repository}, pipeline: web, parent: base{', ' + web if web else ''}}}\n"
    )


def problems(text: str) -> list[str]:
    with pytest.raises(ConfigError) as info:
        parse_config(text)
    return info.value.problems


def test_path_is_read_normalised_and_left_out_it_is_the_root():
    config = parse_config(config_text("path: ./packer//images/base/", "path: packer/images/web"))
    assert config.images["base"].path == "packer/images/base"
    assert config.images["web"].path == "packer/images/web"
    alone = parse_config(config_text(web_repository="codecommit://web"))
    assert alone.images["base"].path == alone.images["web"].path == ""
    assert parse_config(config_text("path: .", web_repository="codecommit://web")).images["base"].path == ""


@pytest.mark.parametrize(
    ("written", "says"),
    [
        ("/packer/images/base", "is absolute"),
        ("packer/../../etc", "leaves the repository"),
        ("..", "leaves the repository"),
        ("'packer\\\\images'", "no backslashes"),
        (".git/hooks", "inside .git"),
        ("packer/.GIT", "inside .git"),
        ("' packer'", "surrounding blanks"),
        ("3", "not a number"),
        ("[packer]", "not a list"),
        ("''", "not an empty string"),
    ],
)
def test_a_path_outside_the_repository_or_not_a_path_is_an_error_at_its_key(written: str, says: str):
    found = problems(config_text(f"path: {written}", "path: packer/images/web"))
    assert len(found) == 1 and found[0].startswith("images.base.path: ") and says in found[0], found


def test_a_misspelt_path_key_is_offered_the_right_one():
    assert problems(config_text("pth: packer/images/base", web_repository="codecommit://web")) == [
        "images.base.pth: unknown key 'pth' — did you mean 'path'?"
    ]


@pytest.mark.parametrize(
    ("base", "web", "says"),
    [
        ("", "", "repository root overlaps image 'base' (repository root)"),
        ("path: packer/images/web", "path: packer/images/web/", "overlaps image 'base' (path 'packer/images/web')"),
        ("path: packer", "path: packer/images/web", "path 'packer/images/web' overlaps image 'base' (path 'packer')"),
        ("path: packer/images/web", "path: packer", "path 'packer' overlaps"),
        ("", "path: packer/images/web", "overlaps image 'base' (repository root)"),
    ],
)
def test_images_sharing_a_repository_and_branch_may_not_share_a_directory(base: str, web: str, says: str):
    found = problems(config_text(base, web))
    assert len(found) == 1 and found[0].startswith("images.web.path: ") and says in found[0], found


def test_directories_side_by_side_or_another_branch_or_repository_are_no_overlap():
    parse_config(config_text("path: packer/images/web", "path: packer/images/web-app"))
    parse_config(config_text("", "branch: release"))
    parse_config(config_text("", web_repository="codecommit://web"))
    local = (
        "slack: {channel: C0BAKERY}\n"
        "images:\n  a: {repository: ./repo/, pipeline: a}\n  b: {repository: repo, pipeline: b}\n"
    )
    assert problems(local) == [
        "images.b.path: repository root overlaps image 'a' (repository root) in the same repository and branch; "
        "images that share a repository need directories of their own"
    ]
