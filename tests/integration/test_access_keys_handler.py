"""The access_keys Lambda handler end to end in a moto account: key, SNS message, logs and metrics."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

LAMBDA_CONTEXT = LocalLambdaContext(function_name="access-keys")


@pytest.fixture
def stack(monkeypatch):
    """A moto account with the topic, a queue subscribed to it, and user bob with a fresh key."""
    with mock_aws():
        iam = boto3.client("iam")
        inbox = Inbox(monkeypatch)
        iam.create_user(UserName="bob")
        key_id = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
        monkeypatch.setenv("MODE_ACCESS_KEYS", "remediate")
        yield {"iam": iam, "inbox": inbox, "key_id": key_id, "handler": load_function("access_keys").lambda_handler}


def _event_for(key_id: str) -> dict:
    event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = key_id
    return event


def _messages(stack) -> list[dict]:
    return stack["inbox"].messages()


def _metrics(output: str) -> dict[str, float]:
    """Metric name -> value from the powertools EMF lines on stdout."""
    values: dict[str, float] = {}
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            blob = json.loads(line)
            for definition in blob["_aws"]["CloudWatchMetrics"][0]["Metrics"]:
                value = blob[definition["Name"]]
                values[definition["Name"]] = sum(value) if isinstance(value, list) else value
    return values


def test_new_key_is_deactivated_verified_and_reported(stack, capsys) -> None:
    result = stack["handler"](_event_for(stack["key_id"]), LAMBDA_CONTEXT)
    key = stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]
    assert key["Status"] == "Inactive"
    assert result["findings"][0]["outcome"] == "verified"

    [message] = _messages(stack)
    attributes = {name: value["Value"] for name, value in message["MessageAttributes"].items()}
    assert attributes == {"severity": "high", "rule": "access_keys", "account": "123456789012", "action": "verified"}
    assert "bob" in message["Subject"] and "verified" in message["Subject"].lower()
    assert "alice created access key" in message["Message"]
    assert "aws iam update-access-key --user-name bob" in message["Message"]  # how to undo
    assert _metrics(capsys.readouterr().out) == {"EventsReceived": 1.0, "Findings": 1.0, "RemediationVerified": 1.0}


def test_notify_mode_reports_what_it_would_do_and_changes_nothing(stack, monkeypatch) -> None:
    monkeypatch.setenv("MODE_ACCESS_KEYS", "notify")
    stack["handler"](_event_for(stack["key_id"]), LAMBDA_CONTEXT)
    assert stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Active"
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "notified"
    assert "Remediate mode would: set access key" in message["Message"]


def test_access_denied_on_remediation_is_a_could_not_revert_message(stack, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    from remediator.aws import AwsClients

    def deny(self, **kwargs):
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "not allowed"}}, "UpdateAccessKey")

    real_iam = AwsClients.iam.func

    def iam_denying_updates(self):
        client = real_iam(self)
        client.update_access_key = deny.__get__(client)
        return client

    monkeypatch.setattr(AwsClients, "iam", property(iam_denying_updates))
    stack["handler"](_event_for(stack["key_id"]), LAMBDA_CONTEXT)
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "failed"
    assert message["MessageAttributes"]["severity"]["Value"] == "critical"
    assert "COULD NOT REMEDIATE" in message["Subject"] and "AccessDenied" in message["Message"]
    assert stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Active"


@pytest.mark.parametrize(
    "mutate, skipped, metric",
    [
        (lambda e: e.pop("detail"), "malformed: envelope has no detail", "SkippedMalformed"),
        (lambda e: e["detail"].update(eventName="ListUsers"), "no rule for ListUsers", "SkippedNoRule"),
        (lambda e: e["detail"].update(errorCode="AccessDenied"), "failed call", "SkippedFailedCall"),
        (lambda e: e["detail"].update(requestParameters=["bob"]), None, "SkippedMalformed"),
    ],
)
def test_bad_or_irrelevant_input_is_a_logged_counted_skip(stack, capsys, caplog, mutate, skipped, metric) -> None:
    event = _event_for(stack["key_id"])
    mutate(event)
    result = stack["handler"](event, LAMBDA_CONTEXT)
    output = capsys.readouterr().out
    assert result["skipped"] == skipped if skipped else result["skipped"].startswith("malformed: requestParameters")
    assert _metrics(output) == {"EventsReceived": 1.0, metric: 1.0}  # the heartbeat counts every invocation
    [log] = [r for r in caplog.records if r.getMessage() == "skipped"]
    assert log.skipped == result["skipped"]
    assert _messages(stack) == []


def test_null_request_parameters_and_odd_event_time_still_act(stack) -> None:
    event = _event_for(stack["key_id"])
    event["detail"].update(requestParameters=None, eventTime="2026-11-24 09:15:42.000000000")
    event["detail"]["responseElements"]["accessKey"]["userName"] = "bob"
    result = stack["handler"](event, LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"


@pytest.fixture
def idempotency_table(stack, monkeypatch):
    boto3.client("dynamodb").create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
    return "idempotency"


def test_same_event_delivered_five_times_acts_and_notifies_once(stack, idempotency_table, monkeypatch, capsys) -> None:
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "remediator-access-keys")
    calls = []
    from remediator.rules import access_keys

    real = access_keys.remediate
    monkeypatch.setattr(access_keys, "remediate", lambda *a: calls.append(a) or real(*a))
    event = _event_for(stack["key_id"])
    results = []
    for _ in range(5):
        results.append(stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT))
        duplicates = _metrics(capsys.readouterr().out).get("DuplicateDeliveries", 0)
        assert duplicates == (len(results) > 1)  # counted, so operators see EventBridge's repeats
    assert len(calls) == 1
    assert len(_messages(stack)) == 1
    assert results[0]["findings"][0]["outcome"] == "verified"
    duplicate = {"eventID": results[0]["eventID"], "skipped": "duplicate delivery", "findings": []}
    assert all(result == duplicate for result in results[1:])
    [item] = boto3.client("dynamodb").scan(TableName=idempotency_table)["Items"]  # one ledger item: rule, user, hour
    claims = [name for name in item if name.startswith("claim#")]
    assert claims == [f"claim#remediator-access-keys#{event['detail']['eventID']}"]  # function name + eventID
    assert item["actions"]["N"] == "1"  # the one change, counted against the action budget by the same write


def test_another_function_still_handles_the_same_event(stack, idempotency_table, monkeypatch) -> None:
    event = _event_for(stack["key_id"])
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "remediator-access-keys")
    stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "remediator-other-function")
    stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    assert len(_messages(stack)) == 2
    [item] = boto3.client("dynamodb").scan(TableName=idempotency_table)["Items"]
    assert sorted(name.split("#")[1] for name in item if name.startswith("claim#")) == [
        "remediator-access-keys",
        "remediator-other-function",
    ]


def test_publish_failure_raises_for_a_retry_that_notifies_once(stack, idempotency_table, monkeypatch) -> None:
    """SNS down: the handler raises (Lambda retries, then the DLQ); the key is already safe; the retry reports."""
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
    event = _event_for(stack["key_id"])
    with pytest.raises(ClientError):
        stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    assert stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Inactive"
    assert _messages(stack) == []
    retry = stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)  # Lambda's async retry
    assert retry["findings"][0]["outcome"] == "verified"  # re-read: the key is Inactive
    [message] = _messages(stack)
    assert message["MessageAttributes"]["action"]["Value"] == "verified"
    stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)  # a late duplicate delivery
    assert _messages(stack) == []


def test_action_budget_stops_a_tug_of_war_after_three_changes(stack, monkeypatch) -> None:
    """Someone keeps re-activating the key: we revert three times an hour, then only notify."""
    from remediator.store import table_definition

    boto3.client("dynamodb").create_table(**table_definition("findings"))
    monkeypatch.setenv("FINDINGS_TABLE", "findings")
    event = _event_for(stack["key_id"])
    outcomes = []
    for attempt in range(4):
        stack["iam"].update_access_key(UserName="bob", AccessKeyId=stack["key_id"], Status="Active")
        event["detail"]["eventID"] = f"tug-of-war-{attempt}"
        outcomes.append(stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)["findings"][0])
    assert [o["outcome"] for o in outcomes] == ["verified", "verified", "verified", "skipped"]
    assert "3 times in the past hour" in outcomes[-1]["detail"]
    assert stack["iam"].list_access_keys(UserName="bob")["AccessKeyMetadata"][0]["Status"] == "Active"
    actions = [m["MessageAttributes"]["action"]["Value"] for m in _messages(stack)]
    assert sorted(actions) == ["contested", "skipped", "verified", "verified", "verified"]  # every round reported


def test_a_root_key_reaches_access_keys_and_root_activity_once_each(stack, idempotency_table, monkeypatch) -> None:
    """One event, two functions (two EventBridge rules): each handles it once, however often it arrives."""
    root_activity = load_function("root_activity").lambda_handler
    event = load_event("create-root-access-key.json")
    handled = []
    for _ in range(3):  # at-least-once delivery, to each rule's target
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "remediator-access-keys")
        handled += [f["rule"] for f in stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)["findings"]]
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", "remediator-root-activity")
        handled += [f["rule"] for f in root_activity(copy.deepcopy(event), LAMBDA_CONTEXT)["findings"]]
    messages = _messages(stack)
    assert sorted(
        (m["MessageAttributes"]["rule"]["Value"], m["MessageAttributes"]["severity"]["Value"]) for m in messages
    ) == [("access_keys", "critical"), ("root_activity", "critical")]
    assert set(handled) == {"access_keys", "root_activity"}


def test_one_dynamodb_write_per_event_claims_it_and_counts_the_budget(stack, idempotency_table, monkeypatch) -> None:
    """The common path (remediate, both tables): the event ledger's one UpdateItem is all the bookkeeping; the
    findings table is not written for a change no event will ever close."""
    from botocore.client import BaseClient

    from remediator.store import table_definition

    boto3.client("dynamodb").create_table(**table_definition("findings"))
    monkeypatch.setenv("FINDINGS_TABLE", "findings")
    calls: list[str] = []
    real = BaseClient._make_api_call

    def counting(self, operation, params):
        calls.append(f"{self.meta.service_model.service_name}:{operation}")
        return real(self, operation, params)

    monkeypatch.setattr(BaseClient, "_make_api_call", counting)
    event = _event_for(stack["key_id"])
    result = stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)
    assert result["findings"][0]["outcome"] == "verified"
    assert sorted(c for c in calls if c.startswith("dynamodb:")) == ["dynamodb:UpdateItem"]
    assert {"iam:UpdateAccessKey", "sns:Publish"} <= set(calls)
    calls.clear()
    assert stack["handler"](copy.deepcopy(event), LAMBDA_CONTEXT)["skipped"] == "duplicate delivery"
    assert calls == ["dynamodb:UpdateItem"]  # a duplicate: the refused claim, nothing changed, nothing sent
    assert boto3.client("dynamodb").scan(TableName="findings")["Items"] == []
