"""Who and what an exemption names: break-glass ARNs and list patterns against the look-alikes an attacker can
create, the tag that came with the event, the list's cache, and the dry run (no list read, reason says so)."""

from __future__ import annotations

import copy
from datetime import UTC, date, datetime

import boto3
import pytest
from moto import mock_aws

from remediator.arns import pattern_matches
from remediator.config import EXEMPT_TAG, Settings
from remediator.engine import decide
from remediator.events import parse_envelope
from remediator.exemption_list import CACHE_SECONDS, ExemptionEntry, ExemptionTable, table_definition
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

A = "123456789012"
BREAK_GLASS_ROLE = f"arn:aws:iam::{A}:role/BreakGlass"

# (configured break-glass ARN, the ARN seen in an event, whether it is the same principal)
BREAK_GLASS_CASES = [
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:role/BreakGlass", True),
    (BREAK_GLASS_ROLE, f"arn:aws:sts::{A}:assumed-role/BreakGlass/alice@example.com", True),  # a session of it
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:role/emergency/BreakGlass", True),  # its path
    (f"arn:aws:iam::{A}:role/emergency/BreakGlass", f"arn:aws:sts::{A}:assumed-role/BreakGlass/s", True),
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:role/breakglass", True),  # IAM names are unique regardless of case
    (f"arn:aws:iam::{A}:user/Ops-Admin", f"arn:aws:iam::{A}:user/ops-admin", True),
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:role/BreakGlassX", False),  # look-alike names
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:role/XBreakGlass", False),
    (BREAK_GLASS_ROLE, f"arn:aws:sts::{A}:assumed-role/BreakGlassX/s", False),
    (BREAK_GLASS_ROLE, f"arn:aws:sts::{A}:assumed-role/Developer/BreakGlass", False),  # the session name is chosen
    (BREAK_GLASS_ROLE, "arn:aws:iam::111122223333:role/BreakGlass", False),  # another account's role
    (BREAK_GLASS_ROLE, "arn:aws:sts::111122223333:assumed-role/BreakGlass/s", False),
    (BREAK_GLASS_ROLE, f"arn:aws-us-gov:iam::{A}:role/BreakGlass", False),  # another partition
    (BREAK_GLASS_ROLE, f"arn:aws:iam::{A}:user/BreakGlass", False),  # a user of the same name
    (BREAK_GLASS_ROLE, f"arn:aws:sts::{A}:federated-user/BreakGlass", False),
    (f"arn:aws:iam::{A}:root", f"arn:aws:iam::{A}:root", True),
    (f"arn:aws:iam::{A}:root", "arn:aws:iam::111122223333:root", False),
    (BREAK_GLASS_ROLE, "BreakGlass", False),
    (BREAK_GLASS_ROLE, None, False),
]


@pytest.mark.parametrize("configured, seen, same", BREAK_GLASS_CASES)
def test_break_glass_names_the_role_path_and_case_but_never_a_look_alike(configured, seen, same) -> None:
    assert Settings(break_glass_arns=frozenset({configured})).is_break_glass(seen) is same


# (exemption-list pattern, ARN, matches)
PATTERN_CASES = [
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:iam::{A}:role/app-server", True),
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:iam::{A}:role/App-Server", True),
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:iam::{A}:role/svc/app-server", True),
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:sts::{A}:assumed-role/app-server/i-0abc", True),
    (f"arn:aws:iam::{A}:role/ci-*", f"arn:aws:iam::{A}:role/ci-deploy", True),
    (f"arn:aws:iam::{A}:role/ci-?", f"arn:aws:iam::{A}:role/ci-1", True),
    (f"arn:aws:iam::{A}:role/ci-?", f"arn:aws:iam::{A}:role/ci-12", False),
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:iam::{A}:role/app-server2", False),
    (f"arn:aws:iam::{A}:role/app-server", "arn:aws:iam::111122223333:role/app-server", False),
    (f"arn:aws:iam::{A}:role/app-server", f"arn:aws:iam::{A}:user/app-server", False),
    (f"arn:aws:iam::{A}:role/ops/*", f"arn:aws:iam::{A}:role/ops/anything", False),  # paths are the creator's
    ("arn:aws:iam::*:role/app-server", "arn:aws:iam::111122223333:role/app-server", True),
    ("arn:aws:iam::*", f"arn:aws:iam::{A}:role/app-server", False),  # not an ARN pattern
    (f"arn:aws:lambda:us-east-1:{A}:function:Report", f"arn:aws:lambda:us-east-1:{A}:function:report", False),
    ("*", f"arn:aws:iam::{A}:role/app-server", False),
]


@pytest.mark.parametrize("pattern, arn, matches", PATTERN_CASES)
def test_list_patterns_match_by_field_and_iam_names_like_iam_does(pattern, arn, matches) -> None:
    assert pattern_matches(pattern, arn) is matches


def _entry(pattern: str, rule: str, expires: str) -> ExemptionEntry:
    return ExemptionEntry(pattern, rule, "why", expires, "who", added_at="2026-11-01T00:00:00Z")


def test_an_entry_counts_through_its_last_day_and_a_timestamp_until_that_moment() -> None:
    entry = _entry(f"arn:aws:iam::{A}:role/r", "*", "2026-12-01")
    assert entry.active(datetime(2026, 12, 1, 23, 59, tzinfo=UTC))
    assert not entry.active(datetime(2026, 12, 2, 0, 0, tzinfo=UTC))
    expired_now = _entry(f"arn:aws:iam::{A}:role/r", "*", "2026-11-29T10:00:00Z")
    assert not expired_now.active(datetime(2026, 11, 29, 10, 0, 1, tzinfo=UTC))
    assert ExemptionEntry.from_item({**entry.as_item(), "expires": {"S": "someday"}}) is None
    assert ExemptionEntry.from_item({k: v for k, v in entry.as_item().items() if k != "approver"}) is None


@mock_aws
def test_the_list_is_read_once_per_cache_period() -> None:
    dynamodb = boto3.client("dynamodb")
    dynamodb.create_table(**table_definition("exemptions"))
    clock = [1000.0]
    table = ExemptionTable(dynamodb, "exemptions", clock=lambda: clock[0])
    assert table.entries() == ()
    entry = _entry(f"arn:aws:iam::{A}:role/r", "*", "2099-01-01")
    dynamodb.put_item(TableName="exemptions", Item=entry.as_item())
    clock[0] += CACHE_SECONDS - 1
    assert table.entries() == ()  # still the cached copy
    clock[0] += 1
    assert table.entries() == (entry,)


def _create_role_with_tag() -> dict:
    event = copy.deepcopy(load_event("create-role-trusting-everyone.json"))
    event["detail"]["requestParameters"]["tags"] = [{"key": EXEMPT_TAG, "value": "trust me"}]
    return event


@mock_aws
def test_a_tag_that_came_with_the_event_never_counts_even_when_tags_are_honoured() -> None:
    iam = boto3.client("iam")
    event = _create_role_with_tag()
    params = event["detail"]["requestParameters"]
    iam.create_role(
        RoleName=params["roleName"],
        AssumeRolePolicyDocument=params["assumeRolePolicyDocument"],
        Tags=[{"Key": EXEMPT_TAG, "Value": "trust me"}],
    )
    context = EvalContext(Settings(honour_exempt_tags=True), LiveState(iam))
    [finding] = decide(parse_envelope(event), context, ("role_trust",)).findings
    assert not finding.exempt and finding.action
    assert "tag came with this event (CreateRole): not honoured" in finding.reason


@mock_aws
def test_a_new_entity_tagged_right_after_its_creation_is_not_exempt_by_its_tag() -> None:
    """CreateUser without tags, then TagUser a second later: the tag cannot predate the CreateUser event."""
    iam = boto3.client("iam")
    iam.create_user(UserName="mallory", Tags=[{"Key": EXEMPT_TAG, "Value": "x"}])
    event = copy.deepcopy(load_event("create-user.json"))
    event["detail"]["requestParameters"]["userName"] = "mallory"
    context = EvalContext(Settings(honour_exempt_tags=True), LiveState(iam))
    [finding] = decide(parse_envelope(event), context, ("iam_user_sprawl",)).findings
    assert not finding.exempt


def test_the_dry_run_reads_no_list_and_says_what_it_assumed() -> None:
    [finding] = decide(
        parse_envelope(load_event("update-assume-role-policy-foreign-account.json")),
        EvalContext(Settings(live=False), AssumedState()),
        ("role_trust",),
    ).findings
    assert not finding.exempt and "State assumed (dry run): the role has no exemption." in finding.reason


def test_entries_written_by_hand_with_a_date_in_the_past_are_reported_as_expired() -> None:
    yesterday = date.fromordinal(datetime.now(UTC).date().toordinal() - 1).isoformat()

    class Listed:
        def entries(self) -> tuple[ExemptionEntry, ...]:
            return (_entry(f"arn:aws:iam::{A}:user/alice", "*", yesterday),)

    context = EvalContext(Settings(live=False), AssumedState(), Listed())
    [finding] = decide(
        parse_envelope(load_event("create-access-key-for-another-user.json")), context, ("access_keys",)
    ).findings
    assert not finding.exempt and f"for every rule expired on {yesterday}: not honoured" in finding.reason
