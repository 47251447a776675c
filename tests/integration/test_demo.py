"""`remediator demo --json`: the README's first command really changes a moto account and really publishes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.integration

REMEDIATOR = Path(sys.executable).with_name("remediator")


@pytest.fixture(scope="module")
def report() -> dict:
    command = [str(REMEDIATOR)] if REMEDIATOR.exists() else [sys.executable, "-m", "remediator"]
    result = subprocess.run([*command, "demo", "--json"], capture_output=True, text=True, timeout=180, check=True)
    return json.loads(result.stdout)


def _event(report: dict, file: str) -> dict:
    return next(event for event in report["events"] if event["file"] == file)


def test_a_key_really_went_inactive_and_a_message_really_arrived(report) -> None:
    event = _event(report, "create-access-key-for-another-user.json")
    assert event["before"].endswith(": Active") and event["after"].endswith(": Inactive")
    [finding] = event["findings"]
    assert finding["outcome"] == "verified"
    [message] = event["notifications"]
    assert message["attributes"] == {
        "severity": "high",
        "rule": "access_keys",
        "account": "123456789012",
        "action": "verified",
    }
    assert "Undo:" in message["text"]


def test_break_glass_key_is_left_alone_but_reported(report) -> None:
    event = _event(report, "create-access-key-for-break-glass-user.json")
    assert event["after"].endswith(": Active")
    assert event["findings"][0]["exempt"] is True
    assert event["notifications"][0]["attributes"]["action"] == "exempt"


def test_every_demo_event_was_handled_and_reported(report) -> None:
    for event in report["events"]:
        assert event["functions"], f"{event['file']} reached no function"
        assert len(event["notifications"]) == len(event["findings"]), event["file"]


@pytest.mark.parametrize(
    "file, after",
    [
        ("create-roles-anywhere-trust-anchor.json", "Roles Anywhere trust anchor contractor-ca: disabled"),
        (
            "get-federation-token.json",
            "inline policies of user deploy-bot: ['compliance-remediator-revoke-older-sessions']",
        ),
        (
            "create-account-assignment-admin-permission-set.json",
            "assignments of the permission set in 210987654321: []",
        ),
    ],
)
def test_other_credentials_and_identity_center_really_change_the_account(report, file: str, after: str) -> None:
    event = _event(report, file)
    assert event["before"] != event["after"] == after
    assert [finding["outcome"] for finding in event["findings"]] == ["verified"]


def test_an_instance_without_a_role_really_gets_the_baseline_profile_and_imdsv2(report) -> None:
    event = _event(report, "run-instances-without-role.json")
    assert event["before"].endswith("profile none, httpTokens optional")
    assert event["after"].endswith("profile compliance-remediator-ec2-baseline, httpTokens required")
    [finding] = event["findings"]
    assert finding["outcome"] == "verified" and "disassociate-iam-instance-profile" in finding["detail"]
    [message] = event["notifications"]
    assert message["attributes"]["rule"] == "ec2_without_role" and message["attributes"]["action"] == "verified"
    # The launch template gave its instance a profile: nothing to report.
    assert _event(report, "run-instances-from-launch-template.json")["findings"] == []


@pytest.mark.parametrize(
    "file, before, after",
    [
        (
            "put-bucket-policy-public-read.json",
            "Block Public Access of bucket acme-reports-eu: 0 of 4 on",
            "Block Public Access of bucket acme-reports-eu: 4 of 4 on",
        ),
        (
            "delete-bucket-public-access-block.json",
            "Block Public Access of bucket acme-invoices: none",
            "Block Public Access of bucket acme-invoices: 4 of 4 on",
        ),
    ],
)
def test_a_public_bucket_really_gets_its_block_back(report, file: str, before: str, after: str) -> None:
    event = _event(report, file)
    assert (event["before"], event["after"]) == (before, after)
    assert [finding["outcome"] for finding in event["findings"]] == ["verified"]
    [message] = event["notifications"]
    assert message["attributes"]["rule"] == "s3_public"


def test_only_the_rules_opened_to_anywhere_are_revoked(report) -> None:
    event = _event(report, "authorize-security-group-ingress-ssh-from-anywhere.json")
    rules_after = event["after"].split(": ", 1)[1]
    assert "tcp 22-22" not in rules_after
    assert "'tcp 443-443 from 0.0.0.0/0'" in rules_after and "'tcp 443-443 from 10.0.0.0/8'" in rules_after
    assert [finding["outcome"] for finding in event["findings"]] == ["verified"]
    assert event["notifications"][0]["attributes"]["rule"] == "open_security_group"
