"""The sweep's exposure checks on moto: what is already public or open is named in the one summary, its harmless
twin is not, and nothing is changed."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.sweep.exposure import DEFAULT_PORTS, _open_ports, exposure_findings, public_statements
from remediator.sweep.run import run_sweep
from remediator_dev.sweep import seed_exposed_account

ACCOUNT = "123456789012"


@pytest.fixture
def exposed() -> Iterator[dict[str, str]]:
    with mock_aws():
        yield seed_exposed_account(boto3.client)


def _summary() -> str:
    sns, sqs = boto3.client("sns"), boto3.client("sqs")
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    boto3.client("iam").generate_credential_report()
    run_sweep(AwsClients(), Settings(topic_arn=topic), sleep=lambda _: None)
    messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10)["Messages"]
    [summary] = [json.loads(m["Body"])["Message"] for m in messages if "sweep of account" in m["Body"]]
    text: str = summary
    return text


def test_the_summary_names_what_is_exposed_and_not_its_harmless_twin(exposed) -> None:
    text = _summary()
    section = text.split("EXPOSURE", 1)[1].split("Findings per check:", 1)[0]
    for name in ("public_bucket", "acl_bucket", "open_group", "roleless_instance", "load_balancer"):
        assert exposed[name] in section, name
    for name in ("private_bucket", "blocked_bucket", "web_group", "role_instance"):
        assert exposed[name] not in section, name
    for rule in ("s3_public: 2", "open_security_group: 1", "ec2_without_role: 1", "ddos_posture: 1"):
        assert rule in text


def test_nothing_is_changed(exposed) -> None:
    _summary()
    ec2 = boto3.client("ec2")
    described = ec2.describe_instances(InstanceIds=[exposed["roleless_instance"]])["Reservations"][0]["Instances"][0]
    assert not described.get("IamInstanceProfile") and described["MetadataOptions"]["HttpTokens"] == "optional"
    assert boto3.client("s3").get_bucket_policy(Bucket=exposed["public_bucket"])["Policy"]
    [group] = ec2.describe_security_groups(GroupIds=[exposed["open_group"]])["SecurityGroups"]
    assert group["IpPermissions"][0]["IpRanges"] == [{"CidrIp": "0.0.0.0/0"}]


def test_the_accounts_public_access_block_neutralises_every_bucket(exposed) -> None:
    everything = dict.fromkeys(
        ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets"), True
    )
    boto3.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=everything)
    assert not [f for f in exposure_findings(AwsClients(), ACCOUNT) if f.rule == "s3_public"]


def test_a_target_in_an_auto_scaling_group_or_behind_waf_is_no_ddos_finding(exposed) -> None:
    elbv2 = boto3.client("elbv2")
    balancer = elbv2.describe_load_balancers(Names=[exposed["load_balancer"]])["LoadBalancers"][0]["LoadBalancerArn"]
    acl = boto3.client("wafv2").create_web_acl(
        Name="edge",
        Scope="REGIONAL",
        DefaultAction={"Allow": {}},
        VisibilityConfig={"SampledRequestsEnabled": False, "CloudWatchMetricsEnabled": False, "MetricName": "edge"},
    )["Summary"]["ARN"]
    boto3.client("wafv2").associate_web_acl(WebACLArn=acl, ResourceArn=balancer)
    assert not [f for f in exposure_findings(AwsClients(), ACCOUNT) if f.rule == "ddos_posture"]


def test_an_auto_scaled_target_is_no_ddos_finding(exposed) -> None:
    ec2, autoscaling = boto3.client("ec2"), boto3.client("autoscaling")
    subnet = ec2.describe_instances(InstanceIds=[exposed["roleless_instance"]])["Reservations"][0]["Instances"][0][
        "SubnetId"
    ]
    autoscaling.create_launch_configuration(
        LaunchConfigurationName="web", ImageId="ami-12c6146b", InstanceType="t3.micro"
    )
    autoscaling.create_auto_scaling_group(
        AutoScalingGroupName="web", LaunchConfigurationName="web", MinSize=0, MaxSize=2, VPCZoneIdentifier=subnet
    )
    autoscaling.attach_instances(AutoScalingGroupName="web", InstanceIds=[exposed["roleless_instance"]])
    assert not [f for f in exposure_findings(AwsClients(), ACCOUNT) if f.rule == "ddos_posture"]


def test_a_refused_read_is_a_low_finding_not_a_crash(exposed, monkeypatch) -> None:
    from botocore.exceptions import ClientError

    def refused(*args: Any, **kwargs: Any) -> Any:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "DescribeSecurityGroups")

    ec2 = AwsClients().regional("ec2", None)
    monkeypatch.setattr(ec2, "get_paginator", lambda name: type("P", (), {"paginate": refused})())
    from remediator.sweep.exposure import open_security_groups

    [finding] = open_security_groups(ec2, ACCOUNT, "us-east-1")
    assert (
        finding.severity == "low"
        and "could not check the security groups in us-east-1 (AccessDenied)" in finding.reason
    )


@pytest.mark.parametrize(
    ("permission", "opened"),
    [
        ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "tcp 22"),
        ({"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, None),
        ({"IpProtocol": "tcp", "FromPort": 80, "ToPort": 443, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, "tcp 80-443"),
        ({"IpProtocol": "-1", "Ipv6Ranges": [{"CidrIpv6": "::/0"}]}, "all ports"),
        ({"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}, None),
        ({"IpProtocol": "icmp", "FromPort": -1, "ToPort": -1, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}, None),
    ],
)
def test_ports_open_to_any_address_outside_the_web(permission: dict[str, Any], opened: str | None) -> None:
    assert _open_ports(permission, DEFAULT_PORTS) == opened


def test_the_port_allow_list_is_the_stacks_parameter() -> None:
    """A team that serves SSH on purpose lists 22 in PublicIngressPorts: the sweep then agrees with the rule."""
    ssh = {"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
    assert _open_ports(ssh, ((22, 22), (443, 443))) is None
    assert _open_ports({**ssh, "FromPort": 22, "ToPort": 25}, ((22, 22),)) == "tcp 22-25"


@pytest.mark.parametrize(
    ("condition", "public"),
    [
        (None, True),
        ({"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}, False),
        ({"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc123def4"}}, True),
        ({"StringLike": {"aws:SourceArn": "*"}}, True),
        ({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}}, False),
        ({"IpAddress": {"aws:SourceIp": "0.0.0.0/1"}}, True),
        ({"Bool": {"aws:SecureTransport": "true"}}, True),
    ],
)
def test_a_policy_is_public_unless_a_condition_pins_the_caller(condition: Any, public: bool) -> None:
    statement: dict[str, Any] = {"Sid": "S", "Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "s3:GetObject"}
    if condition:
        statement["Condition"] = condition
    assert bool(public_statements({"Statement": [statement]})) == public
