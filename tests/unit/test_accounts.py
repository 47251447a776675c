"""Organization mode's pieces that need no second account: session names, the member role's ARN, which
sessions are ours, and that with organization mode off every event stays with the hub's own clients."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from remediator import accounts
from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import OWN_ACTION, decide
from remediator.events import parse_envelope
from remediator.findings import Mode
from remediator.rules.base import EvalContext
from remediator.state import AssumedState
from tests.conftest import load_event

MEMBER = "111122223333"
MEMBER_ROLE_ISSUER = f"arn:aws:iam::{MEMBER}:role/compliance-remediator/compliance-remediator-member"


def test_session_name_is_the_event_id_within_what_sts_allows() -> None:
    assert accounts.session_name("c41f9e27-8d3a-4b65-a0e1-2f7d6c5b4a02") == "c41f9e27-8d3a-4b65-a0e1-2f7d6c5b4a02"
    assert accounts.session_name("a b/c:d" + "x" * 80) == ("a-b-c-d" + "x" * 80)[:64]
    assert accounts.session_name(None) == accounts.session_name("") == "compliance-remediator"


def test_member_role_from_the_environment() -> None:
    assert accounts.MemberRole.from_env({}) is None  # organization mode off
    role = accounts.MemberRole.from_env({"MEMBER_ROLE_NAME": "guard", "MEMBER_ROLE_PATH": "/sec"})
    assert role is not None and role.arn("aws-us-gov", MEMBER) == f"arn:aws-us-gov:iam::{MEMBER}:role/sec/guard"


def _update_key_by(arn: str, issuer: str) -> dict:
    event = copy.deepcopy(load_event("reactivate-access-key.json"))
    event["detail"]["eventName"] = "UpdateAccessKey"
    event["detail"]["requestParameters"]["status"] = "Inactive"
    event["detail"]["recipientAccountId"] = MEMBER
    event["detail"]["userIdentity"] = {
        "type": "AssumedRole",
        "arn": arn,
        "accountId": MEMBER,
        "sessionContext": {"sessionIssuer": {"type": "Role", "arn": issuer, "accountId": MEMBER}},
    }
    return event


@pytest.mark.parametrize(
    "arn, issuer, own",
    [
        (f"arn:aws:sts::{MEMBER}:assumed-role/compliance-remediator-member/c41f9e27", MEMBER_ROLE_ISSUER, True),
        # the same role name elsewhere, or another account's role, is not ours
        (
            f"arn:aws:sts::{MEMBER}:assumed-role/compliance-remediator-member/x",
            f"arn:aws:iam::{MEMBER}:role/compliance-remediator-member",
            False,
        ),
        (
            f"arn:aws:sts::{MEMBER}:assumed-role/compliance-remediator-member/x",
            "arn:aws:iam::999988887777:role/compliance-remediator/compliance-remediator-member",
            False,
        ),
        (f"arn:aws:sts::{MEMBER}:assumed-role/admin/x", f"arn:aws:iam::{MEMBER}:role/admin", False),
    ],
)
def test_a_member_role_session_fixing_a_key_is_our_own_action(arn: str, issuer: str, own: bool) -> None:
    settings = Settings.from_env({"MEMBER_ROLE_NAME": "compliance-remediator-member"})
    record = parse_envelope(_update_key_by(arn, issuer))
    decision = decide(record, EvalContext(settings, AssumedState(), None), ("access_keys",))
    assert (decision.skipped == OWN_ACTION) is own


def test_organization_mode_off_acts_with_the_hub_clients(monkeypatch) -> None:
    monkeypatch.delenv("MEMBER_ROLE_NAME", raising=False)
    hub = AwsClients()
    record = parse_envelope(load_event("organization/create-access-key-in-member-account.json"))
    target = accounts.target_for(record, hub, Settings())
    assert target.aws is hub and not target.member and target.unreachable is None


def test_per_account_modes_come_from_one_json_parameter(monkeypatch) -> None:
    accounts._LOOKUPS.clear()
    with mock_aws():
        boto3.client("ssm").put_parameter(
            Name="/remediator/account-modes",
            Type="String",
            Value=json.dumps({MEMBER: {"access_keys": "off", "console_mfa": "bogus"}}),
        )
        monkeypatch.setenv("ACCOUNT_MODES_PARAMETER", "/remediator/account-modes")
        assert accounts.account_modes(AwsClients(), MEMBER) == {"access_keys": Mode.OFF}
        assert accounts.account_modes(AwsClients(), "444455556666") == {}
        accounts._LOOKUPS.clear()
        boto3.client("ssm").put_parameter(
            Name="/remediator/account-modes", Type="String", Value="{not json", Overwrite=True
        )
        assert accounts.account_modes(AwsClients(), MEMBER) == {}  # bad input: the stack's modes, no crash
        monkeypatch.setenv("ACCOUNT_MODES_PARAMETER", "/remediator/missing")
        assert accounts.account_modes(AwsClients(), MEMBER) == {}
    accounts._LOOKUPS.clear()


def test_a_change_to_the_member_role_is_remediator_tampering() -> None:
    event = copy.deepcopy(load_event("put-role-policy-admin-inline.json"))
    event["detail"]["recipientAccountId"] = MEMBER
    event["detail"]["requestParameters"]["roleName"] = "compliance-remediator-member"
    settings = Settings.from_env({"MEMBER_ROLE_NAME": "compliance-remediator-member"})
    decision = decide(parse_envelope(event), EvalContext(settings, AssumedState(), None), ("remediator_tampering",))
    [finding] = decision.findings
    assert finding.resource.arn == MEMBER_ROLE_ISSUER and finding.resource.account == MEMBER
    off = decide(parse_envelope(event), EvalContext(Settings(), AssumedState(), None), ("remediator_tampering",))
    assert off.findings == []  # organization mode off: just another role


def test_messages_name_a_member_account_by_its_organization_name() -> None:
    from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
    from remediator.notify import email_text

    accounts._LOOKUPS.clear()
    with mock_aws():
        organizations = boto3.client("organizations")
        organizations.create_organization(FeatureSet="ALL")
        created = organizations.create_account(AccountName="payments-prod", Email="payments@example.com")
        member = created["CreateAccountStatus"]["AccountId"]
        assert accounts.account_name(AwsClients(), member) == "payments-prod"
        assert accounts.account_name(AwsClients(), "444455556666") is None  # not in the organization
    finding = Finding("access_keys", Severity.HIGH, "a key", Resource("user", "bob", member), "deactivate it")
    finding.details["account_name"] = "payments-prod"
    text = email_text(finding, None, ActionResult(Outcome.NOTIFIED, "reported only."))
    assert f"account {member} (payments-prod)" in text
    accounts._LOOKUPS.clear()


def _organization_with(depth: int) -> tuple[str, list[str], str]:
    """A moto organization: the root, `depth` OUs nested one in the other (outermost first), and an account
    moved into the innermost."""
    organizations = boto3.client("organizations")
    organizations.create_organization(FeatureSet="ALL")
    root = organizations.list_roots()["Roots"][0]["Id"]
    units, parent = [], root
    for level in range(depth):
        created = organizations.create_organizational_unit(ParentId=parent, Name=f"ou{level}")
        parent = created["OrganizationalUnit"]["Id"]
        units.append(parent)
    status = organizations.create_account(Email="workloads@example.com", AccountName="workloads")
    account = status["CreateAccountStatus"]["AccountId"]
    organizations.move_account(AccountId=account, SourceParentId=root, DestinationParentId=parent)
    return root, units, account


def _modes_parameter(monkeypatch, table: dict) -> None:
    boto3.client("ssm").put_parameter(Name="/remediator/account-modes", Type="String", Value=json.dumps(table))
    monkeypatch.setenv("ACCOUNT_MODES_PARAMETER", "/remediator/account-modes")


def _counting_list_parents(hub: AwsClients) -> list[str]:
    calls: list[str] = []
    hub._session.events.register(
        "provide-client-params.organizations.ListParents", lambda params, **_: calls.append(params["ChildId"])
    )
    return calls


def test_an_account_in_an_ou_gets_the_ous_modes_and_its_own_entry_wins(monkeypatch) -> None:
    accounts._LOOKUPS.clear()
    with mock_aws():
        root, [outer, inner], account = _organization_with(2)
        _modes_parameter(
            monkeypatch,
            {
                root: {"access_keys": "notify", "console_mfa": "notify", "role_trust": "notify", "s3_public": "off"},
                outer: {"access_keys": "off", "console_mfa": "off", "role_trust": "remediate"},
                inner: {"access_keys": "remediate", "console_mfa": "remediate"},
                account: {"console_mfa": "off"},
            },
        )
        hub = AwsClients()
        calls = _counting_list_parents(hub)
        assert accounts.account_modes(hub, account) == {
            "access_keys": Mode.REMEDIATE,  # the nested OU wins over its parent OU
            "console_mfa": Mode.OFF,  # the account's own entry wins over every OU
            "role_trust": Mode.REMEDIATE,  # the outer OU wins over the root
            "s3_public": Mode.OFF,  # the root's
        }
        assert calls == [account, inner, outer]  # walked up to the root once...
        accounts.account_modes(hub, account)
        assert len(calls) == 3  # ...and kept: the next event reads no parent again
        other = boto3.client("organizations").create_account(Email="x@example.com", AccountName="x")
        elsewhere = other["CreateAccountStatus"]["AccountId"]  # left at the root: the root's modes only
        assert accounts.account_modes(hub, elsewhere)["access_keys"] == Mode.NOTIFY
    accounts._LOOKUPS.clear()


def test_without_an_ou_key_no_parent_is_read(monkeypatch) -> None:
    accounts._LOOKUPS.clear()
    with mock_aws():
        _, _, account = _organization_with(1)
        _modes_parameter(monkeypatch, {account: {"access_keys": "off"}, "ou-not-an-id": {"access_keys": "remediate"}})
        hub = AwsClients()
        calls = _counting_list_parents(hub)
        assert accounts.account_modes(hub, account) == {"access_keys": Mode.OFF}
        assert calls == []
    accounts._LOOKUPS.clear()


def test_parents_that_cannot_be_read_leave_the_accounts_own_entry(monkeypatch, caplog) -> None:
    accounts._LOOKUPS.clear()
    with mock_aws():  # no organization: ListParents fails (as it does outside the management account)
        _modes_parameter(
            monkeypatch,
            {"ou-ab12-cdef3456": {"access_keys": "remediate", "console_mfa": "off"}, MEMBER: {"access_keys": "off"}},
        )
        assert accounts.account_modes(AwsClients(), MEMBER) == {"access_keys": Mode.OFF}
        assert "cannot read the OUs of account 111122223333" in caplog.text
    accounts._LOOKUPS.clear()
