"""Fuzzing the parse-and-decide path (no AWS): whatever arrives, no unhandled exception, every skip has a
reason that maps to a metric, and nothing is ever planned on a guess.

Three generators, 400 cases each per run: real events with fields replaced by arbitrary JSON, records
built from CloudTrail-like fragments (policy documents huge, nested, URL-encoded, truncated, unicode),
and arbitrary JSON as the whole envelope.
"""

from __future__ import annotations

import copy
import json
import urllib.parse
from collections import Counter
from collections.abc import Iterator
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import CloudTrailRecord, MalformedRecord, parse_envelope
from remediator.findings import Decision
from remediator.rules import RULES
from remediator.rules.base import EvalContext
from remediator.runtime import _skip_metric
from remediator.state import AssumedState
from tests.conftest import EVENTS

CONTEXT = EvalContext(Settings(live=False), AssumedState())
REAL_EVENTS = [json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))]
EVENT_NAMES = sorted(
    {name for rule in RULES.values() for trigger in rule.META.triggers for name in trigger.event_names}
    | {"ListUsers", "RunInstances", "ConsoleLogin"}
)
DETAIL_FIELDS = [
    "eventName",
    "eventSource",
    "eventID",
    "eventTime",
    "userIdentity",
    "requestParameters",
    "responseElements",
    "additionalEventData",
    "errorCode",
    "recipientAccountId",
    "sourceIPAddress",
]
FUZZ = settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OUTCOMES: Counter = Counter()

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=30),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(st.text(max_size=10), children, max_size=5),
    max_leaves=30,
)


def mostly(good: st.SearchStrategy, odds: int = 15) -> st.SearchStrategy:
    """Usually a well-typed value, sometimes arbitrary JSON: deep enough to reach the rules, wild enough to hurt."""
    return st.integers(0, odds).flatmap(lambda n: json_values if n == 0 else good)


def _nested(depth: int) -> Any:
    document: Any = {"Effect": "Allow", "Action": "*", "Resource": "*"}
    for _ in range(depth):
        document = {"Condition": document}
    return document


policy_documents = st.one_of(
    json_values.map(json.dumps),
    st.text(max_size=200),
    st.just(
        json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}] * 2000})
    ),
    st.integers(min_value=50, max_value=400).map(lambda depth: json.dumps({"Statement": _nested(depth)})),
    st.just(
        urllib.parse.quote(json.dumps({"Statement": {"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}}))
    ),
    st.just('{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resour'),
    st.just({"omitted": True, "originalSize": 12044}),
    st.text(alphabet=st.characters(min_codepoint=0x80), max_size=40),
)

request_parameters = mostly(
    st.none()
    | st.fixed_dictionaries(
        {},
        optional={
            "userName": st.one_of(st.text(max_size=40), json_values),
            "roleName": st.text(max_size=40),
            "accessKeyId": st.one_of(st.text(max_size=25), st.integers()),
            "status": st.sampled_from(["Active", "Inactive", "active", "", None]),
            "policyArn": st.text(max_size=80),
            "policyDocument": policy_documents,
            "assumeRolePolicyDocument": policy_documents,
            "serialNumber": st.text(max_size=60),
            "groupName": st.text(max_size=20),
        },
    )
)

records = st.fixed_dictionaries(
    {
        "eventName": mostly(st.sampled_from(EVENT_NAMES) | st.text(max_size=20)),
        "eventSource": mostly(
            st.sampled_from(
                [
                    "iam.amazonaws.com",
                    "signin.amazonaws.com",
                    "sts.amazonaws.com",
                    "ec2.amazonaws.com",
                    "s3.amazonaws.com",
                ]
            )
        ),
    },
    optional={
        "eventID": mostly(st.uuids().map(str)),
        "eventTime": mostly(st.sampled_from(["2026-11-24T09:15:42Z", "redacted", "...", "2022-09-27 17:09:18"])),
        "userIdentity": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "type": st.sampled_from(
                        ["IAMUser", "Root", "AssumedRole", "FederatedUser", "AWSService", "Unknown"]
                    ),
                    "userName": st.text(max_size=20),
                    "arn": st.text(max_size=60),
                    "accountId": json_values,
                    "sessionContext": json_values,
                },
            )
        ),
        "requestParameters": request_parameters,
        "responseElements": mostly(
            st.fixed_dictionaries(
                {},
                optional={
                    "accessKey": mostly(
                        st.fixed_dictionaries(
                            {}, optional={"accessKeyId": st.text(max_size=25), "userName": st.text(max_size=20)}
                        )
                    ),
                    "ConsoleLogin": st.sampled_from(["Success", "Failure"]),
                    "role": json_values,
                },
            )
        ),
        "additionalEventData": mostly(st.fixed_dictionaries({}, optional={"MFAUsed": st.sampled_from(["Yes", "No"])})),
        "errorCode": st.sampled_from([None, "AccessDenied", "LimitExceededException"]) | st.text(max_size=20),
        "recipientAccountId": mostly(st.text(max_size=15)),
    },
)


def decide_envelope(event: Any) -> tuple[CloudTrailRecord | None, Decision]:
    """What the handler does before touching AWS: parse, then skip or decide."""
    try:
        record = parse_envelope(event)
    except MalformedRecord as error:
        return None, Decision(event_id=None, event_name=None, account=None, skipped=f"malformed: {error}")
    return record, decide(record, CONTEXT)


def strings_in(value: Any) -> Iterator[str]:
    """Every string in the event (keys and values), as the rules see them after parsing."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from strings_in(item)
    elif isinstance(value, list):
        for item in value:
            yield from strings_in(item)


def check(event: Any) -> None:
    record, decision = decide_envelope(event)
    texts = list(strings_in(event))
    if decision.skipped:
        assert decision.skipped.strip() and not decision.findings
        OUTCOMES[_skip_metric(decision, record)] += 1
        return
    OUTCOMES["decided"] += 1
    for finding in decision.findings:
        assert finding.rule in RULES and finding.reason.strip()
        if finding.action is not None:  # never act on a guess: what we would change is named in the event
            assert any(finding.resource.name in text for text in texts), (finding.action, finding.resource)
            OUTCOMES["would act"] += 1


@FUZZ
@given(base=st.sampled_from(REAL_EVENTS), field=st.sampled_from(DETAIL_FIELDS), value=json_values, drop=st.booleans())
def test_real_events_with_a_field_replaced_or_dropped(base: dict, field: str, value: Any, drop: bool) -> None:
    event = copy.deepcopy(base)
    if drop:
        event["detail"].pop(field, None)
    else:
        event["detail"][field] = value
    check(event)


@FUZZ
@given(record=records)
@example(record={"eventName": "CreateAccessKey", "eventSource": "iam.amazonaws.com", "errorCode": "AccessDenied"})
@example(
    record={
        "eventName": "CreateAccessKey",
        "eventSource": "iam.amazonaws.com",
        "responseElements": {"accessKey": {"accessKeyId": "AKIAEXAMPLE000000001", "userName": "bob"}},
    }
)
def test_cloudtrail_like_records(record: dict) -> None:
    check(
        {
            "version": "0",
            "id": "fuzz",
            "detail-type": "AWS API Call via CloudTrail",
            "source": "aws.iam",
            "account": "123456789012",
            "time": "2026-11-24T09:15:42Z",
            "region": "us-east-1",
            "resources": [],
            "detail": record,
        }
    )


@FUZZ
@given(event=json_values)
def test_arbitrary_json_envelopes(event: Any) -> None:
    check(event)


def test_fuzzing_reached_every_kind_of_outcome() -> None:
    """Runs last in this module: the generators hit skips of each kind, decisions and planned actions."""
    if sum(OUTCOMES.values()) < 1000:
        return  # run alone (-k); the counts are only meaningful after the three fuzz tests
    assert OUTCOMES["SkippedMalformed"] and OUTCOMES["SkippedNoRule"] and OUTCOMES["SkippedFailedCall"]
    assert OUTCOMES["decided"] and OUTCOMES["would act"]
