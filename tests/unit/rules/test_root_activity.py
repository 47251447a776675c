"""root_activity: any successful root call or sign-in is critical and notify-only."""

from __future__ import annotations

import copy

import pytest

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import parse_envelope, parse_record
from remediator.rules.base import EvalContext
from remediator.rules.root_activity import META
from remediator.state import AssumedState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ONLY = ("root_activity",)


@pytest.mark.parametrize("event", ["root-console-login.json", "root-list-buckets-read-only.json",
                                   "create-root-access-key.json"])
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


def test_failed_root_sign_in_and_iam_user_are_not_findings() -> None:
    failed = copy.deepcopy(load_event("root-console-login.json")["detail"])
    failed["responseElements"] = {"ConsoleLogin": "Failure"}
    assert decide(parse_record(failed), DRY_RUN, ONLY).skipped == "failed call"
    user = load_event("console-login-without-mfa.json")["detail"]
    assert decide(parse_record(user), DRY_RUN, ONLY).skipped == "no rule for ConsoleLogin"


def test_break_glass_root_is_exempt_but_reported() -> None:
    context = EvalContext(Settings(live=False, break_glass_arns=frozenset({"arn:aws:iam::123456789012:root"})),
                          AssumedState())
    [finding] = decide(parse_envelope(load_event("root-console-login.json")), context, ONLY).findings
    assert finding.exempt and "break-glass" in finding.reason


def test_patterns_match_any_service_and_sign_ins_without_error_filter_on_sign_ins() -> None:
    api, sign_in = (trigger.event_pattern() for trigger in META.triggers)
    assert api == {"detail-type": ["AWS API Call via CloudTrail"],
                   "detail": {"userIdentity": {"type": ["Root"]}, "errorCode": [{"exists": False}]}}
    assert sign_in["source"] == ["aws.signin"] and "errorCode" not in sign_in["detail"]
