"""`remediator demo`: the real handlers against a local moto server, with no AWS account.

Each event in events/ is first *enacted* in the moto account (remediator_dev.enactors: the key is created,
the role's trust policy is set, ...) because moto emits no CloudTrail; then its envelope, rewritten with
the ids moto made, goes through every handler whose rules react to it, as EventBridge would route it.
"""

from __future__ import annotations

import json
import logging
import os
import socket
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from remediator_dev import moto_shims
from remediator_dev.ec2_enactors import BASELINE_PROFILE
from remediator_dev.enactors import ENACTORS, ensure_user

ACCOUNT = "123456789012"
BREAK_GLASS_USER = "break-glass"
# The events/ of the checkout this package is installed from (tools/remediator_dev/ -> the repository root).
DEFAULT_EVENTS = Path(__file__).resolve().parents[2] / "events"


@dataclass
class Replay:
    """What happened to one demo event: findings, account state before/after, notifications."""

    file: str
    event_name: str
    functions: list[str] = field(default_factory=list)
    findings: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    resolves: list[str] = field(default_factory=list)
    before: str | None = None
    after: str | None = None
    notifications: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class LocalLambdaContext:
    """The parts of Lambda's context object that powertools reads, for running handlers outside Lambda."""

    function_name: str = "remediator-local"
    memory_limit_in_mb: int = 256
    aws_request_id: str = "local"
    invoked_function_arn: str = f"arn:aws:lambda:us-east-1:{ACCOUNT}:function:remediator-local"

    def get_remaining_time_in_millis(self) -> int:
        return 30_000


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


DEMO_STACK = "compliance-remediator"


class LocalAccount:
    """A moto server on 127.0.0.1, an SNS topic, and a queue subscribed to it to read what was published."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def __enter__(self) -> LocalAccount:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # events attach AWS managed policies by ARN
        moto_shims.install()  # what moto does not model: permission-set boundaries, service-specific credentials
        self.server.start()
        os.environ.update(
            {
                "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}",
                "AWS_ACCESS_KEY_ID": "demo",
                "AWS_SECRET_ACCESS_KEY": "demo",
                "AWS_DEFAULT_REGION": "us-east-1",
                "AWS_REGION": "us-east-1",
                "POWERTOOLS_METRICS_NAMESPACE": "ComplianceRemediator",
                "POWERTOOLS_TRACE_DISABLED": "true",
                # The report is the demo's output: keep the handlers' JSON logs and EMF metrics out of it.
                "POWERTOOLS_LOG_LEVEL": "ERROR",
                "POWERTOOLS_METRICS_DISABLED": "true",
            }
        )
        os.environ.pop("AWS_PROFILE", None)
        import boto3

        self.iam, self.sns, self.sqs = boto3.client("iam"), boto3.client("sns"), boto3.client("sqs")
        self.topic_arn = self.sns.create_topic(Name="compliance-remediator-findings")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        ensure_user(self.iam, BREAK_GLASS_USER)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def drain_notifications(self) -> list[dict[str, Any]]:
        messages: list[dict[str, Any]] = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                body = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()}
                finding = json.loads(body.get("Message") or "{}")  # a queue gets the finding as JSON (`sqs`)
                messages.append(
                    {
                        "subject": body.get("Subject"),
                        "attributes": attributes,
                        "text": finding.get("text", body.get("Message")),
                    }
                )
                self.sqs.delete_message(QueueUrl=self.queue_url, ReceiptHandle=message["ReceiptHandle"])


def replay_events(account: LocalAccount, files: list[Path], mode: str) -> list[Replay]:
    """Enact, route and handle every event file; re-read the account after each."""
    from remediator.config import mode_variable
    from remediator.events import MalformedRecord, parse_envelope
    from remediator.rules import FUNCTIONS, RULES
    from remediator.runtime import make_handler

    for rule_id in RULES:
        os.environ[mode_variable(rule_id)] = mode
    os.environ["TOPIC_ARN"] = account.topic_arn
    os.environ["BREAK_GLASS_ARNS"] = f"arn:aws:iam::{ACCOUNT}:user/{BREAK_GLASS_USER}"
    # The stack's own functions, named as the template names them for the stack "compliance-remediator".
    os.environ["OWN_FUNCTION_NAMES"] = ",".join(f"{DEMO_STACK}-{name}" for name in (*FUNCTIONS, "sweep"))
    os.environ["OWN_ROLE_PREFIX"] = f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/"
    os.environ["EC2_BASELINE_INSTANCE_PROFILE"] = BASELINE_PROFILE
    handlers = {name: make_handler(name) for name in FUNCTIONS}
    context = LocalLambdaContext()
    replays = []
    for path in files:
        event = json.loads(path.read_text())
        detail = event.get("detail", event)
        replay = Replay(file=path.name, event_name=str(detail.get("eventName")))
        enactor = ENACTORS.get(replay.event_name)
        observe = enactor(account.iam, detail) if enactor else None
        replay.before = observe() if observe else None
        try:
            record = parse_envelope(event)
        except MalformedRecord as error:
            replay.skipped.append(f"malformed: {error}")
            replays.append(replay)
            continue
        for name, rule_ids in FUNCTIONS.items():
            if any(RULES[rule_id].META.reacts_to(record) for rule_id in rule_ids):
                replay.functions.append(name)
                result = handlers[name](event, context)
                replay.findings.extend(result["findings"])
                replay.resolves.extend(result.get("resolves", []))
                if result["skipped"]:
                    replay.skipped.append(result["skipped"])
        replay.after = observe() if observe else None
        replay.notifications = account.drain_notifications()
        replays.append(replay)
    return replays


_COLOURS = {
    "critical": "\033[1;31m",
    "high": "\033[31m",
    "medium": "\033[33m",
    "low": "\033[36m",
    "verified": "\033[32m",
    "failed": "\033[1;31m",
}


def _paint(text: str, key: str, colour: bool) -> str:
    return f"{_COLOURS[key]}{text}\033[0m" if colour and key in _COLOURS else text


def print_table(replays: list[Replay], colour: bool) -> None:
    """A readable report: per event, what was found, what changed, what was published."""
    for replay in replays:
        print(f"\n{replay.file}  ({replay.event_name} -> {', '.join(replay.functions) or 'no function'})")
        for skipped in replay.skipped:
            print(f"  skipped: {skipped}")
        for rule in replay.resolves:
            print(f"  resolves:  the open {rule} finding of this resource")
        for finding in replay.findings:
            severity = _paint(finding["severity"].upper(), finding["severity"], colour)
            outcome = _paint(finding["outcome"], finding["outcome"], colour)
            print(f"  found:     {finding['rule']} {severity}: {finding['reason']}")
            print(f"  outcome:   {outcome}: {finding['detail']}")
        if replay.before is not None:
            print(f"  account:   before: {replay.before}\n             after:  {replay.after}")
        for note in replay.notifications:
            print(f"  published: {note['subject']}  {note['attributes']}")
    found = sum(len(r.findings) for r in replays)
    fixed = sum(f["outcome"] == "verified" for r in replays for f in r.findings)
    sent = sum(len(r.notifications) for r in replays)
    print(f"\n{len(replays)} events, {found} findings, {fixed} remediated and verified, {sent} notifications published")


def run_demo(*, as_json: bool, mode: str = "remediate", events_dir: Path | None = None) -> int:
    directory = events_dir or DEFAULT_EVENTS
    if not directory.is_dir():
        print(
            f"remediator demo: no events directory at {directory}; pass --events DIR (the events/ folder "
            "of a checkout)",
            file=sys.stderr,
        )
        return 2
    files = sorted(directory.glob("*.json"))
    if not files:
        print(f"remediator demo: no events in {directory}", file=sys.stderr)
        return 2
    with LocalAccount() as account:
        replays = replay_events(account, files, mode)
    if as_json:
        print(json.dumps({"mode": mode, "events": [vars(r) for r in replays]}, indent=2))
    else:
        print_table(replays, colour=sys.stdout.isatty())
    return 0
