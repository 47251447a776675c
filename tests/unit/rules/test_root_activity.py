"""root_activity: any root call or sign-in is critical and notify-only; a failed one is high."""

from __future__ import annotations

import copy

import pytest

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import parse_envelope, parse_record
from remediator.findings import ActionResult, Outcome
from remediator.notify import chatbot_payload
from remediator.rules.base import EvalContext
from remediator.rules.root_activity import META
from remediator.state import AssumedState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ONLY = ("root_activity",)


@pytest.mark.parametrize(
    "event", ["root-console-login.json", "root-list-buckets-read-only.json", "create-root-access-key.json"]
)
def test_root_use_is_critical_with_where_it_came_from(event: str) -> None:
    record = parse_envelope(load_event(event))
    [finding] = decide(record, DRY_RUN, ONLY).findings
    assert finding.severity == "critical" and finding.action is None
    assert record.sourceIPAddress in finding.reason and (record.userAgent or "") in finding.reason
    assert finding.details["called"].endswith(record.eventName)


def test_service_acting_for_root_is_not_root_use() -> None:
    record = copy.deepcopy(load_event("root-list-buckets-read-only.json")["detail"])
    record["userIdentity"]["invokedBy"] = "autoscaling.amazonaws.com"
    assert decide(parse_record(record), DRY_RUN, ONLY).findings == []
    record["userIdentity"]["invokedBy"] = "signin.amazonaws.com"  # root in the console: still root
    assert len(decide(parse_record(record), DRY_RUN, ONLY).findings) == 1


def test_failed_root_sign_in_is_high_and_iam_user_is_not_root() -> None:
    failed = copy.deepcopy(load_event("root-console-login.json")["detail"])
    failed["responseElements"] = {"ConsoleLogin": "Failure"}
    decision = decide(parse_record(failed), DRY_RUN, ONLY)
    [finding] = decision.findings
    assert decision.skipped is None and finding.severity == "high" and finding.action is None
    assert "failed to sign in" in finding.reason and "guessing" in finding.reason
    user = load_event("console-login-without-mfa.json")["detail"]
    assert decide(parse_record(user), DRY_RUN, ONLY).skipped == "no rule for ConsoleLogin"


def test_failed_root_call_is_high_and_other_rules_stay_silent() -> None:
    """A failed CreateAccessKey by root changed nothing: root_activity reports the attempt, access_keys nothing."""
    failed = copy.deepcopy(load_event("create-root-access-key.json")["detail"])
    failed["errorCode"], failed["responseElements"] = "AccessDenied", None
    decision = decide(parse_record(failed), DRY_RUN)
    assert [finding.rule for finding in decision.findings] == ["root_activity"]
    assert decision.findings[0].severity == "high" and "AccessDenied" in decision.findings[0].reason
    user_failed = copy.deepcopy(load_event("create-access-key-for-another-user.json")["detail"])
    user_failed["errorCode"] = "AccessDenied"
    assert decide(parse_record(user_failed), DRY_RUN).skipped == "failed call"


def test_break_glass_root_is_exempt_but_reported() -> None:
    context = EvalContext(
        Settings(live=False, break_glass_arns=frozenset({"arn:aws:iam::123456789012:root"})), AssumedState()
    )
    [finding] = decide(parse_envelope(load_event("root-console-login.json")), context, ONLY).findings
    assert finding.exempt and "break-glass" in finding.reason


def test_patterns_match_any_service_failed_calls_included() -> None:
    api, sign_in = (trigger.event_pattern() for trigger in META.triggers)
    assert api == {"detail-type": ["AWS API Call via CloudTrail"], "detail": {"userIdentity": {"type": ["Root"]}}}
    assert sign_in["source"] == ["aws.signin"] and "errorCode" not in sign_in["detail"]


def _root_call(**identity: object) -> dict:
    record = copy.deepcopy(load_event("root-list-buckets-read-only.json")["detail"])
    record["userIdentity"].update(identity)
    return record


def test_a_root_call_names_the_session_aws_issued_and_the_accounts_thread_of_the_day() -> None:
    record = parse_record(_root_call())
    [finding] = decide(record, DRY_RUN, ONLY).findings
    assert finding.details["session"] == "key:ASIAZ3EXAMPLEROOT002"
    assert finding.details["thread"] == "root_activity-123456789012-2026-11-24"
    assert "Later calls of this session within 12 h are recorded" in finding.reason
    payload = chatbot_payload(finding, record, ActionResult(Outcome.NOTIFIED, ""))
    assert payload["metadata"]["threadId"] == "root_activity-123456789012-2026-11-24"


def test_without_an_access_key_the_sessions_creation_date_names_it() -> None:
    [finding] = decide(parse_record(_root_call(accessKeyId="")), DRY_RUN, ONLY).findings
    assert finding.details["session"] == "created:2026-11-24T11:41:00Z"


@pytest.mark.parametrize(
    "record",
    [
        load_event("root-console-login.json")["detail"],  # a sign-in is its own message
        {**load_event("root-console-login.json")["detail"], "responseElements": {"ConsoleLogin": "Failure"}},
        {**_root_call(), "errorCode": "AccessDenied"},  # a failed call: someone trying
        _root_call(accessKeyId="", sessionContext={}),  # nothing AWS issued names a session
    ],
)
def test_sign_ins_failures_and_unnamed_sessions_get_a_message_of_their_own(record: dict) -> None:
    [finding] = decide(parse_record(record), DRY_RUN, ONLY).findings
    assert finding.details["session"] is None and "Later calls" not in finding.reason
