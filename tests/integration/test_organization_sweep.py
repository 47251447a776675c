"""The scheduled sweep in organization mode, in moto: every active account of the organization but the hub's
is swept through its member role (a few at once), findings are the member's, a member without its role is one
"cannot act" message, and one organization summary closes the run."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from remediator import accounts
from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.store import FindingsStore, table_definition
from remediator.sweep.members import sweep_members
from remediator_dev.sts_trust import enforce_trust
from tests.integration.conftest import Inbox
from tests.integration.test_organization_mode import _admin

pytestmark = pytest.mark.integration

HUB = "123456789012"
SWEEP_ROLE = f"arn:aws:iam::{HUB}:role/compliance-remediator/remediator-sweep"


def _member_role(account: str, org: str) -> None:
    trust = {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"AWS": f"arn:aws:iam::{HUB}:root"},
                "Action": "sts:AssumeRole",
                "Condition": {
                    "StringEquals": {"aws:PrincipalOrgID": org},
                    "ArnEquals": {"aws:PrincipalArn": SWEEP_ROLE},
                },
            }
        ],
    }
    iam = boto3.client("iam", **_admin(account))
    iam.create_role(
        RoleName="compliance-remediator-member",
        Path="/compliance-remediator/",
        AssumeRolePolicyDocument=json.dumps(trust),
    )
    iam.create_user(UserName="console-no-mfa")
    iam.create_login_profile(UserName="console-no-mfa", Password="Test-Passw0rd-123!")


def test_every_member_is_swept_through_its_role_and_one_summary_is_sent(monkeypatch) -> None:
    accounts._MEMBERS.clear()
    accounts._ALERTED.clear()
    with mock_aws():
        organizations = boto3.client("organizations")
        org = organizations.create_organization(FeatureSet="ALL")["Organization"]["Id"]
        reachable, missing = (
            organizations.create_account(AccountName=name, Email=f"{name}@example.com")["CreateAccountStatus"][
                "AccountId"
            ]
            for name in ("payments", "sandbox")
        )
        _member_role(reachable, org)
        boto3.client("iam").create_role(
            RoleName="remediator-sweep",
            Path="/compliance-remediator/",
            AssumeRolePolicyDocument=json.dumps(
                {"Statement": [{"Effect": "Allow", "Principal": {"AWS": HUB}, "Action": "sts:AssumeRole"}]}
            ),
        )
        boto3.client("dynamodb").create_table(**table_definition("findings"))
        inbox = Inbox(monkeypatch)
        credentials = boto3.client("sts").assume_role(RoleArn=SWEEP_ROLE, RoleSessionName="remediator-sweep")[
            "Credentials"
        ]
        hub = AwsClients(
            session=boto3.Session(
                aws_access_key_id=credentials["AccessKeyId"],
                aws_secret_access_key=credentials["SecretAccessKey"],
                aws_session_token=credentials["SessionToken"],
            )
        )
        monkeypatch.setenv("MEMBER_ROLE_NAME", "compliance-remediator-member")
        settings = Settings.from_env(
            {
                "OWN_ROLE_PREFIX": f"arn:aws:iam::{HUB}:role/compliance-remediator/",
                "OWN_FUNCTION_NAMES": "remediator-sweep",
            }
        )
        settings = Settings(**{**vars(settings), "topic_arn": inbox.topic_arn})
        with enforce_trust(org) as assumed:
            result = sweep_members(hub, settings, store=FindingsStore(hub.dynamodb, "findings"), workers=2)
        messages = inbox.messages()

    assert set(result.swept) == {reachable} and set(result.unreachable) == {missing}
    assert HUB not in result.swept  # the hub's own account is swept as before, not as a member
    [report] = result.swept.values()
    assert report.account == reachable and {f.resource.name for f in report.findings} >= {"console-no-mfa"}
    assert assumed == [f"arn:aws:iam::{reachable}:role/compliance-remediator/compliance-remediator-member"]
    subjects = [m["Subject"] for m in messages]
    assert f"[CRITICAL] cannot act in account {missing} (sandbox)" in subjects
    [summary] = [m for m in messages if m["Subject"].startswith("[CRITICAL] organization sweep: 1 accounts")]
    assert missing in summary["Message"] and "console_mfa" in summary["Message"]
    accounts._MEMBERS.clear()
    accounts._ALERTED.clear()
