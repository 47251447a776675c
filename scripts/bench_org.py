"""Benchmark organization mode on a moto server: STS AssumeRole calls per 1,000 events across member accounts
(credentials are cached per account in the warm container), and the added latency of fixing a key in a member
account (through its member role, credentials warm) over fixing one in the hub's own account.

Usage: .venv/bin/python scripts/bench_org.py [--accounts 50] [--events 1000] [--reps 200]
Loopback only: it starts `moto_server` on 127.0.0.1 and stops it when done. moto's STS checks no trust
policy, so this measures calls and time, not the trust chain (tests/integration/test_organization_mode.py).
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import time
import uuid
from pathlib import Path
from typing import Any

from bench_handler import moto_server

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
HUB = "123456789012"
FUNCTION = "remediator-access_keys"
MEMBER_ROLE = "compliance-remediator-member"
EVENT = json.loads((ROOT / "events" / "organization" / "create-access-key-in-member-account.json").read_text())


def member_ids(count: int) -> list[str]:
    return [f"{200000000000 + n:012d}" for n in range(count)]


def admin_iam(sts: Any, account: str) -> Any:
    """An IAM client acting in `account` (moto: credentials of a role assumed there act there)."""
    import boto3

    credentials = sts.assume_role(RoleArn=f"arn:aws:iam::{account}:role/admin", RoleSessionName="setup")["Credentials"]
    return boto3.client(
        "iam",
        aws_access_key_id=credentials["AccessKeyId"],
        aws_secret_access_key=credentials["SecretAccessKey"],
        aws_session_token=credentials["SessionToken"],
    )


def setup(accounts: list[str]) -> tuple[dict[str, Any], dict[str, str], str]:
    """Each account (the hub and the members) with user bob and a key; the members with the member role."""
    import boto3

    sts = boto3.client("sts")
    iams = {HUB: boto3.client("iam")}
    trust = json.dumps({"Statement": [{"Effect": "Allow", "Principal": {"AWS": HUB}, "Action": "sts:AssumeRole"}]})
    for account in accounts:
        iams[account] = admin_iam(sts, account)
        iams[account].create_role(RoleName=MEMBER_ROLE, Path="/compliance-remediator/", AssumeRolePolicyDocument=trust)
    keys = {}
    for account, iam in iams.items():
        iam.create_user(UserName="bob")
        keys[account] = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
    topic = boto3.client("sns").create_topic(Name="findings")["TopicArn"]
    return iams, keys, topic


def event_for(account: str, key: str) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["account"] = event["detail"]["recipientAccountId"] = account
    event["detail"]["userIdentity"]["accountId"] = account
    event["detail"]["userIdentity"]["arn"] = f"arn:aws:iam::{account}:user/carol"
    event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = key
    event["detail"]["eventID"] = str(uuid.uuid4())
    return event


def run(args: argparse.Namespace, endpoint: str) -> dict[str, Any]:
    import boto3
    from aws_lambda_powertools import Logger, Metrics

    from remediator import accounts as org
    from remediator.aws import AwsClients
    from remediator.config import Settings
    from remediator.runtime import handle_event

    members = member_ids(args.accounts)
    iams, keys, topic = setup(members)
    os.environ["TOPIC_ARN"] = topic
    session = boto3.Session()
    assume_calls: list[str] = []
    session.events.register(
        "provide-client-params.sts.AssumeRole", lambda params, **_: assume_calls.append(params["RoleArn"])
    )
    hub = AwsClients(session=session, endpoint_url=endpoint)
    settings = Settings.from_env()
    logger, metrics = Logger(service="access_keys", level="ERROR"), Metrics(service="access_keys")

    def handle(account: str) -> float:
        iams[account].update_access_key(UserName="bob", AccessKeyId=keys[account], Status="Active")
        event = event_for(account, keys[account])
        start = time.perf_counter()
        result = handle_event(event, ("access_keys",), settings=settings, aws=hub, logger=logger, metrics=metrics)
        elapsed = time.perf_counter() - start
        assert result["findings"][0]["outcome"] == "verified", result
        return elapsed

    org._MEMBERS.clear()
    first = [handle(account) for account in members]  # cold: each account's first event assumes its role
    for n in range(args.events - len(members)):
        handle(members[n % len(members)])
    calls_per_1000 = len(assume_calls) * 1000 / args.events
    same, cross = [], []
    for n in range(args.reps):  # interleaved: a shared machine's drift hits both alike
        same.append(handle(HUB))
        cross.append(handle(members[n % len(members)]))
    return {
        "accounts": len(members),
        "events": args.events,
        "assume_role_calls": len(assume_calls),
        "assume_role_calls_per_1000_events": calls_per_1000,
        "same_account_ms_median": statistics.median(same) * 1000,
        "cross_account_warm_ms_median": statistics.median(cross) * 1000,
        "cross_account_first_event_ms_median": statistics.median(first) * 1000,
        "added_ms_median": (statistics.median(cross) - statistics.median(same)) * 1000,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--accounts", type=int, default=50)
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=200)
    args = parser.parse_args()
    with moto_server() as endpoint:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "bench",
                "AWS_SECRET_ACCESS_KEY": "bench",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_METRICS_DISABLED": "true",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "MODE_ACCESS_KEYS": "remediate",
                "MEMBER_ROLE_NAME": MEMBER_ROLE,
                "OWN_ROLE_PREFIX": f"arn:aws:iam::{HUB}:role/compliance-remediator/",
                "OWN_FUNCTION_NAMES": FUNCTION,
            }
        )
        print(json.dumps(run(args, endpoint), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
