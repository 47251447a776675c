"""Load benchmark: replay a burst of CloudTrail events (new keys, benign calls, failed calls, malformed input,
and duplicate deliveries) through the access_keys handler on a moto server, with IAM, SNS and DynamoDB
throttling injected, and Lambda's async retry semantics (2 retries, then the dead-letter queue).

It shows every event processed exactly once: each new key deactivated, one notification per key, no
event lost. Loopback only; it starts `moto_server` on 127.0.0.1 and stops it.

Usage: .venv/bin/python scripts/bench_load.py [--events 10000] [--throttle 0.2] [--zero-sleep]
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import io
import json
import os
import random
import socket
import subprocess
import sys
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
NEW_KEY = json.loads((ROOT / "events" / "create-access-key-for-another-user.json").read_text())
LAMBDA_ASYNC_ATTEMPTS = 3  # the first invocation and Lambda's 2 async retries (EventInvokeConfig)


@dataclass
class LoadReport:
    events: int = 0
    deliveries: int = 0
    processed: int = 0
    dead_lettered: int = 0
    retried_invocations: int = 0
    throttles_injected: int = 0
    skipped: Counter = field(default_factory=Counter)
    findings: int = 0
    keys_expected: int = 0
    keys_inactive: int = 0
    notifications: int = 0
    duplicated_notifications: int = 0
    seconds: float = 0.0
    errors: Counter = field(default_factory=Counter)  # what made invocations fail (Lambda then retries)

    @property
    def lost(self) -> int:
        return self.events - self.processed - self.dead_lettered

    def lines(self) -> list[str]:
        return [
            f"events {self.events} ({self.deliveries} deliveries incl. duplicates), "
            f"{self.events / self.seconds:.0f} events/s over {self.seconds:.1f} s",
            f"processed {self.processed}, dead-lettered {self.dead_lettered}, lost {self.lost}, "
            f"Lambda retries {self.retried_invocations}, throttling errors injected {self.throttles_injected}",
            f"skipped: {dict(sorted(self.skipped.items()))}",
            f"findings {self.findings}; keys deactivated {self.keys_inactive}/{self.keys_expected}; "
            f"notifications {self.notifications}, duplicated {self.duplicated_notifications}",
            *(f"  failed invocations: {count} x {error}" for error, count in self.errors.most_common(3)),
        ]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@contextlib.contextmanager
def moto_server():
    port = free_port()
    server = subprocess.Popen(
        [str(BIN / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(200):
            with contextlib.suppress(OSError):
                socket.create_connection(("127.0.0.1", port), timeout=0.1).close()
                break
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=10)


def inject_throttling(rate: float, seed: int, counter: Counter) -> None:
    """Answer a share of requests with a 400 Throttling error before they leave, as a busy IAM would."""
    from botocore.awsrequest import AWSResponse
    from botocore.client import BaseClient

    chance = random.Random(seed)
    bodies = {
        "query": b"<ErrorResponse><Error><Type>Sender</Type><Code>Throttling</Code>"
        b"<Message>Rate exceeded</Message></Error><RequestId>x</RequestId></ErrorResponse>",
        "json": b'{"__type": "ThrottlingException", "message": "Rate exceeded"}',
    }

    def maybe_throttle(request, **kwargs):
        if chance.random() >= rate:
            return None
        counter["throttles"] += 1
        protocol = "json" if "X-Amz-Target" in request.headers else "query"
        raw = type("Raw", (), {"stream": lambda self, **k: iter([bodies[protocol]])})()
        return AWSResponse(request.url, 400, {"x-amzn-RequestId": "x"}, raw)

    original = BaseClient.__init__

    def register(self, *args, **kwargs):
        original(self, *args, **kwargs)
        self.meta.events.register_first("before-send", maybe_throttle)

    BaseClient.__init__ = register


def zero_sleep_backoff() -> None:
    """CI variant: keep botocore's retry logic, drop its waiting."""
    from botocore.retries import bucket, standard

    standard.ExponentialBackoff.delay_amount = lambda self, context: 0
    bucket.TokenBucket.acquire = lambda self, amount=1, block=True: True


def build_events(iam, count: int, rng: random.Random) -> tuple[list[dict[str, Any]], dict[str, str]]:
    """A Terraform-apply-like burst: 40% new keys (one user each), the rest benign, failed or malformed."""
    events, keys = [], {}
    for n in range(count):
        kind = rng.random()
        event = copy.deepcopy(NEW_KEY)
        event["detail"]["eventID"] = str(uuid.uuid4())
        if kind < 0.4:
            user = f"load-{n}"
            iam.create_user(UserName=user)
            key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
            keys[key_id] = user
            event["detail"]["requestParameters"] = {"userName": user}
            event["detail"]["responseElements"]["accessKey"].update(userName=user, accessKeyId=key_id)
        elif kind < 0.7:
            event["detail"].update(eventName="ListUsers", requestParameters=None, responseElements=None)
        elif kind < 0.85:
            event["detail"].update(errorCode="LimitExceededException", responseElements=None)
        else:
            event["detail"]["requestParameters"] = ["not", "an", "object"]
        events.append(event)
    return events, keys


def run_load(
    count: int, throttle: float, duplicates: float = 0.05, zero_sleep: bool = False, seed: int = 7
) -> LoadReport:
    """Everything in one call so a test can run the small variant."""
    report = LoadReport(events=count)
    rng = random.Random(seed)
    with moto_server() as endpoint:
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": endpoint,
                "AWS_ACCESS_KEY_ID": "load",
                "AWS_SECRET_ACCESS_KEY": "load",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "AWS_LAMBDA_FUNCTION_NAME": "access-keys",
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "MODE_ACCESS_KEYS": "remediate",
                "IDEMPOTENCY_TABLE": "idempotency",
            }
        )
        os.environ.pop("AWS_SESSION_TOKEN", None)
        import boto3

        iam, sns, sqs, dynamodb = (boto3.client(name) for name in ("iam", "sns", "sqs", "dynamodb"))
        dynamodb.create_table(
            TableName="idempotency",
            KeySchema=[{"AttributeName": "id", "KeyType": "HASH"}],
            AttributeDefinitions=[{"AttributeName": "id", "AttributeType": "S"}],
            BillingMode="PAY_PER_REQUEST",
        )
        topic = os.environ["TOPIC_ARN"] = sns.create_topic(Name="findings")["TopicArn"]
        inbox = sqs.create_queue(QueueName="inbox")["QueueUrl"]
        inbox_arn = sqs.get_queue_attributes(QueueUrl=inbox, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
        sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=inbox_arn, Attributes={"RawMessageDelivery": "false"})
        events, keys = build_events(iam, count, rng)
        report.keys_expected = len(keys)

        counter: Counter = Counter()
        inject_throttling(throttle, seed, counter)
        if zero_sleep:
            zero_sleep_backoff()
        from remediator.runtime import make_handler
        from remediator_dev.demo import LocalLambdaContext

        handler = make_handler("access_keys")
        context = LocalLambdaContext(function_name="access-keys")
        deliveries = [event for event in events for _ in range(2 if rng.random() < duplicates else 1)]
        rng.shuffle(deliveries)
        report.deliveries = len(deliveries)
        done: set[str] = set()
        errors: Counter = Counter()
        dead: set[str] = set()
        start = time.perf_counter()
        for event in deliveries:
            event_id = event["detail"]["eventID"]
            for attempt in range(LAMBDA_ASYNC_ATTEMPTS):
                try:
                    with contextlib.redirect_stdout(io.StringIO()):
                        result = handler(copy.deepcopy(event), context)
                except Exception as error:  # Lambda retries any error, then dead-letters the event
                    errors[type(error).__name__ + ": " + str(error)[:150]] += 1
                    report.retried_invocations += attempt < LAMBDA_ASYNC_ATTEMPTS - 1
                    if attempt == LAMBDA_ASYNC_ATTEMPTS - 1:
                        dead.add(event_id)
                    continue
                if event_id not in done:
                    done.add(event_id)
                    if result.get("skipped"):
                        report.skipped[result["skipped"].split(":")[0]] += 1
                    report.findings += len(result.get("findings", []))
                break
        report.seconds = time.perf_counter() - start
        report.errors = errors
        report.throttles_injected = counter["throttles"]
        report.processed = len(done)
        report.dead_lettered = len(dead - done)

        # Clients made before the injection are not throttled: they check the outcome.
        report.keys_inactive = sum(
            key["Status"] == "Inactive"
            for key_id, user in keys.items()
            for key in iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
            if key["AccessKeyId"] == key_id
        )
        per_key: Counter = Counter()
        while batch := sqs.receive_message(QueueUrl=inbox, MaxNumberOfMessages=10).get("Messages", []):
            for message in batch:
                text = json.loads(message["Body"])["Message"]
                per_key.update(key for key in keys if key in text)
                report.notifications += 1
                sqs.delete_message(QueueUrl=inbox, ReceiptHandle=message["ReceiptHandle"])
        report.duplicated_notifications = sum(n - 1 for n in per_key.values() if n > 1)
    return report


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--events", type=int, default=10_000)
    parser.add_argument("--throttle", type=float, default=0.2, help="share of AWS requests answered 'Throttling'")
    parser.add_argument("--duplicates", type=float, default=0.05, help="share of events delivered twice")
    parser.add_argument("--zero-sleep", action="store_true", help="retry without waiting (CI)")
    args = parser.parse_args()
    report = run_load(args.events, args.throttle, args.duplicates, args.zero_sleep)
    print("\n".join(report.lines()))
    return 0 if report.lost == 0 and report.duplicated_notifications == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
