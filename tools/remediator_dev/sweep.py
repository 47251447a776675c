"""`remediator sweep`: the same sweep from a terminal, dry run unless `--remediate`.

By default it starts a moto server on 127.0.0.1 with a small sample account (an old key, a user
with two keys, an unused password, console users with and without MFA, an exempt user), so it
runs with no AWS account. `--endpoint-url` points it at a running moto server; `--live` uses your
own credentials (read-only unless `--remediate`).
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from typing import Any, TextIO

from remediator.config import EXEMPT_TAG, Settings
from remediator.findings import Mode

DENY_POLICY_NAME = "compliance-remediator-deny-without-mfa"
SAMPLE_PASSWORD = "Sample-Passw0rd-For-Moto!"  # a local moto account only


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _backdate(
    account: str, user: str, *, key_days: tuple[int, ...] = (), password_used_days: int | None = None
) -> None:
    """moto dates everything "now": age the sample's keys and sign-ins in the in-process backend."""
    from moto.iam.models import iam_backends

    entity: Any = iam_backends[account]["global"].users[user]  # moto's model, changed in place
    now = datetime.now(UTC).replace(tzinfo=None)
    for key, days in zip(entity.access_keys, key_days, strict=False):
        key.create_date = now - timedelta(days=days)
        key.last_used = now - timedelta(days=1)  # in use: old, not unused
    if password_used_days is not None:
        entity.password_last_used = now - timedelta(days=password_used_days)
        entity.create_date = now - timedelta(days=password_used_days + 30)


def seed_sample_account(iam: Any, account: str) -> None:
    """A handful of users, one per branch of the sweep."""
    for user in ("ana", "ben", "cai", "dee", "eve", "fay"):
        iam.create_user(UserName=user)
    iam.create_login_profile(UserName="ana", Password=SAMPLE_PASSWORD)  # console, no MFA
    for _ in range(2):
        iam.create_access_key(UserName="ben")  # two keys, the older one 200 days old
    iam.create_access_key(UserName="cai")  # one key, 120 days old
    iam.create_login_profile(UserName="dee", Password=SAMPLE_PASSWORD)  # password unused for 150 days
    iam.create_login_profile(UserName="eve", Password=SAMPLE_PASSWORD)  # console with MFA: fine
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="eve")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="eve", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    iam.create_access_key(UserName="fay")  # old key, but exempt
    iam.tag_user(UserName="fay", Tags=[{"Key": EXEMPT_TAG, "Value": "vendor integration, ticket SEC-42"}])
    _backdate(account, "ben", key_days=(200, 10))
    _backdate(account, "cai", key_days=(120,))
    _backdate(account, "dee", password_used_days=150)
    _backdate(account, "fay", key_days=(300,))


PUBLIC_READ = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "PublicRead", "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": ""}],
}
EC2_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def _public_policy(bucket: str) -> str:
    policy = json.loads(json.dumps(PUBLIC_READ))
    policy["Statement"][0]["Resource"] = f"arn:aws:s3:::{bucket}/*"
    return json.dumps(policy)


def seed_exposed_account(client: Any) -> dict[str, str]:
    """What the sweep's exposure checks look for, each next to its harmless twin: a public bucket (by policy) and
    one public by ACL, a private bucket and a public-policy bucket neutralised by its public access block; a
    security group open to the internet on SSH and one open on 443 only; an instance without a role (IMDSv1) and
    one with a role (IMDSv2); an internet-facing load balancer whose target is in no Auto Scaling group and
    which has no WAF web ACL. `client(service)` makes a client of the account. Returns the names made."""
    s3, ec2, elbv2, iam = client("s3"), client("ec2"), client("elbv2"), client("iam")
    names = {
        "public_bucket": "public-website-assets",
        "acl_bucket": "legacy-acl-share",
        "private_bucket": "private-reports",
        "blocked_bucket": "blocked-public-policy",
    }
    for bucket in names.values():
        s3.create_bucket(Bucket=bucket)
    s3.put_bucket_policy(Bucket=names["public_bucket"], Policy=_public_policy(names["public_bucket"]))
    s3.put_bucket_acl(Bucket=names["acl_bucket"], ACL="public-read")
    s3.put_bucket_policy(Bucket=names["blocked_bucket"], Policy=_public_policy(names["blocked_bucket"]))
    s3.put_public_access_block(
        Bucket=names["blocked_bucket"],
        PublicAccessBlockConfiguration={
            "BlockPublicAcls": True,
            "IgnorePublicAcls": True,
            "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True,
        },
    )
    vpc = ec2.describe_vpcs()["Vpcs"][0]["VpcId"]
    subnets = [s["SubnetId"] for s in ec2.describe_subnets()["Subnets"] if s["VpcId"] == vpc][:2]
    for name, port in (("open_group", 22), ("web_group", 443)):
        group = ec2.create_security_group(GroupName=f"sample-{port}", Description=f"port {port}", VpcId=vpc)["GroupId"]
        ec2.authorize_security_group_ingress(
            GroupId=group,
            IpPermissions=[
                {"IpProtocol": "tcp", "FromPort": port, "ToPort": port, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}
            ],
        )
        names[name] = group
    iam.create_role(RoleName="sample-app", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    iam.create_instance_profile(InstanceProfileName="sample-app")
    iam.add_role_to_instance_profile(InstanceProfileName="sample-app", RoleName="sample-app")
    image = ec2.describe_images()["Images"][0]["ImageId"]

    def launch(**extra: Any) -> str:
        instance: str = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[0], **extra)[
            "Instances"
        ][0]["InstanceId"]
        return instance

    names["roleless_instance"] = launch(MetadataOptions={"HttpTokens": "optional"})
    names["role_instance"] = launch(
        IamInstanceProfile={"Name": "sample-app"}, MetadataOptions={"HttpTokens": "required"}
    )
    balancer = elbv2.create_load_balancer(
        Name="sample-web", Subnets=subnets, Scheme="internet-facing", Type="application"
    )
    target_group = elbv2.create_target_group(
        Name="sample-web", Protocol="HTTP", Port=80, VpcId=vpc, TargetType="instance"
    )
    elbv2.register_targets(
        TargetGroupArn=target_group["TargetGroups"][0]["TargetGroupArn"], Targets=[{"Id": names["roleless_instance"]}]
    )
    elbv2.create_listener(
        LoadBalancerArn=balancer["LoadBalancers"][0]["LoadBalancerArn"],
        Protocol="HTTP",
        Port=80,
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group["TargetGroups"][0]["TargetGroupArn"]}],
    )
    names["load_balancer"] = "sample-web"
    return names


def _print(report: Any, as_json: bool, out: TextIO) -> None:
    from remediator.sweep.checks import check_of
    from remediator.sweep.summary import summary_text

    if as_json:
        data = report.as_dict()
        data["items"] = [
            {**f.as_spec(), "check": check_of(f), "user": f.resource.name, "act_now": not f.details.get("grace_hours")}
            for f in report.findings
        ]
        data["outcomes"] = [
            {"user": f.resource.name, "check": check_of(f), "outcome": str(r.outcome), "detail": r.detail}
            for f, r in report.actions
        ]
        print(json.dumps(data), file=out)
        return
    _, text, _ = summary_text(report)
    print(text, file=out)
    for finding in report.findings:
        if finding.action and not finding.exempt and not report.actions:
            print(f"  would: {finding.action}", file=out)
    for _, result in report.actions:
        print(f"  {result.outcome}: {result.detail}", file=out)


def run_cli(*, endpoint_url: str | None, live: bool, remediate: bool, as_json: bool, out: TextIO = sys.stdout) -> int:
    """Run one sweep and print it; exit 0 when the sweep ran."""
    from remediator.aws import AwsClients
    from remediator.sweep.run import run_sweep

    mode = Mode.REMEDIATE if remediate else Mode.NOTIFY
    server = None
    if not live and not endpoint_url:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        port = _free_port()
        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()
        endpoint_url = f"http://127.0.0.1:{port}"
    if not live:
        os.environ.update({"AWS_ACCESS_KEY_ID": "sweep", "AWS_SECRET_ACCESS_KEY": "sweep"})
        os.environ.pop("AWS_PROFILE", None)
    try:
        aws = AwsClients(endpoint_url=endpoint_url if not live else None, region="us-east-1")
        settings = Settings.from_env(live=True)
        if server is not None:
            seed_sample_account(aws.iam, "123456789012")
            seed_exposed_account(aws.client)
        policy_arn = settings.deny_without_mfa_policy_arn
        if remediate and not live and not policy_arn:
            from remediator.rules.console_mfa import deny_without_mfa_document

            policy_arn = aws.iam.create_policy(
                PolicyName=DENY_POLICY_NAME, PolicyDocument=json.dumps(deny_without_mfa_document())
            )["Policy"]["Arn"]
        settings = replace(
            settings,
            sweep_mode=mode,
            modes={**settings.modes, "console_mfa": mode},
            topic_arn=None,
            deny_without_mfa_policy_arn=policy_arn,
            # the sample account exempts fay by tag, as an operator who turned tag exemptions on
            honour_exempt_tags=settings.honour_exempt_tags or server is not None,
        )
        report = run_sweep(aws, settings)
        _print(report, as_json, out)
    finally:
        if server is not None:
            server.stop()
    return 0
