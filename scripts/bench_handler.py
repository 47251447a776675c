"""Benchmark the access_keys handler: cold start vs the boto3 floor, warm time per event on a
moto server (event ledger, exemption lookup, fix, verification, publish), AWS calls per event, RSS growth.

Usage: .venv/bin/python scripts/bench_handler.py [--reps 9] [--warm 200] [--rss-events 1000]
Loopback only: it starts `moto_server` on 127.0.0.1 and stops it when done.
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import cProfile
import io
import json
import os
import pstats
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
EVENT = json.loads((ROOT / "events" / "create-access-key-for-another-user.json").read_text())
BIN = Path(sys.executable).parent

FLOOR = "import boto3; boto3.client('iam')"
COLD = """
import importlib.util, json, os, sys, time
start = time.perf_counter()
if os.environ.get("BENCH_LAYER"):
    sys.path.insert(0, os.environ["BENCH_LAYER"])  # the built layer, as Lambda mounts it on /opt/python
spec = importlib.util.spec_from_file_location("app", sys.argv[1])
app = importlib.util.module_from_spec(spec); spec.loader.exec_module(app)
from remediator_dev.demo import LocalLambdaContext
imported = time.perf_counter()
result = app.lambda_handler(json.load(open(sys.argv[2])), LocalLambdaContext())
assert result["findings"][0]["outcome"] == "verified", result
print(f"{imported - start:.4f} {time.perf_counter() - imported:.4f}", file=sys.stderr)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server() -> Iterator[str]:
    """A moto server on 127.0.0.1 for the run (its endpoint), stopped when done: nothing leaves the machine."""
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def environment(endpoint: str) -> dict[str, str]:
    """Fake credentials and the moto endpoint (every call stays on 127.0.0.1), the access_keys handler's settings."""
    return {
        "AWS_ENDPOINT_URL": endpoint,
        "AWS_ACCESS_KEY_ID": "bench",
        "AWS_SECRET_ACCESS_KEY": "bench",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_REGION": "us-east-1",
        "AWS_LAMBDA_FUNCTION_NAME": "access-keys",
        "POWERTOOLS_METRICS_NAMESPACE": "ComplianceRemediator",
        "POWERTOOLS_TRACE_DISABLED": "true",
        "POWERTOOLS_LOG_LEVEL": "ERROR",
        "MODE_ACCESS_KEYS": "remediate",
        "IDEMPOTENCY_TABLE": "idempotency",
        "EXEMPTIONS_TABLE": "exemptions",
    }


def setup_account() -> str:
    import boto3

    sns, dynamodb = boto3.client("sns"), boto3.client("dynamodb")
    dynamodb.create_table(
        TableName="idempotency",
        KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    # The exemption lookup is on the path: a list of a few entries, none for the benchmark's users.
    from remediator.exemption_list import ExemptionEntry
    from remediator.exemption_list import table_definition as exemption_table

    dynamodb.create_table(**exemption_table("exemptions"))
    for number in range(5):
        entry = ExemptionEntry(
            f"arn:aws:iam::123456789012:role/vendor-{number}",
            "*",
            "benchmark",
            "2099-12-31",
            "benchmark",
            added_at=f"2026-01-0{number + 1}T00:00:00Z",
        )
        dynamodb.put_item(TableName="exemptions", Item=entry.as_item())
    return sns.create_topic(Name="findings")["TopicArn"]


def clear_ledger() -> None:
    """Forget every claimed event and counted change (outside the timed section): a benchmark that fixes the same
    resource again and again would otherwise meet the action budget of three changes an hour."""
    import boto3

    dynamodb = boto3.client("dynamodb")
    for item in dynamodb.scan(TableName="idempotency", ProjectionExpression="id")["Items"]:
        dynamodb.delete_item(TableName="idempotency", Key={"id": item["id"]})


def event_for_new_key(iam, user: str) -> dict:
    """A fresh key (the user's older keys deleted, so moto's state stays small) and its CreateAccessKey event."""
    try:
        for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]:
            iam.delete_access_key(UserName=user, AccessKeyId=key["AccessKeyId"])
    except iam.exceptions.NoSuchEntityException:
        iam.create_user(UserName=user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    event = copy.deepcopy(EVENT)
    event["detail"]["eventID"] = str(uuid.uuid4())
    event["detail"]["requestParameters"] = {"userName": user}
    event["detail"]["responseElements"]["accessKey"].update(userName=user, accessKeyId=key_id)
    return event


def timed_run(command: list[str], env: dict[str, str], phases: list[list[float]] | None = None) -> float:
    start = time.perf_counter()
    done = subprocess.run(command, env=env, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    elapsed = time.perf_counter() - start
    if phases is not None:
        phases.append([float(part) for part in done.stderr.split()[-2:]])  # warnings may come before
    return elapsed


def cold_starts(iam, env: dict[str, str], reps: int) -> tuple[list[float], list[float], list[list[float]]]:
    """Alternate floor and handler runs in fresh processes, so machine noise hits both alike."""
    floor, ours, phases = [], [], []
    with tempfile.TemporaryDirectory() as scratch:
        for rep in range(reps):
            path = Path(scratch) / f"event{rep}.json"
            path.write_text(json.dumps(event_for_new_key(iam, f"cold-{rep}")))
            floor.append(timed_run([sys.executable, "-c", FLOOR], env))
            ours.append(
                timed_run(
                    [sys.executable, "-c", COLD, str(ROOT / "functions/access_keys/app.py"), str(path)], env, phases
                )
            )
    return floor, ours, phases


def bare_calls(iam, reps: int) -> float:
    """What the 4 AWS calls of one event cost on this moto server without any of our code around them: the
    ledger's conditional write, the fix, the re-read, the publish."""
    import boto3

    sns, dynamodb = boto3.client("sns"), boto3.client("dynamodb")
    timings = []
    for n in range(reps):
        key_id = event_for_new_key(iam, "bare")["detail"]["responseElements"]["accessKey"]["accessKeyId"]
        start = time.perf_counter()
        dynamodb.update_item(
            TableName="idempotency",
            Key={"id": {"S": f"bare-{n}"}},
            UpdateExpression="SET #c = :c ADD actions :one",
            ConditionExpression="attribute_not_exists(#c) AND (attribute_not_exists(actions) OR actions < :max)",
            ExpressionAttributeNames={"#c": f"claim#{n}"},
            ExpressionAttributeValues={":c": {"S": "x"}, ":one": {"N": "1"}, ":max": {"N": "3"}},
        )
        iam.update_access_key(UserName="bare", AccessKeyId=key_id, Status="Inactive")
        iam.list_access_keys(UserName="bare")
        sns.publish(TopicArn=os.environ["TOPIC_ARN"], Message=json.dumps({"default": "x"}), MessageStructure="json")
        timings.append(time.perf_counter() - start)
    return statistics.median(timings)


def count_calls() -> Counter:
    """Count every AWS call by service and operation, whichever session or client makes it."""
    from botocore.client import BaseClient

    counter: Counter = Counter()
    original = BaseClient._make_api_call

    def counting(self, operation_name, api_params):
        counter[f"{self.meta.service_model.service_name}:{operation_name}"] += 1
        return original(self, operation_name, api_params)

    BaseClient._make_api_call = counting
    return counter


def rss_mb() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--reps", type=int, default=9)
    parser.add_argument("--warm", type=int, default=200)
    parser.add_argument("--rss-events", type=int, default=1000)
    parser.add_argument("--profile", action="store_true", help="print a cProfile of the warm events")
    parser.add_argument(
        "--layer",
        help="import remediator and powertools from a built layer "
        "(.aws-sam/build/RemediatorLayer/python after `make build`), as shipped",
    )
    args = parser.parse_args()

    with moto_server() as endpoint:
        env = {**os.environ, **environment(endpoint)}
        if args.layer:
            env["BENCH_LAYER"] = str(Path(args.layer).resolve())
        os.environ.update(env)
        import boto3

        env["TOPIC_ARN"] = os.environ["TOPIC_ARN"] = setup_account()
        iam = boto3.client("iam")

        floor, ours, phases = cold_starts(iam, env, args.reps)
        floor_median, ours_median = statistics.median(floor), statistics.median(ours)
        print(
            f"cold start: floor {floor_median * 1000:.0f} ms, handler + first event {ours_median * 1000:.0f} ms "
            f"= {ours_median / floor_median:.2f}x the floor (median of {args.reps}, alternating)"
        )
        print(
            f"  inside the handler process: imports {statistics.median(p[0] for p in phases) * 1000:.0f} ms, "
            f"first event {statistics.median(p[1] for p in phases) * 1000:.0f} ms"
        )

        sys.path.insert(0, str(ROOT / "tests"))
        import importlib.util

        spec = importlib.util.spec_from_file_location("app", ROOT / "functions/access_keys/app.py")
        app = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(app)
        from remediator_dev.demo import LocalLambdaContext

        context = LocalLambdaContext(function_name="access-keys")
        with contextlib.redirect_stdout(io.StringIO()):
            app.lambda_handler(event_for_new_key(iam, "warmup"), context)
        print(f"warm floor: the same 4 calls made bare with boto3: median {bare_calls(iam, args.warm) * 1000:.1f} ms")

        counter = count_calls()
        calls: Counter = Counter()
        timings = []
        profiler = cProfile.Profile() if args.profile else None
        for n in range(args.warm):
            # A user per event: the action budget allows 3 changes per rule and user an hour.
            event = event_for_new_key(iam, f"warm-{n}")
            counter.clear()
            with contextlib.redirect_stdout(io.StringIO()):  # EMF metrics go to stdout, as in Lambda
                if profiler:
                    profiler.enable()
                start = time.perf_counter()
                result = app.lambda_handler(event, context)
                timings.append(time.perf_counter() - start)
                if profiler:
                    profiler.disable()
            assert result["findings"][0]["outcome"] == "verified", result
            calls.update(counter)
        if profiler:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)
        per_event = {name: count / args.warm for name, count in sorted(calls.items())}
        print(
            f"warm full path: median {statistics.median(timings) * 1000:.1f} ms, "
            f"p90 {statistics.quantiles(timings, n=10)[-1] * 1000:.1f} ms per new key ({args.warm} events)"
        )
        print(f"AWS calls per event: {sum(per_event.values()):g}")
        for name, count in per_event.items():
            print(f"  {name}: {count:g}")

        before = rss_mb()
        for n in range(args.rss_events):
            event = event_for_new_key(iam, f"rss-{n}")
            with contextlib.redirect_stdout(io.StringIO()):
                app.lambda_handler(event, context)
        after = rss_mb()
        print(f"RSS over {args.rss_events} warm events: {before:.1f} MB -> {after:.1f} MB ({after - before:+.1f} MB)")
    code = sum(
        f.stat().st_size
        for d in ("layers/remediator/remediator", "functions")
        for f in (ROOT / d).rglob("*.py")
        if "__pycache__" not in f.parts
    )
    print(f"our code (layers/remediator/remediator + functions, .py): {code / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    sys.exit(main())
