"""The findings table: grace periods that never restart, closing, the action budget, the open index."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.store import FindingsStore, resource_key, table_definition, track_outcome

START = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
ALICE = "123456789012:user/alice"


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


@pytest.fixture
def store():
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(**table_definition("findings"))
        clock = Clock()
        yield FindingsStore(client, "findings", clock=clock), clock


def test_a_second_warning_keeps_the_first_grace_period(store) -> None:
    findings, clock = store
    first = findings.open_finding(ALICE, "console_mfa", grace=timedelta(hours=24), event_id="e1")
    clock.now += timedelta(hours=5)
    again = findings.open_finding(ALICE, "console_mfa", grace=timedelta(hours=24), event_id="e2")
    assert again.warned_at == first.warned_at == START and again.due_at == START + timedelta(hours=24)
    assert again.event_id == "e1"


def test_due_lists_only_findings_whose_grace_is_over(store) -> None:
    findings, clock = store
    findings.open_finding(ALICE, "console_mfa", grace=timedelta(hours=24))
    findings.open_finding("123456789012:user/bob", "console_mfa", grace=timedelta(hours=48))
    findings.open_finding("123456789012:user/carol", "key_age", grace=timedelta(hours=1))
    clock.now += timedelta(hours=30)
    assert [f.user for f in findings.due("console_mfa")] == ["alice"]
    assert sorted(f.user for f in findings.open_findings("console_mfa")) == ["alice", "bob"]


def test_close_and_acted_leave_the_open_index(store) -> None:
    findings, _ = store
    findings.open_finding(ALICE, "console_mfa", grace=timedelta(0))
    assert findings.close(ALICE, "console_mfa", "EnableMFADevice e9") is True
    assert findings.get(ALICE, "console_mfa") is None and list(findings.open_findings("console_mfa")) == []
    assert findings.close("123456789012:user/nobody", "console_mfa", "x") is False
    findings.open_finding(ALICE, "console_mfa", grace=timedelta(0))  # reopened after closing: a new grace
    findings.mark_acted(ALICE, "console_mfa", "attach policy")
    assert list(findings.open_findings("console_mfa")) == []


def test_action_budget_counts_the_last_hour_only(store) -> None:
    findings, clock = store
    for _ in range(3):
        findings.record_action(ALICE, "access_keys", "deactivate key")
        clock.now += timedelta(minutes=10)
    assert findings.actions_in_last_hour(ALICE, "access_keys") == 3
    assert findings.actions_in_last_hour(ALICE, "admin_grants") == 0  # one rule never spends another's budget
    clock.now += timedelta(minutes=45)
    assert findings.actions_in_last_hour(ALICE, "access_keys") == 1
    assert findings.actions_in_last_hour("123456789012:user/bob", "access_keys") == 0


def test_the_contested_message_is_claimed_once_per_hour(store) -> None:
    findings, clock = store
    assert findings.claim_contested(ALICE, "access_keys") is True
    assert findings.claim_contested(ALICE, "access_keys") is False
    assert findings.claim_contested(ALICE, "admin_grants") is True
    clock.now += timedelta(minutes=61)
    assert findings.claim_contested(ALICE, "access_keys") is True


def test_a_claim_is_won_once_per_period_and_again_by_the_same_event(store) -> None:
    findings, clock = store
    root, session = "123456789012:root/root", "session#root_activity#key:ASIAZ3EXAMPLEROOT002"
    assert findings.claim_once(root, session, "event-1", timedelta(hours=12)) is True
    assert findings.claim_once(root, session, "event-2", timedelta(hours=12)) is False
    assert findings.claim_once(root, session, "event-1", timedelta(hours=12)) is True  # a retried delivery
    clock.now += timedelta(hours=11)
    assert findings.claim_once(root, session, "event-3", timedelta(hours=12)) is False
    clock.now += timedelta(hours=2)
    assert findings.claim_once(root, session, "event-4", timedelta(hours=12)) is True


def test_track_outcome_opens_grace_or_counts_the_action(store) -> None:
    findings, _ = store
    resource = Resource("user", "alice", "123456789012")
    warned = Finding("console_mfa", Severity.MEDIUM, "r", resource, action="x", details={"grace_hours": 24})
    track_outcome(findings, warned, ActionResult(Outcome.SKIPPED, "warned"))
    assert findings.get(resource_key(resource), "console_mfa") is not None
    acted = Finding("console_mfa", Severity.HIGH, "r", resource, action="attach")
    track_outcome(findings, acted, ActionResult(Outcome.VERIFIED, "done"))
    assert findings.get(resource_key(resource), "console_mfa") is None
    assert findings.actions_in_last_hour(resource_key(resource), "console_mfa") == 1
