"""The guardrail_tampering Lambda handler end to end in a moto account: what it restarts, what it only reports."""

from __future__ import annotations

import copy
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox, enacted

pytestmark = pytest.mark.integration

LAMBDA_CONTEXT = LocalLambdaContext(function_name="guardrail_tampering")


@pytest.fixture
def stack(monkeypatch):
    with mock_aws():
        inbox = Inbox(monkeypatch)
        monkeypatch.setenv("MODE_GUARDRAIL_TAMPERING", "remediate")
        yield {
            "iam": boto3.client("iam"),
            "inbox": inbox,
            "handler": load_function("guardrail_tampering").lambda_handler,
        }


def _handled(stack: dict[str, Any], event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler's single finding and the single message it published."""
    result = stack["handler"](event, LAMBDA_CONTEXT)
    [finding] = result["findings"]
    [message] = stack["inbox"].messages()
    return finding, message


def test_stopped_logging_is_restarted_verified_and_reported(stack) -> None:
    event = enacted(stack["iam"], "stop-logging.json")
    trail = event["detail"]["requestParameters"]["name"]
    cloudtrail = boto3.client("cloudtrail")
    assert cloudtrail.get_trail_status(Name=trail)["IsLogging"] is False

    finding, message = _handled(stack, event)

    assert cloudtrail.get_trail_status(Name=trail)["IsLogging"] is True
    assert finding["outcome"] == "verified" and finding["severity"] == "critical"
    assert message["MessageAttributes"]["rule"]["Value"] == "guardrail_tampering"
    assert "mallory" in message["Message"] and "aws cloudtrail stop-logging" in message["Message"]


def test_in_notify_mode_the_trail_stays_stopped_and_the_message_says_what_remediate_would_do(
    stack, monkeypatch
) -> None:
    monkeypatch.setenv("MODE_GUARDRAIL_TAMPERING", "notify")
    event = enacted(stack["iam"], "stop-logging.json")
    trail = event["detail"]["requestParameters"]["name"]

    finding, message = _handled(stack, event)

    assert boto3.client("cloudtrail").get_trail_status(Name=trail)["IsLogging"] is False
    assert finding["outcome"] == "notified"
    assert "would start logging of trail" in message["Message"]
    assert "aws cloudtrail start-logging --name" in message["Message"]


def test_a_disabled_guardduty_detector_is_enabled_again(stack) -> None:
    guardduty = boto3.client("guardduty", region_name="eu-west-1")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    guardduty.update_detector(DetectorId=detector, Enable=False)
    event = copy.deepcopy(load_event("delete-guardduty-detector.json"))
    event["detail"].update(eventName="UpdateDetector", requestParameters={"detectorId": detector, "enable": False})

    finding, message = _handled(stack, event)

    assert guardduty.get_detector(DetectorId=detector)["Status"] == "ENABLED"
    assert finding["outcome"] == "verified"
    assert "aws guardduty update-detector" in message["Message"]


def test_a_stopped_config_recorder_is_recording_again(stack) -> None:
    event = enacted(stack["iam"], "stop-configuration-recorder.json")

    finding, _ = _handled(stack, event)

    [status] = boto3.client("config").describe_configuration_recorder_status(ConfigurationRecorderNames=["default"])[
        "ConfigurationRecordersStatus"
    ]
    assert status["recording"] is True and finding["outcome"] == "verified"


def test_a_short_lifecycle_on_a_trail_bucket_is_reported_with_its_rule_and_left_in_place(stack) -> None:
    event = enacted(stack["iam"], "put-bucket-lifecycle-short-expiry.json")

    finding, message = _handled(stack, event)

    rules = boto3.client("s3").get_bucket_lifecycle_configuration(Bucket="org-audit-trail-logs")["Rules"]
    assert [rule["Expiration"] for rule in rules] == [{"Days": 3}]
    assert finding["severity"] == "critical" and finding["outcome"] == "skipped"
    assert '"Expiration":{"Days":3}' in message["Message"] and "delete-bucket-lifecycle" in message["Message"]


@pytest.mark.parametrize(
    "event_file, command",
    [
        ("delete-trail.json", "aws cloudtrail create-trail --name eu-audit"),
        ("delete-guardduty-detector.json", "aws guardduty create-detector --enable"),
        ("delete-flow-logs.json", "aws ec2 create-flow-logs"),
        ("put-event-selectors-read-only.json", "aws cloudtrail put-event-selectors --trail-name org-audit"),
    ],
)
def test_what_cannot_be_undone_safely_is_reported_with_the_command_and_nothing_changes(
    stack, event_file, command
) -> None:
    cloudtrail = boto3.client("cloudtrail")
    before = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]

    finding, message = _handled(stack, load_event(event_file))

    assert finding["outcome"] == "skipped" and "no safe automatic remediation" in finding["detail"]
    assert command in message["Message"]
    assert cloudtrail.describe_trails(includeShadowTrails=True)["trailList"] == before
