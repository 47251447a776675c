"""Never loop: every change our own roles make comes back through CloudTrail and must lead to no action."""

from __future__ import annotations

import pytest

from remediator.config import Settings
from remediator.engine import OWN_ACTION, decide
from remediator.events import parse_record
from remediator.rules import RULES
from remediator.rules.base import EvalContext
from remediator.state import AssumedState

ACCOUNT = "123456789012"
OUR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/compliance-remediator-AccessKeysFunctionRole-1A2B3C"
# Lambda names a function's session after the function: "fn" is our function, holding its own role.
CONTEXT = EvalContext(
    Settings(own_role_arns=frozenset({OUR_ROLE}), own_functions={"fn": OUR_ROLE}, live=False), AssumedState()
)
MUTATIONS = sorted(
    {
        action.split(":", 1)[1]
        for rule in RULES.values()
        for action in rule.META.remediation_actions
        if action.startswith("iam:") and not action.split(":", 1)[1].startswith(("Get", "List"))
    }
)


def our_call(event_name: str, identity_arn: str, issuer: str | None) -> dict:
    """The CloudTrail record of one of our remediations, as our Lambda role's session makes it."""
    identity = {
        "type": "AssumedRole",
        "arn": identity_arn,
        "accountId": ACCOUNT,
        "principalId": "AROAEXAMPLEOURROLE:compliance-remediator-AccessKeys",
    }
    if issuer:
        identity["sessionContext"] = {"sessionIssuer": {"type": "Role", "arn": issuer, "accountId": ACCOUNT}}
    return {
        "eventName": event_name,
        "eventSource": "iam.amazonaws.com",
        "eventID": f"loop-{event_name}",
        "userIdentity": identity,
        "recipientAccountId": ACCOUNT,
        "requestParameters": {
            "userName": "bob",
            "roleName": "app",
            "accessKeyId": "AKIAEXAMPLE0000001",
            "status": "Active",
            "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess",
            "policyDocument": '{"Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}',
        },
        "responseElements": None,
    }


def test_every_rule_declares_what_it_changes() -> None:
    assert "UpdateAccessKey" in MUTATIONS


@pytest.mark.parametrize("event_name", MUTATIONS)
def test_our_own_remediation_events_are_skipped(event_name: str) -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/compliance-remediator-AccessKeysFunctionRole-1A2B3C/fn"
    decision = decide(parse_record(our_call(event_name, session, OUR_ROLE)), CONTEXT)
    assert decision.findings == []
    assert decision.skipped in {OWN_ACTION, f"no rule for {event_name}"}


@pytest.mark.parametrize("event_name", MUTATIONS)
def test_recognised_by_session_arn_alone_when_the_issuer_is_missing(event_name: str) -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/compliance-remediator-AccessKeysFunctionRole-1A2B3C/fn"
    decision = decide(parse_record(our_call(event_name, session, None)), CONTEXT)
    assert decision.findings == []


def test_a_role_with_our_name_in_another_account_is_not_us() -> None:
    session = "arn:aws:sts::999988887777:assumed-role/compliance-remediator-AccessKeysFunctionRole-1A2B3C/fn"
    record = our_call("UpdateAccessKey", session, None)
    decision = decide(parse_record(record), CONTEXT)
    assert decision.skipped is None and [f.rule for f in decision.findings] == ["access_keys"]


def test_a_session_of_our_role_that_is_not_our_functions_is_judged_and_reported() -> None:
    """Our role passed to someone else's function (its session is named after that function) gets no pass: the
    admin attachment it makes is an admin_grants finding, and using our role at all is remediator_tampering's."""
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/compliance-remediator-AccessKeysFunctionRole-1A2B3C/their-fn"
    decision = decide(parse_record(our_call("AttachUserPolicy", session, OUR_ROLE)), CONTEXT)
    assert decision.skipped is None
    assert {f.rule for f in decision.findings} == {"admin_grants", "remediator_tampering"}
    [tampering] = [f for f in decision.findings if f.rule == "remediator_tampering"]
    assert tampering.severity == "critical" and "not its function's" in tampering.reason


def test_our_function_making_a_call_no_remediation_makes_is_judged() -> None:
    session = f"arn:aws:sts::{ACCOUNT}:assumed-role/compliance-remediator-AccessKeysFunctionRole-1A2B3C/fn"
    decision = decide(parse_record(our_call("CreateAccessKey", session, OUR_ROLE)), CONTEXT)
    assert decision.skipped is None and [f.rule for f in decision.findings] == ["access_keys"]
