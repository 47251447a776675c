"""What the integration tests share: a findings inbox (a queue subscribed to the topic, as a human's email
would be) and demo events enacted in the moto account."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest

from remediator_dev import moto_shims
from remediator_dev.enactors import ENACTORS
from tests.conftest import load_event

moto_shims.install()  # what moto does not model: permission-set boundaries, service-specific credentials


class Inbox:
    """The findings topic and an SQS queue subscribed to it; sets TOPIC_ARN for the handlers."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        sns, self.sqs = boto3.client("sns"), boto3.client("sqs")
        self.topic_arn = sns.create_topic(Name="remediator-findings")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])["Attributes"][
            "QueueArn"
        ]
        sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn)
        monkeypatch.setenv("TOPIC_ARN", self.topic_arn)

    def messages(self) -> list[dict[str, Any]]:
        """The SNS envelopes received since the last call (Subject, Message: the email text, Finding: the
        finding as JSON, MessageAttributes)."""
        received = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10)
        for message in received.get("Messages", []):
            self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])
        envelopes = [json.loads(m["Body"]) for m in received.get("Messages", [])]
        for envelope in envelopes:  # a queue gets the `sqs` key: the finding as JSON, with the email text in it
            envelope["Finding"] = json.loads(envelope["Message"])
            envelope["Message"] = envelope["Finding"]["text"]
        return envelopes


def enacted(iam: Any, name: str) -> dict[str, Any]:
    """A demo event, after making the moto account match it (as the demo does)."""
    event = copy.deepcopy(load_event(name))
    ENACTORS[event["detail"]["eventName"]](iam, event["detail"])
    return event
