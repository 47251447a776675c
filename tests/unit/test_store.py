"""The findings table: grace periods that never restart, closing, the action budget, the open index; the event
ledger: one write claims an event and counts the budget."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import boto3
import pytest
from moto import mock_aws

from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.store import Claim, EventLedger, FindingsStore, resource_key, table_definition, track_outcome

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


# The event ledger: one conditional write per finding claims the event and counts the action budget.

EVENT_TIME = datetime(2026, 11, 24, 9, 15, tzinfo=UTC)


@pytest.fixture
def ledgers():
    """Ledgers on the idempotency table (key `id`), as one function's invocations would make them."""
    with mock_aws():
        client = boto3.client("dynamodb")
        client.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        clock = Clock()

        def ledger(function: str = "access-keys", request_id: str | None = None, seconds: int = 30) -> EventLedger:
            return EventLedger(
                client,
                "idempotency",
                keyed_by_id=True,
                function=function,
                request_id=request_id,
                deadline=clock.now + timedelta(seconds=seconds),
                clock=clock,
            )

        yield ledger, clock


def test_an_event_is_claimed_once_per_function(ledgers) -> None:
    ledger, _ = ledgers
    assert ledger().claim(ALICE, "access_keys", "e1", EVENT_TIME, acts=True) == Claim(counted=True)
    assert ledger().claim(ALICE, "access_keys", "e1", EVENT_TIME, acts=True).duplicate
    assert ledger().claim(ALICE, "access_keys", "e1", EVENT_TIME, acts=False).duplicate  # decided otherwise: still one
    assert not ledger("other-function").claim(ALICE, "access_keys", "e1", EVENT_TIME, acts=True).duplicate


def test_the_budget_allows_three_changes_an_hour_then_one_contested_message(ledgers) -> None:
    ledger, _ = ledgers
    claims = [ledger().claim(ALICE, "access_keys", f"e{n}", EVENT_TIME, acts=True) for n in range(5)]
    assert [c.counted for c in claims] == [True, True, True, False, False]
    assert [c.over_budget for c in claims] == [False, False, False, True, True]
    assert [c.first_contested for c in claims] == [False, False, False, True, False]
    assert ledger().claim(ALICE, "access_keys", "e3", EVENT_TIME, acts=True).duplicate  # no second "skipped" either
    assert ledger().claim(ALICE, "admin_grants", "e9", EVENT_TIME, acts=True).counted  # another rule's own budget
    assert ledger().claim("123456789012:user/bob", "access_keys", "e9", EVENT_TIME, acts=True).counted
    assert ledger().claim(ALICE, "access_keys", "e5", EVENT_TIME + timedelta(hours=1), acts=True).counted
    assert not ledger().claim(ALICE, "access_keys", "e6", EVENT_TIME, acts=False).over_budget  # notify: no budget


def test_a_failed_invocation_releases_its_claims_for_the_retry(ledgers) -> None:
    ledger, _ = ledgers
    for n in range(2):
        ledger().claim(ALICE, "access_keys", f"e{n}", EVENT_TIME, acts=True)
    failing = ledger(request_id="r1")
    assert failing.claim(ALICE, "access_keys", "e2", EVENT_TIME, acts=True).counted
    assert failing.release() == []
    retry = ledger(request_id="r2")
    assert retry.claim(ALICE, "access_keys", "e2", EVENT_TIME, acts=True) == Claim(counted=True)  # its slot is back
    assert ledger().claim(ALICE, "access_keys", "e3", EVENT_TIME, acts=True).over_budget


def test_lambdas_retry_of_an_invocation_that_died_takes_its_claim_over(ledgers) -> None:
    ledger, clock = ledgers

    def claim(request_id: str) -> Claim:
        return ledger(request_id=request_id).claim(ALICE, "console_mfa", "e1", EVENT_TIME, acts=False)

    assert claim("r1") == Claim()
    assert claim("r1").duplicate  # the claimant is still running
    clock.now += timedelta(minutes=1)  # Lambda retries a minute after the invocation's time ran out
    assert claim("r2").duplicate  # another delivery of the event
    assert claim("r1") == Claim()  # Lambda's retry of the claimant


def test_an_event_without_id_is_counted_but_never_taken_for_a_duplicate(ledgers) -> None:
    ledger, _ = ledgers
    assert ledger().claim(ALICE, "access_keys", None, None, acts=True).counted
    assert ledger().claim(ALICE, "access_keys", None, None, acts=True).counted
