"""Least privilege, proven by running: each function handles its demo events in remediate mode with moto's
IAM enforcement on, as a principal holding only its role's Allow statements from the translated template;
the scheduled sweep runs over an account with an old key, an unused key, an unused password, a console user
without MFA and an exempt user, and checks its coverage (a logging trail, one of our rules, one of our queues).

moto checks resource-scoped statements against "*", so resources are widened to "*" here (the static test
in tests/template/test_iam_least_privilege.py proves they are narrow); a missing action fails this test.
moto has no Roles Anywhere and cannot enforce IAM on Lambda or EFS, so those events are left out here: their
remediation's calls are checked against the declared actions
(tests/unit/rules/test_declared_remediation_permissions.py).
"""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from moto import mock_aws
from moto.core.authorization import enable_iam_authentication

from remediator.events import parse_envelope
from remediator.exemption_list import table_definition as exemption_table
from remediator.rules import FUNCTIONS, RULES
from remediator.runtime import make_handler
from remediator.store import table_definition
from remediator_dev.demo import LocalLambdaContext
from remediator_dev.ec2_enactors import BASELINE_PROFILE
from remediator_dev.enactors import ENACTORS
from remediator_dev.sweep import seed_exposed_account
from tests.conftest import EVENTS, load_function
from tests.integration.conftest import Inbox
from tests.template.conftest import Resolver, functions_of, translate_template

pytestmark = pytest.mark.integration

DEMO_EVENTS = {path.name: json.loads(path.read_text()) for path in sorted(EVENTS.glob("*.json"))}
DENY_POLICY = (EVENTS.parent / "layers/remediator/remediator/data/deny_without_mfa.json").read_text()


# moto authorises a bucket's Block Public Access calls as another action (its action table keys them
# `public_access_block`, the request says `publicAccessBlock`, so GET falls to ListBucket and PUT to CreateBucket):
# the role's real action also grants moto's (the static test proves the role names the real action, and only it).
MOTO_ACTION_NAMES = {
    "s3:GetBucketPublicAccessBlock": "s3:ListBucket",
    "s3:PutBucketPublicAccessBlock": "s3:CreateBucket",
}


def _with_moto_names(actions: Any) -> list[str]:
    actions = [actions] if isinstance(actions, str) else list(actions)
    return actions + [MOTO_ACTION_NAMES[action] for action in actions if action in MOTO_ACTION_NAMES]


@pytest.fixture(scope="module")
def role_statements() -> dict[str, list[dict[str, Any]]]:
    """Function name -> its role's Allow statements, resources widened to "*" and conditions dropped."""
    cfn = translate_template.translate()
    resolve = Resolver(cfn)
    statements = {}
    for name, function in functions_of(cfn).items():
        role = resolve(cfn["Resources"][function.role_id]["Properties"])
        allowed = [
            s
            for policy in role.get("Policies", [])
            for s in policy["PolicyDocument"]["Statement"]
            if s.get("Effect") == "Allow"
        ]
        statements[name] = [
            {"Effect": "Allow", "Action": _with_moto_names(s["Action"]), "Resource": "*"} for s in allowed
        ]
    return statements


def _events_for(function: str) -> list[str]:
    rule_ids = FUNCTIONS[function]
    return [
        name
        for name, event in DEMO_EVENTS.items()
        if any(RULES[rule_id].META.reacts_to(parse_envelope(event)) for rule_id in rule_ids)
    ]


# moto has no Roles Anywhere, and its Lambda and EFS answer SignatureDoesNotMatch under IAM enforcement even when
# the call is allowed: their remediations' calls are checked against the declared actions instead.
MOTO_HAS_NO = ("rolesanywhere.amazonaws.com", "lambda.amazonaws.com", "elasticfilesystem.amazonaws.com")
CASES = [
    (function, event)
    for function in FUNCTIONS
    for event in _events_for(function)
    if DEMO_EVENTS[event]["detail"]["eventSource"] not in MOTO_HAS_NO
]


@pytest.mark.parametrize("function, event_file", CASES)
def test_function_does_its_job_with_only_its_role_permissions(function, event_file, role_statements, monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # events attach AWS managed policies by ARN
    with mock_aws():
        admin_iam, dynamodb = boto3.client("iam"), boto3.client("dynamodb")
        inbox = Inbox(monkeypatch)
        topic, queue, sqs = inbox.topic_arn, inbox.queue_url, inbox.sqs
        dynamodb.create_table(
            TableName="idempotency",
            BillingMode="PAY_PER_REQUEST",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        )
        dynamodb.create_table(**table_definition("findings"))
        dynamodb.create_table(**exemption_table("exemptions"))
        deny = admin_iam.create_policy(PolicyName="DenyWithoutMfa", PolicyDocument=DENY_POLICY)["Policy"]["Arn"]

        admin_iam.create_user(UserName=f"as-{function}")
        admin_iam.put_user_policy(
            UserName=f"as-{function}",
            PolicyName="role",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": role_statements[function]}),
        )
        key = admin_iam.create_access_key(UserName=f"as-{function}")["AccessKey"]

        event = copy.deepcopy(DEMO_EVENTS[event_file])
        enactor = ENACTORS.get(event["detail"]["eventName"])
        if enactor:
            enactor(admin_iam, event["detail"])

        for rule_id in RULES:
            monkeypatch.setenv(f"MODE_{rule_id.upper()}", "remediate")
        monkeypatch.setenv("MFA_GRACE_PERIOD_HOURS", "0")  # act now, not after a day
        monkeypatch.setenv("TOPIC_ARN", topic)
        monkeypatch.setenv("IDEMPOTENCY_TABLE", "idempotency")
        monkeypatch.setenv("FINDINGS_TABLE", "findings")
        monkeypatch.setenv("EXEMPTIONS_TABLE", "exemptions")
        monkeypatch.setenv("DENY_WITHOUT_MFA_POLICY_ARN", deny)
        monkeypatch.setenv("EC2_BASELINE_INSTANCE_PROFILE", BASELINE_PROFILE)
        monkeypatch.setenv("AWS_LAMBDA_FUNCTION_NAME", function)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        handler = make_handler(function)

        with enable_iam_authentication():
            result = handler(event, LocalLambdaContext(function_name=function))

        assert result["skipped"] is None, result
        for finding in result["findings"]:
            assert finding["outcome"] != "failed", finding
            assert "Could not read" not in finding["reason"] and "AccessDenied" not in finding["detail"], finding
            assert "exemption list" not in finding["reason"], finding  # the list was read
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        assert len(messages) == len(result["findings"])


def _as_role(admin_iam: Any, name: str, statements: list[dict[str, Any]], monkeypatch) -> None:
    """A user holding only `statements`; the process's credentials become its keys."""
    admin_iam.create_user(UserName=name)
    admin_iam.put_user_policy(
        UserName=name, PolicyName="role", PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements})
    )
    key = admin_iam.create_access_key(UserName=name)["AccessKey"]
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)


def _age_keys(user: str, days: int, *, used: bool) -> None:
    """moto dates keys now: make the user's keys `days` old, in use (yesterday) or never used."""
    from moto.iam.models import iam_backends

    now = datetime.now(UTC).replace(tzinfo=None)
    for key in iam_backends["123456789012"]["global"].users[user].access_keys:
        key.create_date = now - timedelta(days=days)
        key.last_used = now - timedelta(days=1) if used else None


def _age_password(user: str, days: int) -> None:
    from moto.iam.models import iam_backends

    entity = iam_backends["123456789012"]["global"].users[user]
    entity.create_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days + 30)
    entity.password_last_used = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)


def test_sweep_does_its_job_with_only_its_role_permissions(role_statements, monkeypatch) -> None:
    password = "Sweep-Passw0rd-123!"
    with mock_aws():
        admin_iam, dynamodb = boto3.client("iam"), boto3.client("dynamodb")
        inbox = Inbox(monkeypatch)
        topic, queue, sqs = inbox.topic_arn, inbox.queue_url, inbox.sqs
        dynamodb.create_table(**table_definition("findings"))
        deny = admin_iam.create_policy(PolicyName="DenyWithoutMfa", PolicyDocument=DENY_POLICY)["Policy"]["Arn"]
        for user in ("old-key", "unused-key", "no-mfa", "unused-password", "exempt"):
            admin_iam.create_user(UserName=user)
        old_key = admin_iam.create_access_key(UserName="old-key")["AccessKey"]["AccessKeyId"]
        unused_key = admin_iam.create_access_key(UserName="unused-key")["AccessKey"]["AccessKeyId"]
        exempt_key = admin_iam.create_access_key(UserName="exempt")["AccessKey"]["AccessKeyId"]
        admin_iam.tag_user(UserName="exempt", Tags=[{"Key": "remediator:exempt", "Value": "vendor, SEC-1"}])
        admin_iam.create_login_profile(UserName="no-mfa", Password=password)
        admin_iam.create_login_profile(UserName="unused-password", Password=password)
        _age_keys("old-key", 200, used=True)
        _age_keys("unused-key", 200, used=False)
        _age_keys("exempt", 300, used=True)
        _age_password("unused-password", 150)
        admin_iam.generate_credential_report()  # moto answers STARTED once: spare the sweep its back-off
        boto3.client("s3").create_bucket(Bucket="trail-logs")
        cloudtrail, events = boto3.client("cloudtrail"), boto3.client("events")
        cloudtrail.create_trail(Name="org", S3BucketName="trail-logs", IsMultiRegionTrail=True)
        cloudtrail.start_logging(Name="org")
        function = "arn:aws:lambda:us-east-1:123456789012:function:remediator-AccessKeysFunction-X"
        events.put_rule(Name="remediator-AccessKeysFunctionCloudTrail-X", EventPattern='{"source": ["aws.iam"]}')
        events.put_targets(Rule="remediator-AccessKeysFunctionCloudTrail-X", Targets=[{"Id": "fn", "Arn": function}])
        dlq = sqs.create_queue(QueueName="remediator-AccessKeysRuleDLQ-X")["QueueUrl"]
        monkeypatch.setenv("WATCHED_RULES", f"remediator-AccessKeysFunctionCloudTrail-X={function}")
        monkeypatch.setenv("HONOUR_EXEMPT_TAGS", "true")  # the "exempt" user's tag counts: its read is exercised
        monkeypatch.setenv("WATCHED_QUEUES", dlq)

        seed_exposed_account(boto3.client)
        # moto names two S3 checks differently from AWS: S3 Control's GetPublicAccessBlock "s3:GetPublicAccessBlock"
        # (AWS: s3:GetAccountPublicAccessBlock), a bucket's "s3:ListBucket" (AWS: s3:GetBucketPublicAccessBlock).
        moto_names = {
            "s3:GetAccountPublicAccessBlock": "s3:GetPublicAccessBlock",
            "s3:GetBucketPublicAccessBlock": "s3:ListBucket",
        }
        statements = []
        for statement in role_statements["sweep"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statements.append({**statement, "Action": actions + [moto_names[a] for a in actions if a in moto_names]})
        _as_role(admin_iam, "as-sweep", statements, monkeypatch)
        for variable, value in {
            "MODE_SWEEP": "remediate",
            "MODE_CONSOLE_MFA": "remediate",
            "MFA_GRACE_PERIOD_HOURS": "0",
            "KEY_WARNING_DAYS": "0",
            "TOPIC_ARN": topic,
            "FINDINGS_TABLE": "findings",
            "DENY_WITHOUT_MFA_POLICY_ARN": deny,
        }.items():
            monkeypatch.setenv(variable, value)
        handler = load_function("sweep").lambda_handler

        with enable_iam_authentication():
            summary = handler({}, LocalLambdaContext(function_name="sweep"))

        assert summary["findings"] == {
            "key_age": 2,
            "unused_credentials": 2,
            "console_mfa": 1,
            # what is already exposed, read with only the role's actions (reported, never changed)
            "s3_public": 2,
            "open_security_group": 1,
            "ec2_without_role": 1,
            "ddos_posture": 1,
        }, summary
        assert summary["actions"] == {"verified": 4} and summary["left"] == 0 and summary["exempt"] == 1, summary

        def status(user: str, key_id: str) -> str:
            keys = admin_iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
            return next(k["Status"] for k in keys if k["AccessKeyId"] == key_id)

        assert status("old-key", old_key) == status("unused-key", unused_key) == "Inactive"
        assert status("exempt", exempt_key) == "Active"
        attached = admin_iam.list_attached_user_policies(UserName="no-mfa")["AttachedPolicies"]
        assert [p["PolicyArn"] for p in attached] == [deny]
        with pytest.raises(admin_iam.exceptions.NoSuchEntityException):
            admin_iam.get_login_profile(UserName="unused-password")
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        assert len(messages) == 5  # one per action, one summary


def test_sweep_cannot_read_the_report_without_its_report_actions(role_statements, monkeypatch) -> None:
    """Positive control for the sweep: drop iam:GetCredentialReport and the run fails instead of guessing."""
    from remediator.sweep.report import ReportUnavailable

    with mock_aws():
        admin_iam = boto3.client("iam")
        admin_iam.generate_credential_report()
        statements = copy.deepcopy(role_statements["sweep"])
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "iam:GetCredentialReport"] or ["iam:GetUser"]
        _as_role(admin_iam, "weak-sweep", statements, monkeypatch)
        monkeypatch.delenv("FINDINGS_TABLE", raising=False)
        monkeypatch.delenv("TOPIC_ARN", raising=False)
        handler = load_function("sweep").lambda_handler
        with enable_iam_authentication(), pytest.raises(ReportUnavailable, match="AccessDenied"):
            handler({}, LocalLambdaContext(function_name="sweep"))


def test_enforcement_really_denies_a_missing_action(role_statements, monkeypatch) -> None:
    """Positive control: drop iam:UpdateAccessKey and access_keys can no longer remediate."""
    with mock_aws():
        admin_iam = boto3.client("iam")
        topic = boto3.client("sns").create_topic(Name="findings")["TopicArn"]
        statements = copy.deepcopy(role_statements["access_keys"])
        for statement in statements:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            statement["Action"] = [a for a in actions if a != "iam:UpdateAccessKey"] or ["iam:GetUser"]
        admin_iam.create_user(UserName="weak")
        admin_iam.put_user_policy(
            UserName="weak",
            PolicyName="role",
            PolicyDocument=json.dumps({"Version": "2012-10-17", "Statement": statements}),
        )
        key = admin_iam.create_access_key(UserName="weak")["AccessKey"]
        event = copy.deepcopy(DEMO_EVENTS["create-access-key-for-another-user.json"])
        ENACTORS["CreateAccessKey"](admin_iam, event["detail"])
        monkeypatch.setenv("MODE_ACCESS_KEYS", "remediate")
        monkeypatch.setenv("TOPIC_ARN", topic)
        monkeypatch.delenv("IDEMPOTENCY_TABLE", raising=False)
        monkeypatch.setenv("AWS_ACCESS_KEY_ID", key["AccessKeyId"])
        monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", key["SecretAccessKey"])
        monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
        handler = make_handler("access_keys")
        with enable_iam_authentication():
            result = handler(event, LocalLambdaContext())
        assert result["findings"][0]["outcome"] == "failed"


def test_a_role_someone_creates_under_our_path_stays_fixable_and_ours_stay_untouchable(monkeypatch):
    """admin_grants' role, with its Deny on the stack's own roles as the template writes it: it can detach an admin
    policy from a role an attacker created under /compliance-remediator/, and not from one of the stack's roles."""
    cfn = translate_template.translate()
    role = Resolver(cfn)(cfn["Resources"]["AdminGrantsFunctionRole"]["Properties"])
    statements = [s for policy in role["Policies"] for s in policy["PolicyDocument"]["Statement"]]
    allows = [
        {"Effect": "Allow", "Action": s["Action"], "Resource": "*"}
        for s in statements
        if s.get("Effect") == "Allow" and "Condition" not in s
    ]
    [never] = [s for s in statements if s.get("Sid") == "NeverModifyOurOwnRolesOrPolicies"]
    deny = {
        "Effect": "Deny",
        "Action": never["Action"],
        "Resource": [arn for arn in never["Resource"] if arn.startswith("arn:")],
    }  # the managed policy is a Ref
    with mock_aws():
        admin_iam = boto3.client("iam")
        everything = admin_iam.create_policy(
            PolicyName="everything",
            PolicyDocument=json.dumps(
                {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
            ),
        )
        policy = everything["Policy"]["Arn"]
        trust = json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [
                    {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
                ],
            }
        )
        for name in ("backdoor", "remediator-admin_grants"):
            admin_iam.create_role(RoleName=name, Path="/compliance-remediator/", AssumeRolePolicyDocument=trust)
            admin_iam.attach_role_policy(RoleName=name, PolicyArn=policy)
        _as_role(admin_iam, "as-admin-grants", [*allows, deny], monkeypatch)
        with enable_iam_authentication():
            ours = boto3.Session().client("iam")  # the credentials _as_role set
            ours.detach_role_policy(RoleName="backdoor", PolicyArn=policy)
            with pytest.raises(ClientError) as denied:
                ours.detach_role_policy(RoleName="remediator-admin_grants", PolicyArn=policy)
        assert denied.value.response["ResponseMetadata"]["HTTPStatusCode"] == 403
        assert admin_iam.list_attached_role_policies(RoleName="backdoor")["AttachedPolicies"] == []
