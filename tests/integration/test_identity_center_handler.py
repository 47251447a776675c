"""The identity_center Lambda handler end to end on moto's Identity Center: the assignment or the policy is really
gone from the permission set, and the message names the original and the command that restores it."""

from __future__ import annotations

import json

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_function
from tests.integration.conftest import Inbox, enacted

pytestmark = pytest.mark.integration
CONTEXT = LocalLambdaContext(function_name="identity-center")


@pytest.fixture
def stack(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        monkeypatch.setenv("MODE_IDENTITY_CENTER", "remediate")
        inbox = Inbox(monkeypatch)
        yield (
            boto3.client("iam"),
            boto3.client("sso-admin", region_name="eu-west-1"),
            inbox,
            (load_function("identity_center").lambda_handler),
        )


def _key(event: dict) -> dict[str, str]:
    params = event["detail"]["requestParameters"]
    return {"InstanceArn": params["instanceArn"], "PermissionSetArn": params["permissionSetArn"]}


def test_an_admin_assignment_is_deleted_and_the_message_says_how_to_restore_it(stack) -> None:
    iam, sso, inbox, handler = stack
    event = enacted(iam, "create-account-assignment-admin-permission-set.json")
    result = handler(event, CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert sso.list_account_assignments(**_key(event), AccountId="210987654321")["AccountAssignments"] == []
    [message] = inbox.messages()
    assert message["MessageAttributes"]["severity"]["Value"] == "critical"
    assert "aws sso-admin create-account-assignment" in message["Message"]


def test_administrator_access_is_detached_and_the_set_re_provisioned(stack) -> None:
    iam, sso, inbox, handler = stack
    event = enacted(iam, "attach-administrator-access-to-permission-set.json")
    result = handler(event, CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert sso.list_managed_policies_in_permission_set(**_key(event))["AttachedManagedPolicies"] == []
    [message] = inbox.messages()
    assert "Re-provisioning" in message["Message"] and "attach-managed-policy-to-permission-set" in message["Message"]


def test_an_escalating_inline_policy_is_reported_only_until_its_escalation_mode_says_remediate(
    stack, monkeypatch
) -> None:
    iam, sso, inbox, handler = stack
    event = enacted(iam, "put-inline-policy-to-permission-set-escalation.json")
    assert handler(event, CONTEXT)["findings"][0]["outcome"] == "notified"
    assert sso.get_inline_policy_for_permission_set(**_key(event))["InlinePolicy"]
    assert "IdentityCenterEscalationMode" in inbox.messages()[0]["Message"]

    monkeypatch.setenv("MODE_IDENTITY_CENTER_ESCALATION", "remediate")
    event["detail"]["eventID"] = "a-second-delivery-id"
    assert handler(event, CONTEXT)["findings"][0]["outcome"] == "verified"
    assert sso.get_inline_policy_for_permission_set(**_key(event))["InlinePolicy"] == ""
    [message] = inbox.messages()
    original = json.loads(event["detail"]["requestParameters"]["inlinePolicy"])
    assert json.dumps(original, separators=(",", ":")) in message["Message"]  # the original, to restore by hand


def test_a_removed_boundary_on_an_admin_set_is_reported_critical_with_nothing_changed(stack) -> None:
    iam, sso, inbox, handler = stack
    event = enacted(iam, "delete-permissions-boundary-from-permission-set.json")
    assert handler(event, CONTEXT)["findings"][0]["outcome"] == "skipped"
    assert len(sso.list_managed_policies_in_permission_set(**_key(event))["AttachedManagedPolicies"]) == 1
    assert inbox.messages()[0]["MessageAttributes"]["severity"]["Value"] == "critical"
