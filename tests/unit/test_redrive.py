"""`remediator redrive`: both kinds of dead-letter queue, delete only after the function handled the event."""

from __future__ import annotations

import io
import json

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from moto import mock_aws

from remediator.cli import main
from remediator.redrive import queue_region, read_message, redrive
from tests.conftest import load_event

FUNCTION = "arn:aws:lambda:us-east-1:123456789012:function:stack-AccessKeysFunction-AbC"
EVENT = load_event("create-access-key-for-another-user.json")


def _on_failure(event: dict) -> str:
    """What Lambda writes to an on-failure destination after its retries."""
    return json.dumps(
        {
            "version": "1.0",
            "timestamp": "2026-11-24T09:16:00.000Z",
            "requestContext": {
                "requestId": "r",
                "functionArn": f"{FUNCTION}:$LATEST",
                "condition": "RetriesExhausted",
                "approximateInvokeCount": 3,
            },
            "requestPayload": event,
            "responseContext": {"statusCode": 200, "functionError": "Unhandled"},
            "responsePayload": {"errorMessage": "Throttling"},
        }
    )


def _rule_dlq_attributes() -> dict:
    """What EventBridge attaches to a message it could not deliver."""
    return {
        "RULE_ARN": {"DataType": "String", "StringValue": "arn:aws:events:us-east-1:123456789012:rule/r"},
        "TARGET_ARN": {"DataType": "String", "StringValue": FUNCTION},
        "ERROR_CODE": {"DataType": "String", "StringValue": "Throttling"},
    }


def _invoke_ok(stub: Stubber, event: dict, function: str = FUNCTION) -> None:
    stub.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(b"{}"), 2)},
        {"FunctionName": function, "InvocationType": "RequestResponse", "Payload": json.dumps(event).encode()},
    )


@pytest.fixture
def queue():
    with mock_aws():
        sqs = boto3.client("sqs", region_name="us-east-1")
        url = sqs.create_queue(QueueName="dlq")["QueueUrl"]
        yield sqs, url


def _left(sqs, url) -> int:
    attributes = sqs.get_queue_attributes(
        QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
    )
    return sum(int(v) for v in attributes["Attributes"].values())


def test_both_kinds_of_message_are_handed_back_and_then_deleted(queue) -> None:
    sqs, url = queue
    other = {**EVENT, "id": "second"}
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EVENT), MessageAttributes=_rule_dlq_attributes())
    sqs.send_message(QueueUrl=url, MessageBody=_on_failure(other))
    lambda_client = boto3.client("lambda", region_name="us-east-1")
    out, err = io.StringIO(), io.StringIO()
    with Stubber(lambda_client) as stub:
        _invoke_ok(stub, EVENT)
        _invoke_ok(stub, other)  # the on-failure record's function ARN, without $LATEST
        status = redrive(url, sqs, lambda_client, out=out, err=err)
        stub.assert_no_pending_responses()
    assert status == 0 and err.getvalue() == ""
    assert out.getvalue().count("redriven CreateAccessKey") == 2 and "2 redriven, 0 kept" in out.getvalue()
    assert _left(sqs, url) == 0


def test_a_message_whose_event_fails_again_stays(queue) -> None:
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=_on_failure(EVENT))
    sqs.send_message(QueueUrl=url, MessageBody="not json")
    lambda_client = boto3.client("lambda", region_name="us-east-1")
    out, err = io.StringIO(), io.StringIO()
    with Stubber(lambda_client) as stub:
        stub.add_response(
            "invoke",
            {
                "StatusCode": 200,
                "FunctionError": "Unhandled",
                "Payload": StreamingBody(io.BytesIO(b'{"errorMessage": "still down"}'), 30),
            },
        )
        status = redrive(url, sqs, lambda_client, out=out, err=err)
    assert status == 1 and "0 redriven, 2 kept" in out.getvalue()
    assert "still down" in err.getvalue() and "body is not JSON" in err.getvalue()
    assert _left(sqs, url) == 2


def test_dry_run_lists_and_changes_nothing(queue) -> None:
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EVENT), MessageAttributes=_rule_dlq_attributes())
    lambda_client = boto3.client("lambda", region_name="us-east-1")
    out = io.StringIO()
    with Stubber(lambda_client):  # any invoke would fail: nothing is queued on the stub
        assert redrive(url, sqs, lambda_client, dry_run=True, out=out, err=io.StringIO()) == 0
    assert f"would redrive CreateAccessKey 0e6a2f1c-51d8-4b7e-a0c4-3f9e8d7c6b01 to {FUNCTION}" in out.getvalue()
    visible = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
    assert visible["Attributes"]["ApproximateNumberOfMessages"] == "1"  # released at once


def test_function_option_wins_and_a_rule_message_without_target_needs_it(queue) -> None:
    sqs, url = queue
    sqs.send_message(QueueUrl=url, MessageBody=json.dumps(EVENT))
    err = io.StringIO()
    assert redrive(url, sqs, boto3.client("lambda", region_name="us-east-1"), out=io.StringIO(), err=err) == 1
    assert "give --function" in err.getvalue()
    assert read_message({"Body": json.dumps(EVENT)}, "mine").function == "mine"


def test_the_cli_redrives_in_the_queues_region(monkeypatch, capsys) -> None:
    calls = {}

    def fake(queue_url, function, dry_run, limit, out, err):
        calls.update(queue=queue_url, function=function, dry_run=dry_run, limit=limit)
        return 0

    monkeypatch.setattr("remediator.redrive.run_cli", fake)
    url = "https://sqs.eu-west-1.amazonaws.com/123456789012/dlq"
    assert main(["redrive", "--queue", url, "--function", "f", "--dry-run", "--max", "5"]) == 0
    assert calls == {"queue": url, "function": "f", "dry_run": True, "limit": 5}
    assert queue_region(url) == "eu-west-1"
