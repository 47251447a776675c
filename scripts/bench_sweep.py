"""Sweep benchmark (not part of `make test`): 1,000 / 5,000 / 10,000 users in a moto server on 127.0.0.1.

Each size: reset the server, create the users (every 10th with a console password and no MFA, every
5th with an access key), then time one sweep in remediate mode (grace period 0, so console users
without MFA are acted on) and count every AWS call by name with a botocore `before-call` hook.

    .venv/bin/python scripts/bench_sweep.py [--sizes 1000,5000,10000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.update({"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_DEFAULT_REGION": "us-east-1"})
os.environ.pop("AWS_PROFILE", None)

import boto3

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.findings import Mode
from remediator.rules.console_mfa import deny_without_mfa_document
from remediator.store import FindingsStore, table_definition
from remediator.sweep.run import run_sweep

MOTO_SERVER = Path(sys.executable).with_name("moto_server")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _wait(endpoint: str) -> None:
    for _ in range(100):
        try:
            urllib.request.urlopen(f"{endpoint}/moto-api/", timeout=1)  # loopback only
            return
        except OSError:
            time.sleep(0.1)
    raise RuntimeError("moto server did not start")


def _seed(endpoint: str, users: int) -> str:
    """Users in parallel (the seeding is not what we measure); returns the deny policy's ARN."""
    iam = boto3.client("iam", endpoint_url=endpoint)

    def make(index: int) -> None:
        name = f"user{index:05d}"
        iam.create_user(UserName=name)
        if index % 10 == 0:
            iam.create_login_profile(UserName=name, Password="Bench-Passw0rd-123!")
        if index % 5 == 0:
            iam.create_access_key(UserName=name)

    with ThreadPoolExecutor(max_workers=8) as pool:
        list(pool.map(make, range(users)))
    boto3.client("dynamodb", endpoint_url=endpoint).create_table(**table_definition("findings"))
    return iam.create_policy(PolicyName="deny-without-mfa", PolicyDocument=json.dumps(deny_without_mfa_document()))[
        "Policy"
    ]["Arn"]


def _bench(endpoint: str, users: int) -> dict:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"))
    policy = _seed(endpoint, users)
    aws = AwsClients(endpoint_url=endpoint, region="us-east-1")
    calls: Counter[str] = Counter()
    db = aws.dynamodb
    for client in (aws.iam, aws.sns, db):
        service = client.meta.service_model.service_name
        client.meta.events.register(
            "before-call.*.*", lambda model, service=service, **_: calls.update([f"{service}:{model.name}"])
        )
    settings = Settings(
        modes={"console_mfa": Mode.REMEDIATE},
        sweep_mode=Mode.REMEDIATE,
        mfa_grace_period_hours=0,
        deny_without_mfa_policy_arn=policy,
    )
    started = time.perf_counter()
    report = run_sweep(aws, settings, store=FindingsStore(db, "findings"), sleep=time.sleep)
    elapsed = time.perf_counter() - started
    return {
        "users": users,
        "seconds": round(elapsed, 2),
        "findings": report.counts(),
        "actions": len(report.actions),
        "left": len(report.left),
        "calls_total": sum(calls.values()),
        "calls": dict(sorted(calls.items())),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,5000,10000")
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [str(MOTO_SERVER), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        _wait(endpoint)
        for size in (int(s) for s in args.sizes.split(",")):
            print(json.dumps(_bench(endpoint, size)), flush=True)
    finally:
        server.terminate()
        server.wait(timeout=10)
    return 0


if __name__ == "__main__":
    sys.exit(main())
