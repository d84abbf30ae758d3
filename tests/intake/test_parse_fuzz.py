"""The notification parser tried at scale: any input, random or a valid message mutated, ends in records or
BadMessage, never another exception (which would leave an SQS message to be retried and dead-lettered)."""

from __future__ import annotations

import copy
import json
from dataclasses import asdict
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from bot.domain.errors import BadMessage
from bot.intake.fields import Fields
from bot.intake.parse import parse_body
from tests.intake.messages import LEVELS, PROPERTY, records_and_docs, sns

KEYS = [  # the keys the parser looks for, so random trees reach past its first checks
    "Type", "MessageId", "TopicArn", "Message", "Timestamp", "Subject", "source", "detail-type", "detailType",
    "notificationRuleArn", "detail", "id", "time", "region", "account", "pipeline", "execution-id", "state",
    "stage", "action", "type", "category", "execution-result", "external-execution-url", "approval",
    "consoleLink", "pipelineName", "stageName", "actionName", "token", "expires", "version", "status", "amis",
    "image", "request_id", "commit_id", "execution_id", "ami_id", "log_url",
]  # fmt: skip


# --- what anything must end in ------------------------------------------------------------------


def parsed_or_refused(body: str | bytes) -> None:
    """Reading body either succeeds or raises BadMessage; any other exception fails the property.

    What it reads must be fit to store and send: every text in every record is valid UTF-8.
    """
    try:
        parsed = parse_body(body)
    except BadMessage:
        return
    for record in parsed.items:
        json.dumps(asdict(record), ensure_ascii=False).encode("utf-8")


# --- random input ---------------------------------------------------------------------------------

scalars = (
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30) | st.sampled_from(list(LEVELS.values()) + ["aws.codepipeline", "Notification"])
    # Half a surrogate pair, which JSON can carry as an escape, and links that only look like links.
    | st.text(st.characters(whitelist_categories=("Cs",)), min_size=1, max_size=2)
    | st.builds(str.__add__, st.sampled_from(["https://", "http://[", "https://a/", "javascript:"]), st.text())
)  # fmt: skip
json_trees = st.recursive(
    scalars,
    lambda children: st.lists(children, max_size=4)
    | st.dictionaries(st.sampled_from(KEYS) | st.text(max_size=8), children, max_size=6),
    max_leaves=25,
)


@PROPERTY
@given(st.binary(max_size=2048))
def test_random_bytes_are_read_or_refused_as_bad_messages(body):
    parsed_or_refused(body)


@PROPERTY
@given(st.text(max_size=2048))
def test_random_text_is_read_or_refused_as_bad_messages(body):
    parsed_or_refused(body)


@PROPERTY
@given(json_trees)
def test_random_json_trees_are_read_or_refused_as_bad_messages(tree):
    parsed_or_refused(json.dumps(tree))


@PROPERTY
@given(json_trees, st.booleans())
def test_random_json_trees_inside_an_sns_envelope_are_read_or_refused_as_bad_messages(tree, as_text):
    message = json.dumps(tree) if as_text else tree
    parsed_or_refused(json.dumps(sns(message, message_id="m-1", topic="arn:aws:sns:eu-west-1:123456789012:t")))


# --- one field at a time -------------------------------------------------------------------------

# Characters that mean something to a URL, a time, a pattern or mrkdwn, and a few that only look like ASCII.
MEANINGFUL = "[]<>|:/@?#%&. \n\x00Z9aé٣\ud800"
field_values = st.builds(
    str.__add__, st.sampled_from(["", "http://", "https://", "2026-11-26T"]), st.text(st.sampled_from(MEANINGFUL))
)


@PROPERTY
@given(field_values, st.sampled_from(["url", "optional_url", "time", "text", "optional_text"]))
def test_any_string_in_any_kind_of_field_is_read_or_refused_as_a_bad_message(value, read):
    try:
        got = getattr(Fields({"f": value}, "a test message"), read)("f")
    except BadMessage:
        return
    got.encode("utf-8")  # what is read can be stored and sent


# --- valid messages, mutated ----------------------------------------------------------------------


def slots(doc: Any) -> list[tuple[Any, Any]]:
    """Every (container, key) in a JSON tree, the root's own entries included."""
    found: list[tuple[Any, Any]] = []
    items = doc.items() if isinstance(doc, dict) else enumerate(doc) if isinstance(doc, list) else ()
    for key, value in items:
        found.append((doc, key))
        found.extend(slots(value))
    return found


EDITS = ["[", "]", "<", ">", "|", "\ud800", " ", "\n", "\x00", "%", ":", "/", "Z", "9", "é", "٣"]


@st.composite
def mutated(draw, docs: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    doc = copy.deepcopy(draw(docs))
    for _ in range(draw(st.integers(1, 3))):
        places = slots(doc)
        container, key = draw(st.sampled_from(places))
        how = draw(st.sampled_from(["replace", "delete", "add", "edit"]))
        if how == "edit" and isinstance(container[key], str):
            # A character that means something to a URL, a time, a pattern or mrkdwn, put anywhere.
            value = container[key]
            at = draw(st.integers(0, len(value)))
            container[key] = value[:at] + draw(st.sampled_from(EDITS)) + value[at:]
        elif how in ("replace", "edit"):
            container[key] = draw(json_trees)
        elif how == "delete":
            del container[key]
        elif isinstance(container, dict):
            container[draw(st.sampled_from(KEYS))] = draw(json_trees)
        else:
            container.append(draw(json_trees))
    return doc


valid_docs = records_and_docs.map(lambda pair: pair[1])


@PROPERTY
@given(mutated(valid_docs))
def test_a_mutated_valid_message_is_read_or_refused_as_a_bad_message(doc):
    parsed_or_refused(json.dumps(doc))


@PROPERTY
@given(mutated(valid_docs.map(lambda doc: sns(doc, message_id="m-1", topic="arn:aws:sns:eu-west-1:123456789012:t"))))
def test_a_mutated_sns_envelope_is_read_or_refused_as_a_bad_message(envelope):
    parsed_or_refused(json.dumps(envelope))


@PROPERTY
@given(valid_docs, st.data())
def test_a_valid_message_cut_short_or_with_a_byte_flipped_is_read_or_refused_as_a_bad_message(doc, data):
    body = bytearray(json.dumps(doc).encode())
    at = data.draw(st.integers(0, len(body) - 1))
    if data.draw(st.booleans()):
        del body[at:]
    else:
        body[at] = data.draw(st.integers(0, 255))
    parsed_or_refused(bytes(body))

