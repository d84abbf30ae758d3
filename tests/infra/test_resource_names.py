"""Names built from NamePrefix stay within AWS's limits, so CloudFormation refuses a long prefix up front.

Each name a template sets (a bucket, a role, ...) is expanded at its longest: every ${Parameter} at the
longest value its MaxLength, AllowedPattern or AllowedValues admits, ${AWS::AccountId} at 12 digits and
${AWS::Region} at the longest region botocore knows. That must fit the service's limit, for every template.
"""

from __future__ import annotations

import functools
import re
from typing import Any

import botocore.session
import pytest

try:  # Python 3.11+
    from re import _parser as regex_parser  # type: ignore[attr-defined]
except ImportError:  # pragma: no cover
    import sre_parse as regex_parser  # type: ignore[no-redef]

# (resource type, name property) -> the longest name AWS accepts.
NAME_LIMITS = {
    ("AWS::S3::Bucket", "BucketName"): 63,
    ("AWS::IAM::Role", "RoleName"): 64,
    ("AWS::IAM::InstanceProfile", "InstanceProfileName"): 128,
    ("AWS::IAM::ManagedPolicy", "ManagedPolicyName"): 128,
    ("AWS::Events::Rule", "Name"): 64,
    ("AWS::SQS::Queue", "QueueName"): 80,
    ("AWS::CodeCommit::Repository", "RepositoryName"): 100,
    ("AWS::CodePipeline::Pipeline", "Name"): 100,
}
ACCOUNT_ID_LENGTH = 12


@functools.cache
def longest_region() -> int:
    endpoints = botocore.session.get_session().get_data("endpoints")
    return max(len(region) for partition in endpoints["partitions"] for region in partition["regions"])


def longest_value(parameter: dict[str, Any]) -> int:
    """The longest value CloudFormation accepts for a String parameter (it must be bounded somehow)."""
    bounds = []
    if "MaxLength" in parameter:
        bounds.append(int(parameter["MaxLength"]))
    if "AllowedPattern" in parameter:
        bounds.append(regex_parser.parse(parameter["AllowedPattern"]).getwidth()[1])
    if "AllowedValues" in parameter:
        bounds.append(max(len(str(v)) for v in parameter["AllowedValues"]))
    assert bounds and min(bounds) < 1000, f"unbounded parameter: {parameter}"
    return min(bounds)


def longest_name(template: dict[str, Any], name: Any, overrides: dict[str, int] | None = None) -> int:
    """The length of a (Fn::Sub or plain) name with every ${...} at its longest."""
    if isinstance(name, str):
        return len(name)
    assert isinstance(name, dict) and list(name) == ["Fn::Sub"] and isinstance(name["Fn::Sub"], str), name
    text = name["Fn::Sub"]
    references = re.findall(r"\$\{([\w:]+)\}", text)
    parameters = template.get("Parameters", {})
    lengths = {"AWS::AccountId": ACCOUNT_ID_LENGTH, "AWS::Region": longest_region()}
    lengths |= {key: longest_value(parameters[key]) for key in set(references) & set(parameters)}
    lengths |= overrides or {}
    unknown = [r for r in references if r not in lengths]
    assert not unknown, f"{text}: cannot bound {unknown}"
    return len(re.sub(r"\$\{[\w:]+\}", "", text)) + sum(lengths[r] for r in references)


def limited_names(templates: dict[str, dict[str, Any]]) -> list[tuple[str, str, str, Any, int]]:
    """(template, resource, property, name, limit) of every name with a length limit that a template sets."""
    found = []
    for stem, template in templates.items():
        for resource_name, resource in template.get("Resources", {}).items():
            for (kind, prop), limit in NAME_LIMITS.items():
                if resource["Type"] == kind and prop in resource.get("Properties", {}):
                    found.append((stem, resource_name, prop, resource["Properties"][prop], limit))
    return found


def test_every_template_bounds_name_prefix_the_same_way(templates):
    """One bound in every template: the first stack deploy.sh runs refuses a prefix the others would."""
    definitions = {
        stem: t["Parameters"]["NamePrefix"] for stem, t in templates.items() if "NamePrefix" in t.get("Parameters", {})
    }
    assert len(definitions) == len(templates)
    shapes = {(d.get("MaxLength"), d.get("AllowedPattern")) for d in definitions.values()}
    assert len(shapes) == 1, shapes
    [(max_length, pattern)] = shapes
    # MaxLength and the pattern say the same, so either refusal reads right.
    assert max_length is not None and regex_parser.parse(pattern).getwidth()[1] == int(max_length)
    assert re.fullmatch(pattern, definitions["network"]["Default"])


def test_buckets_and_roles_are_among_the_checked_names(templates):
    kinds = {prop for _, _, prop, _, _ in limited_names(templates)}
    assert {"BucketName", "RoleName"} <= kinds


def test_every_name_fits_its_limit_with_the_longest_prefix(templates):
    too_long = [
        (stem, resource, longest_name(templates[stem], name), limit)
        for stem, resource, _, name, limit in limited_names(templates)
        if longest_name(templates[stem], name) > limit
    ]
    assert too_long == []


def test_the_prefix_bound_is_the_tightest_any_template_needs(templates):
    """The bound is computed, not guessed: one more character would overflow some name."""
    max_length = int(templates["network"]["Parameters"]["NamePrefix"]["MaxLength"])
    overflows = [
        (stem, resource)
        for stem, resource, _, name, limit in limited_names(templates)
        if longest_name(templates[stem], name, {"NamePrefix": max_length + 1}) > limit
    ]
    assert overflows, f"NamePrefix could be longer than {max_length}"


@pytest.mark.parametrize(
    ("pattern", "width"), [("^[a-z][a-z0-9-]{1,13}$", 14), ("^[a-z0-9][a-z0-9-]{0,39}$", 40), ("^a+$", None)]
)
def test_the_pattern_width_is_read_the_way_cloudformation_matches(pattern, width):
    longest = regex_parser.parse(pattern).getwidth()[1]
    assert longest == width if width is not None else longest > 1000
