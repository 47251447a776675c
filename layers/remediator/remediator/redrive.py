"""`remediator redrive`: hand the events in a dead-letter queue back to the function, once the cause is fixed.

Two kinds of queue hold events: a rule's DLQ (EventBridge could not deliver; the message is the event, and
its TARGET_ARN attribute names the function) and a function's on-failure destination (the handler raised
after Lambda's retries; the message wraps the event in `requestPayload`, and `requestContext.functionArn`
names the function). Each message is deleted only after the function handled its event without error, so
an event that fails again stays in the queue. The functions are idempotent on the CloudTrail eventID: an
event that was in fact handled before is answered from the idempotency record, not acted on twice.
An operator tool: never imported in Lambda.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, TextIO

BATCH = 10
VISIBILITY_SECONDS = 120  # longer than a function's timeout (30 s): a message is not seen twice in one run


@dataclass(frozen=True)
class DeadLetter:
    """One message: the event to hand back, to which function, and what kind of queue it came from."""

    event: Any
    function: str | None
    kind: str  # "rule" (EventBridge delivery failure) or "function" (on-failure destination)

    @property
    def label(self) -> str:
        detail = self.event.get("detail") if isinstance(self.event, dict) else None
        detail = detail if isinstance(detail, dict) else {}
        return f"{detail.get('eventName') or '?'} {detail.get('eventID') or '(no eventID)'}"


def _function_name(arn: str | None) -> str | None:
    """`arn:aws:lambda:r:a:function:name[:qualifier]` -> the ARN without `$LATEST` (Invoke takes either)."""
    if not arn:
        return None
    parts = arn.split(":")
    if len(parts) == 8 and parts[5] == "function" and parts[7] == "$LATEST":
        return ":".join(parts[:7])
    return arn


def read_message(message: dict[str, Any], function: str | None = None) -> DeadLetter:
    """What a DLQ message holds; raises ValueError when it is not an event we can hand back."""
    try:
        body = json.loads(message.get("Body") or "")
    except json.JSONDecodeError as error:
        raise ValueError(f"body is not JSON ({error})") from None
    if not isinstance(body, dict):
        raise ValueError("body is not a JSON object")
    if "requestPayload" in body:
        raw_context = body.get("requestContext")
        context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
        return DeadLetter(body["requestPayload"], function or _function_name(context.get("functionArn")), "function")
    attributes = message.get("MessageAttributes") or {}
    target = (attributes.get("TARGET_ARN") or {}).get("StringValue")
    return DeadLetter(body, function or _function_name(target), "rule")


def redrive(
    queue_url: str,
    sqs: Any,
    lambda_client: Any,
    *,
    function: str | None = None,
    dry_run: bool = False,
    limit: int | None = None,
    out: TextIO,
    err: TextIO,
) -> int:
    """Hand each message's event back to its function; exit 0 when every message was redriven (or listed)."""
    seen: set[str] = set()
    listed: list[str] = []  # receipt handles to release after a dry run
    done = kept = 0
    while limit is None or done + kept < limit:
        batch = sqs.receive_message(
            QueueUrl=queue_url,
            MaxNumberOfMessages=BATCH,
            WaitTimeSeconds=1,
            VisibilityTimeout=VISIBILITY_SECONDS,
            MessageAttributeNames=["All"],
        )
        messages = [m for m in batch.get("Messages", []) if m["MessageId"] not in seen]
        if not messages:
            break
        for message in messages:
            if limit is not None and done + kept >= limit:
                break
            seen.add(message["MessageId"])
            try:
                letter = read_message(message, function)
            except ValueError as error:
                print(f"remediator: {message['MessageId']}: kept, {error}", file=err)
                kept += 1
                continue
            if not letter.function:
                print(f"remediator: {message['MessageId']}: kept, no function named (give --function)", file=err)
                kept += 1
                continue
            if dry_run:
                print(f"would redrive {letter.label} to {letter.function} (from the {letter.kind} DLQ)", file=out)
                listed.append(message["ReceiptHandle"])
                done += 1
                continue
            problem = _invoke(lambda_client, letter)
            if problem:
                print(f"remediator: {letter.label}: kept in the queue, {problem}", file=err)
                kept += 1
                continue
            sqs.delete_message(QueueUrl=queue_url, ReceiptHandle=message["ReceiptHandle"])
            print(f"redriven {letter.label} to {letter.function}", file=out)
            done += 1
    for receipt in listed:  # a dry run changes nothing: the messages are visible again at once
        sqs.change_message_visibility(QueueUrl=queue_url, ReceiptHandle=receipt, VisibilityTimeout=0)
    verb = "would redrive" if dry_run else "redriven"
    print(f"{done} {verb}, {kept} kept in the queue", file=out)
    return 1 if kept else 0


def _invoke(lambda_client: Any, letter: DeadLetter) -> str | None:
    """Invoke and wait: None when the handler returned, else why the message stays."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        response = lambda_client.invoke(
            FunctionName=letter.function, InvocationType="RequestResponse", Payload=json.dumps(letter.event).encode()
        )
    except (ClientError, BotoCoreError) as error:
        return f"invoke failed ({error})"
    if response.get("FunctionError"):
        payload = response.get("Payload")
        text = payload.read().decode(errors="replace")[:300] if hasattr(payload, "read") else ""
        return f"the function raised again ({response['FunctionError']}: {text})"
    return None


def run_cli(queue_url: str, function: str | None, dry_run: bool, limit: int | None, out: TextIO, err: TextIO) -> int:
    import boto3
    from botocore.config import Config

    # The function's own timeout is 30 s (the sweep's 900 s): wait for it, do not retry an invoke ourselves.
    config = Config(read_timeout=910, connect_timeout=5, retries={"mode": "standard", "max_attempts": 1})
    region = queue_region(queue_url)
    return redrive(
        queue_url,
        boto3.client("sqs", region_name=region),
        boto3.client("lambda", region_name=region, config=config),
        function=function,
        dry_run=dry_run,
        limit=limit,
        out=out,
        err=err,
    )


def queue_region(queue_url: str) -> str | None:
    """`https://sqs.eu-west-1.amazonaws.com/...` -> eu-west-1 (the queue's functions are in its region)."""
    host = queue_url.split("://", 1)[-1].split("/", 1)[0].split(".")
    return host[1] if len(host) > 2 and host[0] == "sqs" else None
