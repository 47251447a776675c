"""Deploy check: the offline-translated template creates a stack in moto's CloudFormation (in-process),
with the resources we expect per type; and the list of types moto skips, so we notice when it learns one."""

from __future__ import annotations

import io
import json
import logging
import zipfile
from collections import Counter
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.rules import FUNCTIONS
from tests.template.conftest import ACCOUNT, REGION, SCHEDULED, STACK, translate_template

pytestmark = pytest.mark.filterwarnings("ignore:Tried to parse:UserWarning")

# moto 5.2.5 accepts these types but creates nothing for them (a warning only).
MOTO_SKIPS = {
    "AWS::Chatbot::SlackChannelConfiguration",
    "AWS::CloudWatch::Alarm",
    "AWS::Events::EventBusPolicy",
    "AWS::Logs::QueryDefinition",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Scheduler::Schedule",
    "AWS::SNS::Subscription",
    "AWS::SNS::TopicPolicy",
    "AWS::SQS::QueuePolicy",
}


def _placeholder_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def lambda_handler(event, context):\n    return event\n")
    return buffer.getvalue()


@pytest.fixture(scope="module")
def deployed(cfn_template) -> Any:
    """Create the stack (email subscription, tracing, Slack, Security Hub and organization mode on: every
    conditional resource and statement exists)."""
    logging.getLogger("moto").setLevel(logging.ERROR)
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=translate_template.PLACEHOLDER_BUCKET)
        for resource in cfn_template["Resources"].values():
            code = resource["Properties"].get("Code") or resource["Properties"].get("Content")
            if code:
                s3.put_object(Bucket=code["S3Bucket"], Key=code["S3Key"], Body=_placeholder_zip())
        cloudformation = boto3.client("cloudformation", region_name=REGION)
        cloudformation.create_stack(
            StackName=STACK,
            TemplateBody=json.dumps(cfn_template),
            Capabilities=["CAPABILITY_NAMED_IAM"],
            Parameters=[
                {"ParameterKey": "NotificationEmail", "ParameterValue": "security@example.com"},
                {"ParameterKey": "EnableTracing", "ParameterValue": "true"},
                {"ParameterKey": "EnableSecurityHub", "ParameterValue": "true"},
                {"ParameterKey": "SlackWorkspaceId", "ParameterValue": "T0123456789"},
                {"ParameterKey": "SlackChannelId", "ParameterValue": "C0123456789"},
                {"ParameterKey": "OrganizationId", "ParameterValue": "o-a1b2c3d4e5"},
                {"ParameterKey": "AccountModesParameter", "ParameterValue": "/remediator/account-modes"},
            ],
        )
        yield cloudformation


def _stack_resources(cloudformation) -> list[dict[str, Any]]:
    paginator = cloudformation.get_paginator("list_stack_resources")
    return [r for page in paginator.paginate(StackName=STACK) for r in page["StackResourceSummaries"]]


def test_stack_is_created(deployed):
    stack = deployed.describe_stacks(StackName=STACK)["Stacks"][0]
    assert stack["StackStatus"] == "CREATE_COMPLETE", stack.get("StackStatusReason")
    outputs = {o["OutputKey"] for o in stack["Outputs"]}
    assert "TopicArn" in outputs
    for name in FUNCTIONS:
        prefix = "".join(part.title() for part in name.split("_"))
        assert {f"{prefix}FunctionName", f"{prefix}FunctionDLQUrl", f"{prefix}RuleDLQUrl"} <= outputs
    for name in SCHEDULED:
        prefix = "".join(part.title() for part in name.split("_"))
        assert {f"{prefix}FunctionName", f"{prefix}FunctionDLQUrl", f"{prefix}ScheduleDLQUrl"} <= outputs


def test_expected_resources_per_type(deployed, cfn_template, functions):
    created = Counter(r["ResourceType"] for r in _stack_resources(deployed) if r["LogicalResourceId"])
    rules = sum(1 for r in cfn_template["Resources"].values() if r["Type"] == "AWS::Events::Rule")
    n = len(FUNCTIONS) + len(SCHEDULED)
    assert created["AWS::Lambda::Function"] == n
    # a scheduled function's schedule has a role too, and so have the Slack channel (Slack ids given here) and the
    # baseline instance profile ec2_without_role attaches
    assert created["AWS::IAM::Role"] == n + len(SCHEDULED) + 2
    assert created["AWS::IAM::InstanceProfile"] == 1
    assert created["AWS::Logs::LogGroup"] == n
    # the rule's (or schedule's) and the function's dead-letter queue, and the organization bus rules' one
    assert created["AWS::SQS::Queue"] == 2 * n + 1
    assert created["AWS::Events::Rule"] == rules >= len(FUNCTIONS)
    assert created["AWS::Lambda::Permission"] == rules
    assert created["AWS::SNS::Topic"] == 1
    assert created["AWS::KMS::Key"] == 1
    assert created["AWS::KMS::Alias"] == 1
    assert created["AWS::DynamoDB::Table"] == 3  # idempotency, findings, the exemption list
    assert created["AWS::IAM::ManagedPolicy"] == 1
    assert created["AWS::Lambda::LayerVersion"] == 1


def test_resource_types_moto_skips(deployed, cfn_template):
    """If this fails because a type is now created, moto learned it: drop it from MOTO_SKIPS."""
    resolved_types = {r["Type"] for r in cfn_template["Resources"].values()}
    created = {r["ResourceType"] for r in _stack_resources(deployed) if r["LogicalResourceId"]}
    assert resolved_types - created == MOTO_SKIPS


def test_deployed_functions_are_wired(deployed, functions):
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in _stack_resources(deployed)}
    lambda_client = boto3.client("lambda", region_name=REGION)
    iam = boto3.client("iam", region_name=REGION)
    role_arns = {iam.get_role(RoleName=physical[f.role_id])["Role"]["Arn"] for f in functions.values()}
    assert all(":role/compliance-remediator/" in arn for arn in role_arns)
    for function in functions.values():
        config = lambda_client.get_function_configuration(FunctionName=physical[function.logical_id])
        variables = config["Environment"]["Variables"]
        own_roles = {variables["OWN_ROLE_PREFIX"] + name for name in variables["OWN_FUNCTION_NAMES"].split(",")}
        assert own_roles == role_arns
        assert variables["TOPIC_ARN"].startswith("arn:aws:sns:")
        assert variables["POWERTOOLS_SERVICE_NAME"] == function.name
        assert variables["POWERTOOLS_TRACE_DISABLED"] == "false"  # EnableTracing=true in this deployment
        assert variables["ENABLE_SECURITY_HUB"] == "true"
        if not function.scheduled:  # the deployed role can import the findings it is told to import
            role = physical[function.role_id]
            [policy] = iam.list_role_policies(RoleName=role)["PolicyNames"]
            document = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]
            # moto keeps the CloudFormation-made document as Python text: the action and the product ARN are in it
            assert "securityhub:BatchImportFindings" in str(document), function.role_id
            assert f"securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default" in str(document), function.role_id
        assert config["Runtime"] == "python3.13" and config["Handler"] == "app.lambda_handler"
        # moto 5.2.5 drops Layers from functions CloudFormation creates (template tests check them instead);
        # when this fails, moto has learned them: assert the one layer here.
        assert config.get("Layers", []) == []


def test_deployed_data_is_encrypted_with_the_stack_key(deployed):
    physical = {r["LogicalResourceId"]: r["PhysicalResourceId"] for r in _stack_resources(deployed)}
    key_id = physical["RemediatorKey"]
    kms = boto3.client("kms", region_name=REGION)
    assert kms.get_key_rotation_status(KeyId=key_id)["KeyRotationEnabled"]
    sns = boto3.client("sns", region_name=REGION)
    assert sns.get_topic_attributes(TopicArn=physical["FindingsTopic"])["Attributes"]["KmsMasterKeyId"] == key_id
    sqs = boto3.client("sqs", region_name=REGION)
    queues = [physical_id for physical_id in physical.values() if str(physical_id).startswith("https://sqs.")]
    assert queues
    for url in queues:
        assert sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["All"])["Attributes"]["KmsMasterKeyId"] == key_id
