"""The root_activity Lambda handler in a moto account: one message per root session, every call a finding."""

from __future__ import annotations

import copy
import uuid

import boto3
import pytest
from moto import mock_aws

from remediator.store import table_definition
from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

LAMBDA_CONTEXT = LocalLambdaContext(function_name="root-activity")
CALLS = ("ListBuckets", "GetBucketAcl", "PutBucketPolicy")


@pytest.fixture
def stack(monkeypatch):
    """A moto account with the topic, a queue subscribed to it, and the findings table."""
    with mock_aws():
        boto3.client("dynamodb").create_table(**table_definition("findings"))
        monkeypatch.setenv("FINDINGS_TABLE", "findings")
        monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
        inbox = Inbox(monkeypatch)
        yield {"inbox": inbox, "handler": load_function("root_activity").lambda_handler}


def root_call(name: str, key: str = "ASIAZ3EXAMPLEROOT002") -> dict:
    event = copy.deepcopy(load_event("root-list-buckets-read-only.json"))
    event["detail"].update(eventName=name, eventID=str(uuid.uuid4()))
    event["detail"]["userIdentity"]["accessKeyId"] = key
    return event


def test_one_message_per_root_session_and_every_call_a_finding(stack) -> None:
    results = [stack["handler"](root_call(name), LAMBDA_CONTEXT) for name in CALLS]
    assert [len(result["findings"]) for result in results] == [1, 1, 1]
    assert [bool(result["findings"][0]["messageId"]) for result in results] == [True, False, False]
    [message] = stack["inbox"].messages()
    assert message["Finding"]["eventName"] == "ListBuckets" and message["Finding"]["severity"] == "critical"

    other = stack["handler"](root_call("ListUsers", key="ASIAZ3EXAMPLEROOT777"), LAMBDA_CONTEXT)
    assert other["findings"][0]["messageId"]
    [second] = stack["inbox"].messages()
    assert second["Finding"]["eventName"] == "ListUsers"


def test_a_retried_first_event_publishes_and_a_late_duplicate_does_not(stack, monkeypatch) -> None:
    """SNS down on a session's first call: the retry still sends the session's message (the session's claim is the
    event's own); a late duplicate of a delivered event sends nothing."""
    from botocore.exceptions import ClientError

    from remediator import runtime

    real_publish = runtime.publish
    failures = iter([ClientError({"Error": {"Code": "InternalError", "Message": "SNS down"}}, "Publish")])

    def flaky_publish(*args, **kwargs):
        error = next(failures, None)
        if error:
            raise error
        return real_publish(*args, **kwargs)

    monkeypatch.setattr(runtime, "publish", flaky_publish)
    first = root_call("ListBuckets")
    with pytest.raises(ClientError):
        stack["handler"](copy.deepcopy(first), LAMBDA_CONTEXT)
    assert stack["inbox"].messages() == []
    stack["handler"](copy.deepcopy(first), LAMBDA_CONTEXT)  # Lambda's retry
    assert len(stack["inbox"].messages()) == 1
    stack["handler"](copy.deepcopy(first), LAMBDA_CONTEXT)  # a late duplicate delivery
    assert stack["inbox"].messages() == []


def test_failed_sign_ins_each_get_their_own_message(stack) -> None:
    failed = copy.deepcopy(load_event("root-console-login.json"))
    failed["detail"]["responseElements"] = {"ConsoleLogin": "Failure"}
    stack["handler"](root_call("ListBuckets"), LAMBDA_CONTEXT)
    for _ in range(2):
        attempt = copy.deepcopy(failed)
        attempt["detail"]["eventID"] = str(uuid.uuid4())
        stack["handler"](attempt, LAMBDA_CONTEXT)
    messages = stack["inbox"].messages()
    assert sorted(m["Finding"]["severity"] for m in messages) == ["critical", "high", "high"]
