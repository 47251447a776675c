"""The sweep calls only the AWS actions remediator.sweep.permissions declares (the ones its role grants).

The Lambda handler (functions/sweep/app.py) runs on moto over one scenario per branch while every boto3
operation is recorded; an operation missing from the declaration fails here before it can fail in AWS
with AccessDenied, and a declared action no scenario calls fails too (the declaration must not rot).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from moto import mock_aws

from remediator.findings import Resource
from remediator.rules.console_mfa import deny_without_mfa_document
from remediator.store import FindingsStore, resource_key, table_definition
from remediator.sweep.permissions import ACTION_OF_OPERATION, CALLED_ACTIONS, IAM_ACTIONS, REPORT_ACTIONS
from remediator_dev.demo import LocalLambdaContext
from remediator_dev.sweep import seed_exposed_account, seed_sample_account
from tests.conftest import load_function

ACCOUNT = "123456789012"


class Recorder:
    """Every operation a boto3 client makes while `recording`, as "<signing name>:<Operation>"."""

    def __init__(self) -> None:
        self.calls: set[str] | None = None

    def install(self, monkeypatch: pytest.MonkeyPatch) -> None:
        original = BaseClient._make_api_call
        recorder = self

        def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if recorder.calls is not None:
                model = client.meta.service_model
                recorder.calls.add(
                    ACTION_OF_OPERATION.get(
                        (model.service_name, operation_name), f"{model.signing_name}:{operation_name}"
                    )
                )
            return original(client, operation_name, api_params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)


def _unused_key(user: str, days: int) -> None:
    """A key created `days` ago and never used (moto dates it now)."""
    from moto.iam.models import iam_backends

    key = iam_backends[ACCOUNT]["global"].users[user].access_keys[0]
    key.create_date = datetime.now(UTC).replace(tzinfo=None) - timedelta(days=days)
    key.last_used = None


def _account(monkeypatch: pytest.MonkeyPatch, env: dict[str, str]) -> dict[str, Any]:
    """The sample account (old keys, unused password, console users with and without MFA, an exempt user)
    plus a never-used key, the findings table, the topic and the deny policy; the handler's environment."""
    iam, sns, db = boto3.client("iam"), boto3.client("sns"), boto3.client("dynamodb")
    seed_sample_account(iam, ACCOUNT)
    iam.create_user(UserName="gus")
    iam.create_access_key(UserName="gus")
    _unused_key("gus", 200)
    iam.generate_credential_report()  # moto answers STARTED once: spare the sweep its 1 s back-off
    db.create_table(**table_definition("findings"))
    topic = sns.create_topic(Name="findings")["TopicArn"]
    policy = iam.create_policy(PolicyName="deny-without-mfa", PolicyDocument=json.dumps(deny_without_mfa_document()))[
        "Policy"
    ]["Arn"]
    variables = {
        "TOPIC_ARN": topic,
        "FINDINGS_TABLE": "findings",
        "DENY_WITHOUT_MFA_POLICY_ARN": policy,
        "MODE_SWEEP": "remediate",
        "MODE_CONSOLE_MFA": "remediate",
        **env,
    }
    for name, value in variables.items():
        monkeypatch.setenv(name, value)
    return {"db": db}


def _event_function_opened_ana_first(monkeypatch: pytest.MonkeyPatch, account: dict[str, Any]) -> None:
    """console_mfa's event function opens ana's warning after the sweep read the index: the sweep's
    conditional put fails and it reads the existing warning instead."""
    FindingsStore(account["db"], "findings").open_finding(
        resource_key(Resource("user", "ana", ACCOUNT)), "console_mfa", grace=timedelta(hours=24)
    )
    monkeypatch.setattr(FindingsStore, "open_findings", lambda self, rule: iter(()))


def _watched_and_logged(monkeypatch: pytest.MonkeyPatch, account: dict[str, Any]) -> None:
    """The coverage self-check reads a logging trail, one of our rules with its target and one of our queues."""
    boto3.client("s3").create_bucket(Bucket="trail-logs")
    cloudtrail, events, sqs = boto3.client("cloudtrail"), boto3.client("events"), boto3.client("sqs")
    cloudtrail.create_trail(Name="org", S3BucketName="trail-logs", IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name="org")
    events.put_rule(Name="remediator-AccessKeysFunctionCloudTrail-X", EventPattern='{"source": ["aws.iam"]}')
    function = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:access-keys"
    events.put_targets(Rule="remediator-AccessKeysFunctionCloudTrail-X", Targets=[{"Id": "f", "Arn": function}])
    queue = sqs.create_queue(QueueName="remediator-AccessKeysRuleDLQ-X")["QueueUrl"]
    monkeypatch.setenv("WATCHED_RULES", f"remediator-AccessKeysFunctionCloudTrail-X={function}")
    monkeypatch.setenv("WATCHED_QUEUES", queue)
    monkeypatch.setenv("HONOUR_EXEMPT_TAGS", "true")  # exemption tags are read (declared: iam:ListUserTags)


def _exposed(monkeypatch: pytest.MonkeyPatch, account: dict[str, Any]) -> None:
    """Public and private buckets, open and web-only security groups, instances, an internet-facing load balancer."""
    seed_exposed_account(boto3.client)
    boto3.client("s3control").put_public_access_block(
        AccountId=ACCOUNT, PublicAccessBlockConfiguration={"BlockPublicAcls": True}
    )


NO_WAIT = {"MFA_GRACE_PERIOD_HOURS": "0", "KEY_WARNING_DAYS": "0"}
SCENARIOS: dict[str, tuple[dict[str, str], Callable[[pytest.MonkeyPatch, dict[str, Any]], None] | None]] = {
    "remediate, warning periods opened": ({}, None),
    "remediate, no warning period (deny policy)": (NO_WAIT, None),
    "remediate, no warning period (delete login profile)": (
        {**NO_WAIT, "CONSOLE_MFA_REMEDIATION": "delete-login-profile"},
        None,
    ),
    "notify": ({"MODE_SWEEP": "notify", "MODE_CONSOLE_MFA": "notify"}, None),
    "warning already opened by the event function": ({}, _event_function_opened_ana_first),
    "coverage: a logging trail, our rule and queue watched": ({}, _watched_and_logged),
    "exposure: buckets, security groups, instances, a load balancer": ({}, _exposed),
}


@pytest.fixture(scope="module")
def called() -> Iterator[dict[str, set[str]]]:
    """Scenario -> the operations the sweep handler called in it."""
    found: dict[str, set[str]] = {}
    with pytest.MonkeyPatch.context() as patch:
        recorder = Recorder()
        recorder.install(patch)
        for name, (env, prepare) in SCENARIOS.items():
            with pytest.MonkeyPatch.context() as monkeypatch, mock_aws():
                account = _account(monkeypatch, env)
                if prepare:
                    prepare(monkeypatch, account)
                handler = load_function("sweep").lambda_handler
                recorder.calls = set()
                summary = handler({}, LocalLambdaContext(function_name="sweep"))
                found[name], recorder.calls = recorder.calls, None
                assert summary["findings"] and "failed" not in summary["actions"], (name, summary)
    yield found


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_the_sweep_calls_only_declared_actions(called, scenario) -> None:
    undeclared = called[scenario] - CALLED_ACTIONS
    assert not undeclared, f"{scenario}: add {sorted(undeclared)} to remediator/sweep/permissions.py and the role"


def test_every_declared_action_is_called_in_some_scenario(called) -> None:
    assert set().union(*called.values()) == CALLED_ACTIONS


def test_the_report_is_read_in_every_run_and_acting_only_in_remediate_mode(called) -> None:
    for scenario, calls in called.items():
        assert set(REPORT_ACTIONS) <= calls, scenario
    changes = {"iam:UpdateAccessKey", "iam:DeleteLoginProfile", "iam:AttachUserPolicy"}
    assert not called["notify"] & changes
    assert "iam:AttachUserPolicy" in called["remediate, no warning period (deny policy)"]
    assert "iam:AttachUserPolicy" not in called["remediate, no warning period (delete login profile)"]


def test_the_recorder_sees_an_undeclared_call(monkeypatch) -> None:
    """Positive control: an IAM call outside the declaration shows up as undeclared."""
    recorder = Recorder()
    recorder.install(monkeypatch)
    with mock_aws():
        recorder.calls = set()
        boto3.client("iam").list_users()
        assert recorder.calls - CALLED_ACTIONS == {"iam:ListUsers"}
    assert "iam:ListUsers" not in IAM_ACTIONS
