"""Organization mode end to end in moto with two accounts: the hub (123456789012, where the function runs)
and a member (111122223333). An event recorded in the member is fixed in the member through its member role,
never in the hub; a member the hub cannot act in is one loud message per account and hour, and the finding is
still reported. moto's STS would let anyone assume any role, so `enforce_trust` adds the check AWS makes."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from remediator import accounts
from remediator.store import table_definition
from remediator_dev.demo import LocalLambdaContext
from remediator_dev.sts_trust import enforce_trust
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

pytestmark = pytest.mark.integration

HUB, MEMBER, ORG = "123456789012", "111122223333", "o-a1b2c3d4e5"
STACK_FUNCTION = "remediator-access_keys"
HUB_ROLE = f"arn:aws:iam::{HUB}:role/compliance-remediator/{STACK_FUNCTION}"
MEMBER_ROLE = f"arn:aws:iam::{MEMBER}:role/compliance-remediator/compliance-remediator-member"
EVENT = "organization/create-access-key-in-member-account.json"
ALL = [{"Effect": "Allow", "Action": "*", "Resource": "*"}]


def _trust(principal: str) -> str:
    return json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Principal": {"AWS": principal},
                    "Action": "sts:AssumeRole",
                    "Condition": {"StringEquals": {"aws:PrincipalOrgID": ORG}},
                }
            ],
        }
    )


def _admin(account: str) -> dict[str, str]:
    """Credentials acting in `account` (moto: a role assumed in another account acts in that account)."""
    credentials = boto3.client("sts").assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="setup")
    c = credentials["Credentials"]
    return {
        "aws_access_key_id": c["AccessKeyId"],
        "aws_secret_access_key": c["SecretAccessKey"],
        "aws_session_token": c["SessionToken"],
    }


class Org:
    """The two accounts, user bob with a fresh key in each, and the handler running as the hub's function role."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.hub_iam = boto3.client("iam")
        self.member_iam = boto3.client("iam", **_admin(MEMBER))
        self.hub_iam.create_role(
            RoleName=STACK_FUNCTION,
            Path="/compliance-remediator/",
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"AWS": HUB}, "Action": "sts:AssumeRole"}]}
            ),
        )
        self.hub_iam.put_role_policy(
            RoleName=STACK_FUNCTION,
            PolicyName="all",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": ALL}),
        )
        self.keys = {}
        for name, iam in (("hub", self.hub_iam), ("member", self.member_iam)):
            iam.create_user(UserName="bob")
            self.keys[name] = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
        boto3.client("dynamodb").create_table(**table_definition("findings"))
        hub = boto3.client("sts").assume_role(RoleArn=HUB_ROLE, RoleSessionName=STACK_FUNCTION)["Credentials"]
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", hub["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", hub["SecretAccessKey"])
        monkeypatch.setenv("AWS_SESSION_TOKEN", hub["SessionToken"])
        for name, value in {
            "MODE_ACCESS_KEYS": "remediate",
            "MEMBER_ROLE_NAME": "compliance-remediator-member",
            "OWN_ROLE_PREFIX": f"arn:aws:iam::{HUB}:role/compliance-remediator/",
            "OWN_FUNCTION_NAMES": STACK_FUNCTION,
            "FINDINGS_TABLE": "findings",
        }.items():
            monkeypatch.setenv(name, value)
        self.inbox = Inbox(monkeypatch)
        self.handler = load_function("access_keys").lambda_handler

    def member_role(self, trusted: str = HUB_ROLE, statements: list[dict[str, Any]] = ALL) -> None:
        self.member_iam.create_role(
            RoleName="compliance-remediator-member",
            Path="/compliance-remediator/",
            AssumeRolePolicyDocument=_trust(trusted),
        )
        self.member_iam.put_role_policy(
            RoleName="compliance-remediator-member",
            PolicyName="remediate",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )

    def event(self, event_id: str = "c41f9e27-8d3a-4b65-a0e1-2f7d6c5b4a02") -> dict[str, Any]:
        event = copy.deepcopy(load_event(EVENT))
        event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = self.keys["member"]
        event["detail"]["eventID"] = event_id
        return event

    def status(self, iam: Any) -> str:
        return str(iam.list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"])

    def run(self, event: dict[str, Any]) -> dict[str, Any]:
        result: dict[str, Any] = self.handler(event, LocalLambdaContext(function_name=STACK_FUNCTION))
        return result


@pytest.fixture
def org(monkeypatch):
    accounts._MEMBERS.clear()
    accounts._ALERTED.clear()
    with mock_aws():
        yield Org(monkeypatch)
    accounts._MEMBERS.clear()
    accounts._ALERTED.clear()


def _cannot_act(messages: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [m for m in messages if m["MessageAttributes"]["rule"]["Value"] == "cannot_act"]


def test_member_event_is_fixed_in_the_member_not_in_the_hub(org) -> None:
    org.member_role()
    with enforce_trust(ORG) as assumed:
        result = org.run(org.event())
    assert result["findings"][0]["outcome"] == "verified"
    assert org.status(org.member_iam) == "Inactive"
    assert org.status(org.hub_iam) == "Active"  # the hub's own bob is untouched
    assert assumed == [MEMBER_ROLE]
    [message] = org.inbox.messages()
    assert message["MessageAttributes"]["account"]["Value"] == MEMBER


def test_credentials_are_reused_for_a_second_event_of_the_same_account(org) -> None:
    org.member_role()
    with enforce_trust(ORG) as assumed:
        org.run(org.event())
        org.member_iam.update_access_key(UserName="bob", AccessKeyId=org.keys["member"], Status="Active")
        second = org.run(org.event("d52a0f38-9e4b-4c76-b1f2-3a8e7d6c5b03"))
    assert second["findings"][0]["outcome"] == "verified"
    assert org.status(org.member_iam) == "Inactive"
    assert assumed == [MEMBER_ROLE]  # one AssumeRole for both events


def test_hub_account_event_needs_no_assume_role(org) -> None:
    event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = org.keys["hub"]
    with enforce_trust(ORG) as assumed:
        result = org.run(event)
    assert result["findings"][0]["outcome"] == "verified"
    assert org.status(org.hub_iam) == "Inactive" and org.status(org.member_iam) == "Active"
    assert assumed == []


def _assert_loud(org, result: dict[str, Any], why: str) -> None:
    [finding] = result["findings"]
    assert finding["outcome"] == "failed" and f"cannot act in account {MEMBER}" in finding["detail"]
    assert org.status(org.member_iam) == "Active"
    messages = org.inbox.messages()
    [alert] = _cannot_act(messages)
    assert alert["Subject"] == f"[CRITICAL] cannot act in account {MEMBER}"
    assert why in alert["Message"] and MEMBER_ROLE in alert["Message"]
    [reported] = [m for m in messages if m["MessageAttributes"]["rule"]["Value"] == "access_keys"]
    assert reported["MessageAttributes"]["action"]["Value"] == "failed"  # the finding itself, not remediated


def test_missing_member_role_is_one_critical_message_per_account_and_hour(org) -> None:
    with enforce_trust(ORG):
        _assert_loud(org, org.run(org.event()), "AccessDenied")
        org.run(org.event("d52a0f38-9e4b-4c76-b1f2-3a8e7d6c5b03"))
        assert _cannot_act(org.inbox.messages()) == []  # the same container: quiet for the hour
        accounts._ALERTED.clear()  # another container: the conditional write in the findings table holds
        org.run(org.event("e63b1a49-0f5c-4d87-c2a3-4b9f8e7d6c04"))
        assert _cannot_act(org.inbox.messages()) == []


def test_member_role_not_trusting_the_hub_fails_loudly(org) -> None:
    org.member_role(trusted=f"arn:aws:iam::{HUB}:role/compliance-remediator/someone-else")
    with enforce_trust(ORG):
        _assert_loud(org, org.run(org.event()), "not authorized to perform: sts:AssumeRole")


def test_member_role_outside_the_organization_fails_loudly(org) -> None:
    org.member_role()
    with enforce_trust("o-someotherorg1"):
        _assert_loud(org, org.run(org.event()), "AccessDenied")


def test_member_role_lacking_a_permission_fails_loudly(org) -> None:
    org.member_role(
        statements=[{"Effect": "Allow", "Action": ["iam:ListAccessKeys", "iam:ListUserTags"], "Resource": "*"}]
    )
    with enforce_trust(ORG), enable_iam_authentication():
        result = org.run(org.event())
    [finding] = result["findings"]
    assert finding["outcome"] == "failed"
    assert org.status(org.member_iam) == "Active"
    [alert] = _cannot_act(org.inbox.messages())
    assert "AccessDenied" in alert["Message"] and "access_keys could not" in alert["Message"]
