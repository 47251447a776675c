"""Failure paths, encryption and who may publish: what moto cannot check (it models no key, topic or
queue policies, and skips alarms and invoke configs), read from the translated template."""

from __future__ import annotations

import json
import re
from typing import Any

import boto3
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_function
from tests.template.conftest import ACCOUNT, REGION, Resolver, resources_of_type, rules_targeting, schedules_targeting

KEY = {"Ref": "RemediatorKey"}


def _queue_policies(cfn: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Queue logical id -> its policy document."""
    policies = {}
    for _, policy in resources_of_type(cfn, "AWS::SQS::QueuePolicy"):
        for queue in policy["Properties"]["Queues"]:
            policies[queue["Ref"]] = policy["Properties"]["PolicyDocument"]
    return policies


def _alarms(cfn: dict[str, Any]) -> list[dict[str, Any]]:
    return [alarm["Properties"] for _, alarm in resources_of_type(cfn, "AWS::CloudWatch::Alarm")]


def _alarm_on(cfn: dict[str, Any], metric: str, dimension: dict[str, Any]) -> dict[str, Any]:
    found = [a for a in _alarms(cfn) if a["MetricName"] == metric and a["Dimensions"][0]["Value"] == dimension]
    assert len(found) == 1, f"one {metric} alarm on {dimension}"
    return found[0]


def _assert_alarms_to_topic(alarm: dict[str, Any]) -> None:
    assert alarm["AlarmActions"] == [{"Ref": "FindingsTopic"}]
    assert alarm["ComparisonOperator"] == "GreaterThanThreshold" and alarm["Threshold"] == 0
    assert alarm["TreatMissingData"] == "notBreaching"


def test_every_rule_retries_then_dead_letters_into_a_queue_events_may_write(cfn_template, functions):
    policies = _queue_policies(cfn_template)
    for function in functions.values():
        rules = rules_targeting(cfn_template, function.logical_id)
        for logical, rule in rules.items():
            (target,) = rule["Properties"]["Targets"]
            assert 0 < target["RetryPolicy"]["MaximumRetryAttempts"] <= 185
            assert 0 < target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400
            queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            (statement,) = policies[queue]["Statement"]
            assert statement["Effect"] == "Allow" and statement["Principal"] == {"Service": "events.amazonaws.com"}
            assert statement["Action"] == "sqs:SendMessage"
            assert statement["Resource"] == {"Fn::GetAtt": [queue, "Arn"]}
            source_arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
            assert {"Fn::GetAtt": [logical, "Arn"]} in (source_arns if isinstance(source_arns, list) else [source_arns])
            _assert_alarms_to_topic(
                _alarm_on(cfn_template, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue, "QueueName"]})
            )


def test_processing_errors_retry_then_land_in_the_functions_own_queue(cfn_template, functions):
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for _, r in resources_of_type(cfn_template, "AWS::Lambda::EventInvokeConfig")
    }
    rule_queues = {
        t["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for _, r in resources_of_type(cfn_template, "AWS::Events::Rule")
        for t in r["Properties"]["Targets"]
    }
    rule_queues |= {
        s["Properties"]["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        for _, s in resources_of_type(cfn_template, "AWS::Scheduler::Schedule")
    }
    seen = set()
    for function in functions.values():
        config = configs[function.logical_id]
        assert config["MaximumRetryAttempts"] == 2
        assert config["Qualifier"] == "$LATEST"
        destination = config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
        assert cfn_template["Resources"][destination]["Type"] == "AWS::SQS::Queue"
        assert destination not in rule_queues and destination not in seen, "each function has its own DLQ"
        seen.add(destination)
        _assert_alarms_to_topic(
            _alarm_on(cfn_template, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [destination, "QueueName"]})
        )
        errors = _alarm_on(cfn_template, "Errors", {"Ref": function.logical_id})
        assert errors["Namespace"] == "AWS/Lambda" and errors["Statistic"] == "Sum"
        _assert_alarms_to_topic(errors)


def test_every_schedule_retries_then_dead_letters_into_its_own_queue(cfn_template, functions):
    """Scheduler writes dead letters with its execution role (test_iam_least_privilege), not a queue policy."""
    policies = _queue_policies(cfn_template)
    configs = {
        r["Properties"]["FunctionName"]["Ref"]: r["Properties"]
        for _, r in resources_of_type(cfn_template, "AWS::Lambda::EventInvokeConfig")
    }
    for function in functions.values():
        for schedule in schedules_targeting(cfn_template, function.logical_id).values():
            target = schedule["Properties"]["Target"]
            assert 0 < target["RetryPolicy"]["MaximumRetryAttempts"] <= 185
            assert 60 <= target["RetryPolicy"]["MaximumEventAgeInSeconds"] <= 86400
            queue = target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
            assert cfn_template["Resources"][queue]["Type"] == "AWS::SQS::Queue"
            assert queue not in policies, "nobody but the schedule's role writes to it"
            function_dlq = configs[function.logical_id]["DestinationConfig"]["OnFailure"]["Destination"]
            assert function_dlq != {"Fn::GetAtt": [queue, "Arn"]}, "delivery and processing failures apart"
            _assert_alarms_to_topic(
                _alarm_on(cfn_template, "ApproximateNumberOfMessagesVisible", {"Fn::GetAtt": [queue, "QueueName"]})
            )


def _emitted_metrics(capsys, monkeypatch) -> list[dict[str, Any]]:
    """The sweep handler once on an empty moto account: the EMF documents powertools prints."""
    with mock_aws():
        iam = boto3.client("iam", region_name=REGION)
        iam.generate_credential_report()  # moto answers STARTED once: spare the handler its back-off
        monkeypatch.delenv("FINDINGS_TABLE", raising=False)
        monkeypatch.delenv("TOPIC_ARN", raising=False)
        capsys.readouterr()
        load_function("sweep").lambda_handler({}, LocalLambdaContext(function_name="sweep"))
    documents = []
    for line in capsys.readouterr().out.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            documents.append(json.loads(line))
    return documents


def test_the_actions_left_alarm_watches_the_metric_the_sweep_emits(cfn_template, functions, capsys, monkeypatch):
    """A run that stopped before acting on everything raises an alarm on the handler's own metric."""
    emitted = {}
    for document in _emitted_metrics(capsys, monkeypatch):
        for directive in document["_aws"]["CloudWatchMetrics"]:
            for metric in directive["Metrics"]:
                dimensions = {name: document[name] for names in directive["Dimensions"] for name in names}
                emitted[metric["Name"]] = (directive["Namespace"], dimensions, document[metric["Name"]])
    namespace, dimensions, value = emitted["SweepActionsLeft"]
    assert value in (0, [0])  # an empty account: nothing left
    variables = cfn_template["Resources"][functions["sweep"].logical_id]["Properties"]["Environment"]["Variables"]
    assert namespace == variables["POWERTOOLS_METRICS_NAMESPACE"] == "ComplianceRemediator"
    assert dimensions == {"service": variables["POWERTOOLS_SERVICE_NAME"]} == {"service": "sweep"}
    (alarm,) = [a for a in _alarms(cfn_template) if a["MetricName"] == "SweepActionsLeft"]
    assert alarm["Namespace"] == namespace
    assert alarm["Dimensions"] == [{"Name": "service", "Value": "sweep"}]
    assert alarm["Statistic"] == "Maximum" and alarm["Period"] * alarm["EvaluationPeriods"] <= 86400
    _assert_alarms_to_topic(alarm)


def test_topic_queues_tables_and_logs_use_the_customer_managed_key(cfn_template):
    key = cfn_template["Resources"]["RemediatorKey"]["Properties"]
    assert key["EnableKeyRotation"] is True
    ((_, topic),) = resources_of_type(cfn_template, "AWS::SNS::Topic")
    assert topic["Properties"]["KmsMasterKeyId"] == KEY  # not alias/aws/sns: alarms could not publish
    for logical, queue in resources_of_type(cfn_template, "AWS::SQS::Queue"):
        assert queue["Properties"]["KmsMasterKeyId"] == KEY, logical  # not alias/aws/sqs: EventBridge could not
        assert queue["Properties"]["MessageRetentionPeriod"] == 1209600
    for logical, table in resources_of_type(cfn_template, "AWS::DynamoDB::Table"):
        assert table["Properties"]["SSESpecification"] == {
            "SSEEnabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": KEY,
        }, logical
    for logical, group in resources_of_type(cfn_template, "AWS::Logs::LogGroup"):
        assert group["Properties"]["KmsKeyId"] == {"Fn::GetAtt": ["RemediatorKey", "Arn"]}, logical
        assert group["Properties"]["RetentionInDays"] == {"Ref": "LogRetentionDays"}, logical


def test_key_policy_lets_alarms_eventbridge_and_sns_use_the_key_from_this_account_only(cfn_template):
    policy = Resolver(cfn_template)(cfn_template["Resources"]["RemediatorKey"]["Properties"]["KeyPolicy"])
    by_sid = {s["Sid"]: s for s in policy["Statement"]}
    admin = by_sid["AccountAdministers"]
    assert admin["Principal"] == {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}
    services = by_sid["ServicesOfThisAccountUseTheKey"]
    assert set(services["Principal"]["Service"]) == {
        "cloudwatch.amazonaws.com",
        "events.amazonaws.com",
        "sns.amazonaws.com",
    }
    assert set(services["Action"]) == {"kms:GenerateDataKey*", "kms:Decrypt"}
    assert services["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    logs = by_sid["LogsEncryptOurLogGroups"]
    assert logs["Principal"] == {"Service": f"logs.{REGION}.amazonaws.com"}
    context = logs["Condition"]["ArnLike"]["kms:EncryptionContext:aws:logs:arn"]
    assert context == f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:/compliance-remediator/remediator/*"
    for logical, group in resources_of_type(cfn_template, "AWS::Logs::LogGroup"):
        name = Resolver(cfn_template)(group["Properties"]["LogGroupName"])
        assert name.startswith("/compliance-remediator/remediator/"), f"{logical}: outside the key's log context"
    assert set(by_sid) == {"AccountAdministers", "ServicesOfThisAccountUseTheKey", "LogsEncryptOurLogGroups"}


def test_only_our_functions_and_alarms_may_publish(cfn_template, functions):
    resolve = Resolver(cfn_template)
    ((_, topic_policy),) = resources_of_type(cfn_template, "AWS::SNS::TopicPolicy")
    statements = {s["Sid"]: s for s in resolve(topic_policy["Properties"]["PolicyDocument"])["Statement"]}
    roles = {f"getatt:{f.role_id}.Arn" for f in functions.values()}
    assert set(statements["FunctionsPublish"]["Principal"]["AWS"]) == roles
    alarms = statements["AlarmsPublish"]
    assert alarms["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    assert alarms["Condition"] == {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
    deny = statements["NobodyElsePublishes"]
    assert deny["Effect"] == "Deny" and deny["Principal"] == "*" and deny["Action"] == "sns:Publish"
    assert set(deny["Condition"]["ArnNotEquals"]["aws:PrincipalArn"]) == roles
    assert deny["Condition"]["Bool"] == {"aws:PrincipalIsAWSService": "false"}
    allows = [s for s in statements.values() if s["Effect"] == "Allow"]
    assert {s["Sid"] for s in allows} == {"FunctionsPublish", "AlarmsPublish"}
    assert all(s["Action"] == "sns:Publish" and s["Resource"] == "ref:FindingsTopic" for s in allows)


def test_email_subscriptions_only_for_the_addresses_given(cfn_template):
    """Up to three comma-separated addresses, one conditional subscription each (CloudFormation cannot loop)."""
    subscriptions = dict(resources_of_type(cfn_template, "AWS::SNS::Subscription"))
    assert len(subscriptions) == 3
    for emails in ("", "a@example.com", "a@example.com,b@example.com", "a@example.com,b@example.com,c@example.com"):
        resolve = Resolver(cfn_template, {"NotificationEmail": emails})
        subscribed = [
            resolve(s["Properties"]["Endpoint"]) for s in subscriptions.values() if resolve.condition(s["Condition"])
        ]
        assert subscribed == [e for e in emails.split(",") if e], emails
        assert all(resolve(s["Properties"]["TopicArn"]) == "ref:FindingsTopic" for s in subscriptions.values())
    pattern = cfn_template["Parameters"]["NotificationEmail"]["AllowedPattern"]
    assert re.fullmatch(pattern, "a@example.com,b@example.com,c@example.com")
    assert not re.fullmatch(pattern, "a@example.com,b@example.com,c@example.com,d@example.com")
    assert not re.fullmatch(pattern, "a@example.com, b@example.com")


def test_findings_table_matches_the_store(cfn_template):
    from remediator.store import table_definition

    table = cfn_template["Resources"]["FindingsTable"]["Properties"]
    expected = table_definition("ignored")
    for field in ("BillingMode", "AttributeDefinitions", "KeySchema", "GlobalSecondaryIndexes"):
        assert table[field] == expected[field], field
    assert table["TimeToLiveSpecification"] == {"AttributeName": "expires_at", "Enabled": True}


def test_idempotency_table_matches_powertools_defaults(cfn_template):
    from aws_lambda_powertools.utilities.idempotency import DynamoDBPersistenceLayer

    layer = DynamoDBPersistenceLayer(table_name="ignored")
    table = cfn_template["Resources"]["IdempotencyTable"]["Properties"]
    assert table["KeySchema"] == [{"AttributeName": layer.key_attr, "KeyType": "HASH"}]
    assert table["TimeToLiveSpecification"] == {"AttributeName": layer.expiry_attr, "Enabled": True}


def test_deny_without_mfa_policy_is_the_rules_document(cfn_template):
    from remediator.rules.console_mfa import deny_without_mfa_document

    policy = cfn_template["Resources"]["DenyWithoutMfaPolicy"]["Properties"]
    assert policy["PolicyDocument"] == deny_without_mfa_document()


def test_checkov_skips_carry_reasons(sam_template):
    for logical, resource in sam_template["Resources"].items():
        for skip in resource.get("Metadata", {}).get("checkov", {}).get("skip", []):
            assert skip["id"].startswith("CKV") and len(skip.get("comment", "")) > 20, (logical, skip)


def test_sam_generated_suppressions_file_is_valid(cfn_template):
    from tests.template.conftest import ROOT, translate_template

    translate_template.add_checkov_suppressions(cfn_template, ROOT / "checkov-sam-suppressions.yaml")
