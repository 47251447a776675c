"""Benchmark s3_public and open_security_group: warm time per event and every AWS call per event, by name.

Each event takes the full Lambda path against a moto server on 127.0.0.1 (idempotency, exemption lookup, the fix,
its verification, the publish), in remediate mode. The scenarios alternate, event by event, so machine noise hits
them alike: a public bucket policy (Block Public Access put back, re-read), SSH opened to anywhere with the rule
ids in the response (revoked by id, the group re-read), and the same without rule ids (the group's rules read to
find the one exact match first).

Usage: .venv/bin/python scripts/bench_network_storage.py [--events 50]
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

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))

from bench_handler import clear_ledger, count_calls, environment, moto_server, setup_account  # noqa: E402

REGION = "eu-west-1"
OFF = {"BlockPublicAcls": False, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False}


def load(name: str) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / name).read_text())
    return event


POLICY_EVENT = load("put-bucket-policy-public-read.json")
INGRESS_EVENT = load("authorize-security-group-ingress-ssh-from-anywhere.json")


def fresh(event: dict[str, Any]) -> dict[str, Any]:
    copied = copy.deepcopy(event)
    copied["id"] = copied["detail"]["eventID"] = str(uuid.uuid4())
    return copied


def public_policy(clients: dict[str, Any], n: int) -> dict[str, Any]:
    """The bucket with Block Public Access off and a public policy, as the event reports."""
    s3, bucket = clients["s3"], POLICY_EVENT["detail"]["requestParameters"]["bucketName"]
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=OFF)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(POLICY_EVENT["detail"]["requestParameters"]["bucketPolicy"]))
    return fresh(POLICY_EVENT)


def _open_group(clients: dict[str, Any], n: int) -> tuple[str, list[dict[str, Any]]]:
    ec2 = clients["ec2"]
    for group in clients.pop("groups", []):  # keep moto's state small: last round's group goes
        ec2.delete_security_group(GroupId=group)
    group = ec2.create_security_group(GroupName=f"bench-{n}", Description="bench")["GroupId"]
    clients["groups"] = [group]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    )
    made = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"]
    return group, made


def ssh_with_rule_id(clients: dict[str, Any], n: int) -> dict[str, Any]:
    group, made = _open_group(clients, n)
    event = fresh(INGRESS_EVENT)
    detail = event["detail"]
    detail["requestParameters"] = {
        "groupId": group,
        "ipPermissions": {"items": [detail["requestParameters"]["ipPermissions"]["items"][0]]},
    }
    detail["responseElements"]["securityGroupRuleSet"]["items"] = [
        {"groupId": group, "securityGroupRuleId": made[0]["SecurityGroupRuleId"], "isEgress": False,
         "ipProtocol": "tcp", "fromPort": 22, "toPort": 22, "cidrIpv4": "0.0.0.0/0"}
    ]  # fmt: skip
    return event


def ssh_without_rule_id(clients: dict[str, Any], n: int) -> dict[str, Any]:
    group, _ = _open_group(clients, n)
    event = fresh(INGRESS_EVENT)
    event["detail"]["requestParameters"] = {
        "groupId": group, "cidrIp": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"
    }  # fmt: skip
    event["detail"]["responseElements"] = {"_return": True, "requestId": str(uuid.uuid4())}
    return event


SCENARIOS: dict[str, tuple[str, Callable[[dict[str, Any], int], dict[str, Any]]]] = {
    "s3_public: public bucket policy": ("s3_public", public_policy),
    "open_security_group: SSH from anywhere, rule id in the response": ("open_security_group", ssh_with_rule_id),
    "open_security_group: SSH from anywhere, no rule id (matched live)": ("open_security_group", ssh_without_rule_id),
}


def handler(function: str) -> Any:
    spec = importlib.util.spec_from_file_location(f"app_{function}", ROOT / "functions" / function / "app.py")
    assert spec and spec.loader
    app = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(app)
    return app.lambda_handler


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=50, help="warm events per scenario (at least 7)")
    args = parser.parse_args()
    events = max(7, args.events)

    with moto_server() as endpoint:
        os.environ.update(environment(endpoint))
        os.environ.update({"MODE_S3_PUBLIC": "remediate", "MODE_OPEN_SECURITY_GROUP": "remediate"})
        os.environ["TOPIC_ARN"] = setup_account()
        import boto3

        clients: dict[str, Any] = {
            "s3": boto3.client("s3", region_name=REGION),
            "ec2": boto3.client("ec2", region_name=REGION),
        }
        clients["s3"].create_bucket(
            Bucket=POLICY_EVENT["detail"]["requestParameters"]["bucketName"],
            CreateBucketConfiguration={"LocationConstraint": REGION},
        )
        from remediator_dev.demo import LocalLambdaContext

        handlers = {name: handler(rule) for name, (rule, _) in SCENARIOS.items()}
        contexts = {name: LocalLambdaContext(function_name=rule) for name, (rule, _) in SCENARIOS.items()}
        counter = count_calls()
        timings: dict[str, list[float]] = {name: [] for name in SCENARIOS}
        calls: dict[str, Counter[str]] = {name: Counter() for name in SCENARIOS}
        for n in range(events + 1):  # the first round warms every function up and is not counted
            for name, (_, enact) in SCENARIOS.items():
                event = enact(clients, n)
                counter.clear()
                with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics go to stdout, as in Lambda
                    start = time.perf_counter()
                    result = handlers[name](event, contexts[name])
                    elapsed = time.perf_counter() - start
                assert [f["outcome"] for f in result["findings"]] == ["verified"], result
                if n:
                    timings[name].append(elapsed)
                    calls[name].update(counter)
                clear_ledger()
        print(f"warm full path per event, remediate mode, moto server on 127.0.0.1 ({events} events each, alternating)")
        for name in SCENARIOS:
            per_event = {call: count / events for call, count in sorted(calls[name].items())}
            median, p90 = statistics.median(timings[name]), statistics.quantiles(timings[name], n=10)[-1]
            total = sum(per_event.values())
            print(f"{name}\n  median {median * 1000:.1f} ms, p90 {p90 * 1000:.1f} ms; {total:g} AWS calls:")
            for call, count in per_event.items():
                print(f"    {call}: {count:g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
