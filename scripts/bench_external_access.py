"""Benchmark the external_access handler per resource kind: warm time per event on a moto server with the full
path (idempotency, exemption lookup, removal, re-read, publish) and every AWS call it makes, each named.

Each repetition resets the moto server, rebuilds the stack's tables and topic, enacts one demo event per kind
(the resource, an earlier sharing, then the event's) and times only the handler. Kinds take turns within a
repetition, so machine noise hits them alike; medians over the repetitions.

Usage: .venv/bin/python scripts/bench_external_access.py [--reps 9]
Loopback only: it starts `moto_server` on 127.0.0.1 and stops it when done.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import statistics
import sys
import time
import urllib.request
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT))

from bench_handler import count_calls, environment, moto_server, setup_account  # noqa: E402

KINDS = {
    "AMI launch permission": "share-ami-with-another-account.json",
    "EBS snapshot volume permission": "share-ebs-snapshot-publicly.json",
    "RDS snapshot restore": "share-rds-snapshot-with-another-account.json",
    "RDS cluster snapshot restore": "share-rds-cluster-snapshot-publicly.json",
    "Lambda AddPermission": "lambda-add-permission-everyone.json",
    "SNS AddPermission": "sns-add-permission-for-another-account.json",
    "SNS topic policy": "set-topic-policy-for-another-account.json",
    "KMS CreateGrant": "create-kms-grant-for-another-account.json",
    "KMS key policy": "put-key-policy-for-another-account.json",
    "Secrets Manager policy": "put-secret-resource-policy-everyone.json",
    "S3 bucket policy (cross-account)": "put-bucket-policy-for-another-account.json",
    "SQS AddPermission": "sqs-add-permission-for-another-account.json",
    "SQS queue policy": "set-queue-policy-everyone.json",
    "ECR repository policy": "set-ecr-repository-policy-public.json",
    "EFS file system policy": "put-efs-file-system-policy-everyone.json",
}


def reset(endpoint: str) -> None:
    urllib.request.urlopen(urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST"), timeout=10).close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=9)
    args = parser.parse_args()

    with moto_server() as endpoint:
        os.environ.update(
            {
                **environment(endpoint),
                "AWS_LAMBDA_FUNCTION_NAME": "external-access",
                "MODE_EXTERNAL_ACCESS": "remediate",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        import warnings

        import boto3

        warnings.simplefilter("ignore", UserWarning)  # powertools: "no application metrics" (they are disabled)
        from remediator_dev.demo import LocalLambdaContext
        from remediator_dev.enactors import ENACTORS
        from tests.conftest import load_event, load_function

        app = load_function("external_access")
        context = LocalLambdaContext(function_name="external-access")
        counter = count_calls()
        timings: dict[str, list[float]] = {kind: [] for kind in KINDS}
        calls: dict[str, Counter] = {kind: Counter() for kind in KINDS}
        outcomes: dict[str, Counter] = {kind: Counter() for kind in KINDS}
        for rep in range(args.reps + 1):  # the first round warms the process up and is not counted
            for kind, name in KINDS.items():
                reset(endpoint)
                os.environ["TOPIC_ARN"] = setup_account()
                event = copy.deepcopy(load_event(name))
                event["detail"]["eventID"] = f"bench-{rep}-{name}"
                enact = ENACTORS.get(event["detail"]["eventName"])  # none: a kind we only report
                if enact:
                    enact(boto3.client("iam"), event["detail"])
                counter.clear()
                with contextlib.redirect_stdout(io.StringIO()):
                    start = time.perf_counter()
                    result = app.lambda_handler(event, context)
                    elapsed = time.perf_counter() - start
                if rep:
                    timings[kind].append(elapsed)
                    calls[kind].update(counter)
                    outcomes[kind].update(f["outcome"] for f in result["findings"])
        print(f"external_access warm full path per event, median of {args.reps} (moto server on 127.0.0.1):")
        for kind in KINDS:
            per_event = {op: n / args.reps for op, n in sorted(calls[kind].items())}
            print(
                f"  {kind}: {statistics.median(timings[kind]) * 1000:.1f} ms, {sum(per_event.values()):g} AWS calls "
                f"({', '.join(f'{op} {n:g}' for op, n in per_event.items())}); outcomes {dict(outcomes[kind])}"
            )
        print(json.dumps({k: round(statistics.median(v) * 1000, 1) for k, v in timings.items()}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
