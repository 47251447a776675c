"""The other_credentials Lambda handler end to end in a moto account: the credential really goes Inactive (or the
user's older sessions are really denied), and the message says who, what, and how to undo it."""

from __future__ import annotations

import boto3
import pytest
from moto import mock_aws

from remediator.rules.other_credentials import REVOKE_POLICY
from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_function
from tests.integration.conftest import Inbox, enacted

pytestmark = pytest.mark.integration
CONTEXT = LocalLambdaContext(function_name="other-credentials")


@pytest.fixture
def stack(monkeypatch):
    with mock_aws():
        monkeypatch.setenv("MODE_OTHER_CREDENTIALS", "remediate")
        inbox = Inbox(monkeypatch)
        yield boto3.client("iam"), inbox, load_function("other_credentials").lambda_handler


def _attributes(message: dict) -> dict[str, str]:
    return {name: value["Value"] for name, value in message["MessageAttributes"].items()}


def test_an_ssh_key_for_another_user_is_deactivated_and_the_message_says_how_to_undo(stack) -> None:
    iam, inbox, handler = stack
    event = enacted(iam, "upload-ssh-public-key-for-another-user.json")
    key_id = event["detail"]["responseElements"]["sSHPublicKey"]["sSHPublicKeyId"]
    result = handler(event, CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert iam.list_ssh_public_keys(UserName="bob")["SSHPublicKeys"][0]["Status"] == "Inactive"
    [message] = inbox.messages()
    assert _attributes(message) == {
        "severity": "high",
        "rule": "other_credentials",
        "account": "123456789012",
        "action": "verified",
    }
    assert "alice created SSH public key" in message["Message"]
    assert (
        f"aws iam update-ssh-public-key --ssh-public-key-id {key_id} --user-name bob --status Active"
        in (message["Message"])
    )


def test_a_service_specific_credential_is_deactivated(stack) -> None:
    iam, inbox, handler = stack
    event = enacted(iam, "create-own-service-specific-credential.json")
    assert handler(event, CONTEXT)["findings"][0]["outcome"] == "verified"
    [credential] = iam.list_service_specific_credentials(UserName="alice")["ServiceSpecificCredentials"]
    assert credential["Status"] == "Inactive"
    assert _attributes(inbox.messages()[0])["severity"] == "medium"


def test_a_federation_token_denies_the_callers_older_sessions_and_says_what_else_ends(stack) -> None:
    iam, inbox, handler = stack
    event = enacted(iam, "get-federation-token.json")
    assert handler(event, CONTEXT)["findings"][0]["outcome"] == "verified"
    assert iam.list_user_policies(UserName="deploy-bot")["PolicyNames"] == [REVOKE_POLICY]
    [message] = inbox.messages()
    assert "other temporary sessions" in message["Message"]
    assert f"aws iam delete-user-policy --user-name deploy-bot --policy-name {REVOKE_POLICY}" in message["Message"]


def test_notify_mode_reports_and_changes_nothing(stack, monkeypatch) -> None:
    iam, inbox, handler = stack
    monkeypatch.setenv("MODE_OTHER_CREDENTIALS", "notify")
    event = enacted(iam, "upload-signing-certificate-by-a-role.json")
    handler(event, CONTEXT)
    assert iam.list_signing_certificates(UserName="dave")["Certificates"][0]["Status"] == "Active"
    [message] = inbox.messages()
    assert "Remediate mode would: set signing certificate" in message["Message"]
