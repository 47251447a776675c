"""Benchmark the ec2_without_role handler on a moto server: warm time per event and every AWS call per event,
by name (a botocore hook), for three cases:

- an instance launched without a role and with IMDSv1, remediate mode (idempotency, exemption lookup, IMDSv2
  required, the baseline profile attached, one re-read, publish);
- the same in notify mode (no change: the finding is published);
- a launch from a launch template that gave the instance its profile (one DescribeInstances, no finding).

Usage: .venv/bin/python scripts/bench_ec2_rule.py [--events 100]
Loopback only: it starts `moto_server` on 127.0.0.1 and stops it when done.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import importlib.util
import io
import json
import os
import statistics
import sys
import time
import uuid
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench_handler import environment as shared_environment
from bench_handler import moto_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
WITHOUT_ROLE = json.loads((ROOT / "events" / "run-instances-without-role.json").read_text())
FROM_TEMPLATE = json.loads((ROOT / "events" / "run-instances-from-launch-template.json").read_text())
PROFILE = "compliance-remediator-ec2-baseline"
TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
}


def environment(endpoint: str) -> dict[str, str]:
    return {
        **shared_environment(endpoint),
        "AWS_LAMBDA_FUNCTION_NAME": "ec2_without_role",
        "EC2_BASELINE_INSTANCE_PROFILE": PROFILE,
    }


def setup_account() -> tuple[str, str, str]:
    """The tables, the topic, the baseline and an app profile, a launch template that sets the app profile."""
    import boto3

    from remediator.exemption_list import table_definition as exemption_table

    dynamodb, iam, ec2 = boto3.client("dynamodb"), boto3.client("iam"), boto3.client("ec2")
    dynamodb.create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    dynamodb.create_table(**exemption_table("exemptions"))
    for name in (PROFILE, "app"):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=json.dumps(TRUST))
        iam.create_instance_profile(InstanceProfileName=name)
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    template = ec2.create_launch_template(
        LaunchTemplateName="app", LaunchTemplateData={"ImageId": image, "IamInstanceProfile": {"Name": "app"}}
    )["LaunchTemplate"]["LaunchTemplateId"]
    return boto3.client("sns").create_topic(Name="findings")["TopicArn"], image, template


def launched(ec2: Any, image: str, template: str | None) -> dict[str, Any]:
    """A new instance and its RunInstances event (moto does not apply a template's profile: attach it as EC2 would)."""
    if template:
        instance = ec2.run_instances(
            MinCount=1,
            MaxCount=1,
            LaunchTemplate={"LaunchTemplateId": template},
            MetadataOptions={"HttpTokens": "required"},
        )
        instance_id = instance["Instances"][0]["InstanceId"]
        ec2.associate_iam_instance_profile(InstanceId=instance_id, IamInstanceProfile={"Name": "app"})
        event = copy.deepcopy(FROM_TEMPLATE)
        event["detail"]["requestParameters"]["launchTemplate"]["launchTemplateId"] = template
    else:
        instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, MetadataOptions={"HttpTokens": "optional"})
        instance_id = instance["Instances"][0]["InstanceId"]
        event = copy.deepcopy(WITHOUT_ROLE)
    event["region"] = event["detail"]["awsRegion"] = "us-east-1"
    event["detail"]["eventID"] = str(uuid.uuid4())
    event["detail"]["responseElements"]["instancesSet"]["items"][0]["instanceId"] = instance_id
    return event


def count_calls() -> Counter[str]:
    """Every AWS call by service and operation, whichever client makes it."""
    from botocore.client import BaseClient

    counter: Counter[str] = Counter()
    original = BaseClient._make_api_call

    def counting(self: Any, operation_name: str, api_params: dict[str, Any]) -> Any:
        counter[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting  # type: ignore[method-assign]
    return counter


def measure(
    name: str, handler: Callable[..., Any], make_event: Callable[[], dict[str, Any]], events: int, expect: str | None
) -> None:
    from remediator_dev.demo import LocalLambdaContext

    counter = COUNTER
    context = LocalLambdaContext(function_name="ec2_without_role")
    calls: Counter[str] = Counter()
    timings = []
    for _ in range(events):
        event = make_event()
        counter.clear()
        with contextlib.redirect_stdout(io.StringIO()):
            start = time.perf_counter()
            result = handler(event, context)
            timings.append(time.perf_counter() - start)
        outcomes = [finding["outcome"] for finding in result["findings"]]
        assert outcomes == ([expect] if expect else []), result
        calls.update(counter)
    per_event = {call: count / events for call, count in sorted(calls.items())}
    print(
        f"{name}: median {statistics.median(timings) * 1000:.1f} ms, p90 "
        f"{statistics.quantiles(timings, n=10)[-1] * 1000:.1f} ms per event ({events} events); "
        f"AWS calls per event: {sum(per_event.values()):g}"
    )
    for call, count in per_event.items():
        print(f"  {call}: {count:g}")


COUNTER: Counter[str] = Counter()


def main() -> int:
    global COUNTER
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=100)
    args = parser.parse_args()
    with moto_server() as endpoint:
        os.environ.update(environment(endpoint))
        import boto3

        topic, image, template = setup_account()
        os.environ["TOPIC_ARN"] = topic
        ec2 = boto3.client("ec2")
        spec = importlib.util.spec_from_file_location("app", ROOT / "functions/ec2_without_role/app.py")
        assert spec and spec.loader
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        COUNTER = count_calls()

        os.environ["MODE_EC2_WITHOUT_ROLE"] = "remediate"
        from remediator_dev.demo import LocalLambdaContext

        with contextlib.redirect_stdout(io.StringIO()):  # warm-up: clients, caches
            app.lambda_handler(launched(ec2, image, None), LocalLambdaContext(function_name="ec2_without_role"))
        measure(
            "remediate, no role + IMDSv1",
            app.lambda_handler,
            lambda: launched(ec2, image, None),
            args.events,
            "verified",
        )
        measure(
            "launch template gave the profile",
            app.lambda_handler,
            lambda: launched(ec2, image, template),
            args.events,
            None,
        )
        os.environ["MODE_EC2_WITHOUT_ROLE"] = "notify"
        measure(
            "notify, no role + IMDSv1", app.lambda_handler, lambda: launched(ec2, image, None), args.events, "notified"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
