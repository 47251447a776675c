"""The external_access Lambda handler end to end in a moto account: per resource kind, the added sharing is
really gone, what was shared before stays, and the message says what was done and how to undo it."""

from __future__ import annotations

import copy
import json
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from remediator_dev.enactors import ENACTORS
from remediator_dev.sharing_enactors import SIBLING
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

pytestmark = pytest.mark.integration

LAMBDA_CONTEXT = LocalLambdaContext(function_name="external_access")
OTHER = "846424999548"


@pytest.fixture
def stack(monkeypatch):
    with mock_aws():
        inbox = Inbox(monkeypatch)
        monkeypatch.setenv("MODE_EXTERNAL_ACCESS", "remediate")
        yield {"iam": boto3.client("iam"), "inbox": inbox, "handler": load_function("external_access").lambda_handler}


def _enact(stack: dict[str, Any], name: str, **params: Any) -> tuple[dict[str, Any], Any]:
    event = copy.deepcopy(load_event(name))
    event["detail"]["requestParameters"].update(params)
    observe = ENACTORS[event["detail"]["eventName"]](stack["iam"], event["detail"])
    return event, observe


def _handled(stack: dict[str, Any], event: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    result = stack["handler"](event, LAMBDA_CONTEXT)
    [finding] = result["findings"]
    [message] = stack["inbox"].messages()
    return finding, message


# (event, what the resource's sharing reads before, and after the handler removed exactly the added part)
KINDS = {
    "AMI": (
        "share-ami-with-another-account.json",
        f'[{{"UserId": "{SIBLING}"}}, {{"UserId": "{OTHER}"}}]',
        f'[{{"UserId": "{SIBLING}"}}]',
    ),
    "EBS snapshot": (
        "share-ebs-snapshot-publicly.json",
        f'[{{"Group": "all"}}, {{"UserId": "{SIBLING}"}}]',
        f'[{{"UserId": "{SIBLING}"}}]',
    ),
    "RDS snapshot": ("share-rds-snapshot-with-another-account.json", f"['{SIBLING}', '{OTHER}']", f"['{SIBLING}']"),
    "RDS cluster snapshot": ("share-rds-cluster-snapshot-publicly.json", f"['{SIBLING}', 'all']", f"['{SIBLING}']"),
    "Lambda function": ("lambda-add-permission-everyone.json", "['s3-invoke', 'backdoor']", "['s3-invoke']"),
    "SNS AddPermission": (
        "sns-add-permission-for-another-account.json",
        "['__default_statement_ID', 'sibling', 'partner-publish']",
        "['__default_statement_ID', 'sibling']",
    ),
    "SNS topic policy": (
        "set-topic-policy-for-another-account.json",
        "['__default_statement_ID', 'partner-subscribe']",
        "['__default_statement_ID']",
    ),
    "KMS key policy": (
        "put-key-policy-for-another-account.json",
        "['Enable IAM User Permissions', 'PartnerDecrypt']",
        "['Enable IAM User Permissions']",
    ),
    "KMS grant": (
        "create-kms-grant-for-another-account.json",
        f"['arn:aws:iam::123456789012:role/reporting', 'arn:aws:iam::{OTHER}:role/partner-reader']",
        "['arn:aws:iam::123456789012:role/reporting']",
    ),
    "S3 bucket policy": ("put-bucket-policy-for-another-account.json", "['backdoor']", "none"),
    "SQS AddPermission": (
        "sqs-add-permission-for-another-account.json",
        "['sibling', 'partner-send']",
        "['sibling']",
    ),
    "SQS queue policy": ("set-queue-policy-everyone.json", "['anyone-send']", "[]"),
    "ECR repository policy": ("set-ecr-repository-policy-public.json", "['PublicPull']", "none"),
}


@pytest.mark.parametrize("kind", KINDS)
def test_exactly_the_added_sharing_is_removed_the_rest_kept_and_the_message_published(stack, kind: str) -> None:
    name, before, after = KINDS[kind]
    event, observe = _enact(stack, name)
    assert observe().endswith(before)

    finding, message = _handled(stack, event)

    assert observe().endswith(after)
    assert finding["outcome"] == "verified", finding
    assert message["MessageAttributes"]["rule"]["Value"] == "external_access"
    assert message["MessageAttributes"]["action"]["Value"] == "verified"
    assert "mallory" in message["Message"] and "Undo:" in message["Message"]


OWN = {"Sid": "own", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}}


def _beside_own(document: str, action: str) -> str:
    """The event's policy with a grant to this account written before the offending statement."""
    policy = json.loads(document)
    policy["Statement"].insert(0, {**OWN, "Action": action})
    return json.dumps(policy)


# (event, where its policy is, an action for our own grant, the statement ids before and after)
BESIDE_OWN = {
    "SQS queue policy": ("set-queue-policy-everyone.json", "attributes", "sqs:SendMessage", "anyone-send"),
    "ECR repository policy": ("set-ecr-repository-policy-public.json", "policyText", "ecr:BatchGetImage", "PublicPull"),
    "EFS file system policy": (
        "put-efs-file-system-policy-everyone.json",
        "policy",
        "elasticfilesystem:ClientMount",
        "any-mount",
    ),
}


@pytest.mark.parametrize("kind", BESIDE_OWN)
def test_a_policy_keeps_the_statement_written_before_the_offending_one(stack, kind: str) -> None:
    name, field, action, offending = BESIDE_OWN[kind]
    params = copy.deepcopy(load_event(name)["detail"]["requestParameters"])
    if field == "attributes":
        params["attributes"]["Policy"] = _beside_own(params["attributes"]["Policy"], action)
    else:
        params[field] = _beside_own(params[field], action)
    event, observe = _enact(stack, name, **{field: params[field]})
    assert observe().endswith(f"['own', '{offending}']")

    finding, message = _handled(stack, event)

    assert observe().endswith("['own']")
    assert finding["outcome"] == "verified" and finding["severity"] == "critical", finding
    assert message["MessageAttributes"]["action"]["Value"] == "verified"
    assert f'"Sid":"{offending}"' in message["Message"] and "Undo:" in message["Message"]


def test_a_secret_keeps_its_own_grant_and_the_message_carries_the_original_policy(stack) -> None:
    own = {"Sid": "own", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "*"}
    public = {"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue"}
    document = json.dumps({"Version": "2012-10-17", "Statement": [own, public]})
    event, _ = _enact(stack, "put-secret-resource-policy-everyone.json", resourcePolicy=document)

    finding, message = _handled(stack, event)

    kept = boto3.client("secretsmanager", region_name="eu-west-1").get_resource_policy(SecretId="prod/payments/api-key")
    assert [s["Sid"] for s in json.loads(kept["ResourcePolicy"])["Statement"]] == ["own"]
    assert finding["outcome"] == "verified" and finding["severity"] == "critical"
    assert '"Sid":"public"' in message["Message"]  # the original, in the message, to put it back by hand


def test_a_policy_changed_again_after_the_event_is_left_alone(stack) -> None:
    event, _ = _enact(stack, "set-topic-policy-for-another-account.json")
    sns = boto3.client("sns", region_name="eu-west-1")
    topic = event["detail"]["requestParameters"]["topicArn"]
    later = json.loads(event["detail"]["requestParameters"]["attributeValue"])
    later["Statement"] = later["Statement"][:1]
    sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=json.dumps(later))

    finding, _ = _handled(stack, event)

    assert finding["outcome"] == "skipped"
    assert json.loads(sns.get_topic_attributes(TopicArn=topic)["Attributes"]["Policy"]) == later


def test_in_notify_mode_nothing_changes_and_the_message_has_the_command(stack, monkeypatch) -> None:
    monkeypatch.setenv("MODE_EXTERNAL_ACCESS", "notify")
    event, observe = _enact(stack, "share-ami-with-another-account.json")

    finding, message = _handled(stack, event)

    assert OTHER in observe() and finding["outcome"] == "notified"
    assert "aws ec2 modify-image-attribute --image-id ami-" in message["Message"]
    assert '{"Remove":[{"UserId":"846424999548"}]}' in message["Message"]


def test_a_resource_gone_since_the_event_is_skipped(stack) -> None:
    event, _ = _enact(stack, "share-rds-snapshot-with-another-account.json")
    boto3.client("rds", region_name="eu-west-1").delete_db_snapshot(DBSnapshotIdentifier="orders-nightly")

    finding, message = _handled(stack, event)

    assert finding["outcome"] == "skipped" and message["MessageAttributes"]["action"]["Value"] == "skipped"
