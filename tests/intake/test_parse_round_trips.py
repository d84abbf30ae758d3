"""Valid messages of every shape, generated, read back as exactly the records they were made from."""

from __future__ import annotations

import json

from hypothesis import given

from bot.intake import parse
from bot.intake.parse import SnsEnvelope, parse_body
from tests.intake.messages import (
    PROPERTY,
    accounts,
    ami_ids,
    commits,
    records_and_docs,
    regions,
    seconds,
    sns,
    topics,
    uuids,
)


@PROPERTY
@given(uuids, regions, accounts, commits, ami_ids, topics)
def test_the_fast_strategies_make_only_what_the_parsers_patterns_accept(uuid, region, account, commit, ami, topic):
    for pattern, value in [
        (parse.UUID_RE, uuid),
        (parse.SNS_MESSAGE_ID_RE, uuid),
        (parse.TOPIC_ARN_RE, topic),
        (parse.REGION_RE, region),
        (parse.ACCOUNT_RE, account),
        (parse.COMMIT_RE, commit),
        (parse.AMI_RE, ami),
    ]:
        assert pattern.fullmatch(value), (pattern.pattern, value)


@PROPERTY
@given(records_and_docs)
def test_a_valid_bare_or_raw_message_reads_back_as_the_record_it_was_made_from(record_and_doc):
    record, doc = record_and_doc

    parsed = parse_body(json.dumps(doc))

    assert parsed.envelope is None and parsed.items == (record,)


@PROPERTY
@given(records_and_docs, uuids, topics, seconds)
def test_a_valid_message_in_an_sns_envelope_reads_back_with_its_envelope(record_and_doc, message_id, topic, at):
    record, doc = record_and_doc

    parsed = parse_body(json.dumps(sns(doc, message_id=message_id, topic=topic, timestamp=at)))

    assert parsed.envelope == SnsEnvelope(message_id=message_id, topic_arn=topic, timestamp=at)
    assert parsed.items == (record,)

