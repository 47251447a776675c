"""ec2_without_role: each branch decided in dry run, then against a moto account (the change really made, verified,
nothing else touched, the message published)."""

from __future__ import annotations

import copy
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope, parse_record
from remediator.findings import Decision, Mode, Outcome
from remediator.manual import fix_command
from remediator.notify import publish
from remediator.rules import ec2_without_role
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

ACCOUNT = "123456789012"
REGION = "eu-west-1"
PROFILE = "compliance-remediator-ec2-baseline"
DRY_RUN = EvalContext(Settings(live=False), AssumedState())
RULE = ("ec2_without_role",)
DAVE = {
    "type": "AssumedRole",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/developer/dave",
    "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/developer"}},
}
EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def decided_file(file: str, context: EvalContext = DRY_RUN) -> Decision:
    return decide(parse_envelope(load_event(file)), context, RULE)


def run_record(
    items: list[dict[str, Any]] | None, params: dict[str, Any] | None = None, **fields: Any
) -> dict[str, Any]:
    """A RunInstances record: the response's instances (None: no responseElements), the request's parameters."""
    return {
        "eventName": "RunInstances",
        "eventSource": "ec2.amazonaws.com",
        "eventID": "unit-run",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "userIdentity": DAVE,
        "requestParameters": {"instanceType": "t3.micro", **(params or {})},
        "responseElements": {"instancesSet": {"items": items}} if items is not None else None,
        **fields,
    }


def item(instance_id: str, tokens: str | None = "required", profile: bool = False) -> dict[str, Any]:
    found: dict[str, Any] = {"instanceId": instance_id}
    if tokens:
        found["metadataOptions"] = {"httpTokens": tokens, "state": "pending"}
    if profile:
        found["iamInstanceProfile"] = {"arn": f"arn:aws:iam::{ACCOUNT}:instance-profile/app", "id": "AIPAEXAMPLE"}
    return found


def decided(raw: dict[str, Any], context: EvalContext = DRY_RUN) -> Decision:
    return decide(parse_record(raw), context, RULE)


# ---------------------------------------------------------------- dry run: what the event alone says


def test_a_launch_without_a_role_and_with_imdsv1_is_medium_and_plans_both_fixes() -> None:
    [finding] = decided_file("run-instances-without-role.json").findings
    assert finding.severity == "medium" and finding.resource.name == "i-0a1b2c3d4e5f60751"
    assert "without an instance profile" in finding.reason and "IMDSv1" in finding.reason
    assert finding.action == (
        "require IMDSv2 on i-0a1b2c3d4e5f60751, then attach the stack's baseline instance profile to "
        "i-0a1b2c3d4e5f60751"
    )
    assert finding.resource.arn == f"arn:aws:ec2:{REGION}:{ACCOUNT}:instance/i-0a1b2c3d4e5f60751"


def test_a_launch_with_a_role_and_imdsv2_is_no_finding() -> None:
    decision = decided(run_record([item("i-0123456789abcdef0", "required", profile=True)]))
    assert decision.findings == [] and decision.skipped is None


def test_the_requests_profile_counts_when_the_response_does_not_repeat_it() -> None:
    raw = run_record([item("i-0123456789abcdef0")], {"iamInstanceProfile": {"name": "app"}})
    assert decided(raw).findings == []


def test_imdsv1_on_an_instance_with_a_role_is_high_and_only_requires_imdsv2() -> None:
    [finding] = decided(run_record([item("i-0123456789abcdef0", "optional", profile=True)])).findings
    assert finding.severity == "high" and "reads its role's credentials" in finding.reason
    assert finding.action == "require IMDSv2 on i-0123456789abcdef0"
    assert finding.details["attach"] == []


def test_an_explicit_optional_in_the_request_is_imdsv1_when_the_response_says_nothing() -> None:
    raw = run_record([item("i-0123456789abcdef0", None, profile=True)], {"metadataOptions": {"httpTokens": "optional"}})
    [finding] = decided(raw).findings
    assert finding.severity == "high"


def test_no_response_and_no_profile_is_reported_without_an_action() -> None:
    [finding] = decided(run_record(None)).findings
    assert finding.action is None and "does not name the instance" in finding.reason


def test_a_launch_template_in_dry_run_is_assumed_to_give_no_profile_and_says_so() -> None:
    [finding] = decided_file("run-instances-from-launch-template.json").findings
    assert "assumed none" in finding.reason and finding.severity == "medium"


def test_autoscaling_launch_whose_response_shows_the_profile_is_no_finding() -> None:
    raw = run_record(
        [item("i-0123456789abcdef0", "required", profile=True)],
        {"clientToken": "fleet-180da986-0"},
        userIdentity={**DAVE, "invokedBy": "autoscaling.amazonaws.com"},
    )
    assert decided(raw).findings == []


def test_a_removed_instance_profile_is_medium_and_names_what_puts_it_back() -> None:
    [finding] = decided_file("disassociate-iam-instance-profile.json").findings
    assert finding.severity == "medium" and "removed the instance profile of i-0a1b2c3d4e5f60753" in finding.reason
    assert "Arn=arn:aws:iam::123456789012:instance-profile/app-server puts it back" in finding.reason
    assert finding.details["attach"] == ["i-0a1b2c3d4e5f60753"]


def test_imdsv1_turned_back_on_is_high_in_dry_run_assuming_a_role() -> None:
    [finding] = decided_file("modify-instance-metadata-options-optional.json").findings
    assert finding.severity == "high" and "State assumed (dry run): the instance has a role." in finding.reason
    assert finding.action == "require IMDSv2 on i-0a1b2c3d4e5f60754"


def test_requiring_imdsv2_is_handled_and_nothing_risky() -> None:
    event = copy.deepcopy(load_event("modify-instance-metadata-options-optional.json"))
    event["detail"]["requestParameters"]["ModifyInstanceMetadataOptionsRequest"]["HttpTokens"] = "required"
    decision = decide(parse_envelope(event), DRY_RUN, RULE)
    assert decision.findings == [] and decision.skipped is None


def test_a_failed_launch_is_no_finding() -> None:
    decision = decided(run_record(None, errorCode="Client.DryRunOperation"))
    assert decision.findings == [] and decision.skipped == "failed call"


def test_an_instance_id_that_is_not_one_is_reported_but_never_acted_on() -> None:
    [finding] = decided(run_record([item("i-0123; rm -rf /", "optional")])).findings
    assert finding.action is None and finding.details["require_imdsv2"] == []


def test_a_break_glass_caller_is_reported_exempt_and_nothing_is_planned() -> None:
    context = EvalContext(Settings(live=False, break_glass_arns=frozenset({DAVE["arn"]})), AssumedState())
    [finding] = decided_file("run-instances-without-role.json", context).findings
    assert finding.exempt and finding.action is None


def test_a_large_launch_is_bounded_and_says_how_many_were_judged() -> None:
    items = [item(f"i-{n:017x}", "optional") for n in range(30)]
    [finding] = decided(run_record(items)).findings
    assert len(finding.details["attach"]) == ec2_without_role.MAX_INSTANCES
    assert "30 instances were launched" in finding.reason


def test_the_manual_command_requires_imdsv2_then_attaches_the_profile() -> None:
    context = EvalContext(Settings(live=False, ec2_baseline_instance_profile=PROFILE), AssumedState())
    [finding] = decided_file("run-instances-without-role.json", context).findings
    assert fix_command(finding) == (
        "aws ec2 modify-instance-metadata-options --instance-id i-0a1b2c3d4e5f60751 --http-tokens required "
        f"--http-endpoint enabled --region {REGION} && aws ec2 associate-iam-instance-profile --instance-id "
        f"i-0a1b2c3d4e5f60751 --iam-instance-profile Name={PROFILE} --region {REGION}"
    )


# ---------------------------------------------------------------- against a moto account


@pytest.fixture
def account(monkeypatch: pytest.MonkeyPatch) -> Iterator[dict[str, Any]]:
    """An account with the stack's baseline profile, an app profile, and a launch template of each kind."""
    monkeypatch.setattr(ec2_without_role, "SETTLE_SECONDS", 0)
    with mock_aws():
        iam = boto3.client("iam")
        for name in (PROFILE, "app"):
            iam.create_role(RoleName=name, AssumeRolePolicyDocument=EC2_TRUST)
            iam.create_instance_profile(InstanceProfileName=name, Path="/compliance-remediator/")
            iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
        ec2 = boto3.client("ec2", region_name=REGION)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        with_profile = ec2.create_launch_template(
            LaunchTemplateName="with-profile",
            LaunchTemplateData={"ImageId": image, "IamInstanceProfile": {"Name": "app"}},
        )["LaunchTemplate"]["LaunchTemplateId"]
        without = ec2.create_launch_template(LaunchTemplateName="bare", LaunchTemplateData={"ImageId": image})[
            "LaunchTemplate"
        ]["LaunchTemplateId"]
        yield {"ec2": ec2, "iam": iam, "image": image, "with_profile": with_profile, "bare": without}


def live(**settings: Any) -> EvalContext:
    aws = AwsClients(region=REGION)
    return EvalContext(Settings(ec2_baseline_instance_profile=PROFILE, **settings), LiveState(aws.iam, aws))


def launch(ec2: Any, image: str, tokens: str = "optional", **kwargs: Any) -> str:
    instance: str = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, MetadataOptions={"HttpTokens": tokens}, **kwargs
    )["Instances"][0]["InstanceId"]
    return instance


def described(ec2: Any, instance: str) -> dict[str, Any]:
    found: dict[str, Any] = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
    return found


def from_template(instance: str, template: str) -> dict[str, Any]:
    """The launch as CloudTrail records it when the profile came from the template: none in the event."""
    return run_record([item(instance, "required")], {"launchTemplate": {"launchTemplateId": template, "version": "1"}})


def test_live_a_launch_templates_profile_on_the_instance_is_no_finding(account) -> None:
    ec2 = account["ec2"]
    instance = launch(ec2, account["image"], "required", LaunchTemplate={"LaunchTemplateId": account["with_profile"]})
    # moto does not apply a template's IamInstanceProfile; EC2 does: make the instance what EC2 would make.
    if not described(ec2, instance).get("IamInstanceProfile"):
        ec2.associate_iam_instance_profile(InstanceId=instance, IamInstanceProfile={"Name": "app"})
    decision = decided(from_template(instance, account["with_profile"]), live())
    assert decision.findings == [] and decision.skipped is None


def test_live_a_launch_template_without_a_profile_is_read_and_reported(account) -> None:
    ec2 = account["ec2"]
    instance = launch(ec2, account["image"], "required", LaunchTemplate={"LaunchTemplateId": account["bare"]})
    [finding] = decided(from_template(instance, account["bare"]), live()).findings
    assert finding.severity == "medium" and finding.details["attach"] == [instance]
    assert "State assumed" not in finding.reason


def test_live_an_instance_that_cannot_be_read_is_low_and_never_acted_on(account) -> None:
    [finding] = decided(from_template("i-0fffffffffffffff0", account["bare"]), live()).findings
    assert finding.severity == "low" and finding.action is None and "could not read" in finding.reason


@pytest.mark.parametrize(("with_role", "severity"), [(True, "high"), (False, "medium")])
def test_live_imdsv1_turned_back_on_is_high_only_on_an_instance_with_a_role(account, with_role, severity) -> None:
    ec2 = account["ec2"]
    instance = launch(
        ec2, account["image"], "optional", **({"IamInstanceProfile": {"Name": "app"}} if with_role else {})
    )
    event = copy.deepcopy(load_event("modify-instance-metadata-options-optional.json"))
    event["detail"]["requestParameters"]["ModifyInstanceMetadataOptionsRequest"]["InstanceId"] = instance
    [finding] = decide(parse_envelope(event), live(), RULE).findings
    assert finding.severity == severity and "State assumed" not in finding.reason


def _inbox() -> tuple[str, str]:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    return topic, queue


def test_remediate_requires_imdsv2_and_attaches_the_baseline_profile_and_touches_nothing_else(account) -> None:
    ec2 = account["ec2"]
    target, bystander = launch(ec2, account["image"]), launch(ec2, account["image"])
    event = copy.deepcopy(load_event("run-instances-without-role.json"))
    event["detail"]["responseElements"]["instancesSet"]["items"][0]["instanceId"] = target
    record = parse_envelope(event)
    [finding] = decide(record, live(modes={"ec2_without_role": Mode.REMEDIATE}), RULE).findings
    assert finding.mode == Mode.REMEDIATE
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.VERIFIED, result
    after = described(ec2, target)
    assert after["MetadataOptions"]["HttpTokens"] == "required"
    assert after["IamInstanceProfile"]["Arn"].endswith(f"/{PROFILE}")
    [association] = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [target]}]
    )["IamInstanceProfileAssociations"]
    assert f"disassociate-iam-instance-profile --association-id {association['AssociationId']}" in result.detail
    untouched = described(ec2, bystander)
    assert untouched["MetadataOptions"]["HttpTokens"] == "optional" and not untouched.get("IamInstanceProfile")

    topic, queue = _inbox()
    publish(boto3.client("sns"), topic, finding, record, result)
    [message] = boto3.client("sqs").receive_message(QueueUrl=queue)["Messages"]
    body = json.loads(message["Body"])
    assert body["MessageAttributes"]["rule"]["Value"] == "ec2_without_role"
    assert body["MessageAttributes"]["action"]["Value"] == "verified"
    assert target in json.loads(body["Message"])["reason"]


def test_remediate_leaves_a_profile_someone_attached_meanwhile(account) -> None:
    ec2 = account["ec2"]
    instance = launch(ec2, account["image"])
    [finding] = decided(
        run_record([item(instance, "optional")]), live(modes={"ec2_without_role": Mode.REMEDIATE})
    ).findings
    ec2.associate_iam_instance_profile(InstanceId=instance, IamInstanceProfile={"Name": "app"})
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.VERIFIED and "already had profile app (left alone)" in result.detail
    assert described(ec2, instance)["IamInstanceProfile"]["Arn"].endswith("/app")


def test_remediate_without_a_configured_profile_changes_nothing(account) -> None:
    ec2 = account["ec2"]
    instance = launch(ec2, account["image"])
    context = EvalContext(
        Settings(modes={"ec2_without_role": Mode.REMEDIATE}), LiveState(AwsClients(region=REGION).iam)
    )
    [finding] = decided(run_record([item(instance, "optional")]), context).findings
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.SKIPPED and "EC2_BASELINE_INSTANCE_PROFILE" in result.detail
    assert described(ec2, instance)["MetadataOptions"]["HttpTokens"] == "optional"


def test_remediate_on_an_instance_gone_since_says_so(account) -> None:
    [finding] = decided(
        run_record([item("i-0fffffffffffffff0", "optional", profile=True)]),
        live(modes={"ec2_without_role": Mode.REMEDIATE}),
    ).findings
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.SKIPPED and "no longer exists" in result.detail


def test_notify_mode_changes_nothing(account) -> None:
    ec2 = account["ec2"]
    instance = launch(ec2, account["image"])
    [finding] = decided(run_record([item(instance, "optional")]), live()).findings
    assert act(finding, AwsClients(region=REGION)).outcome == Outcome.NOTIFIED
    after = described(ec2, instance)
    assert after["MetadataOptions"]["HttpTokens"] == "optional" and not after.get("IamInstanceProfile")
