"""`remediator demo`: the real handlers against a local moto server, with no AWS account.

Each event in events/ is first *enacted* in the moto account (the key is created, the role's trust
policy is set, ...) because moto emits no CloudTrail; then its envelope, rewritten with the ids
moto made, goes through every handler whose rules react to it, as EventBridge would route it.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import socket
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ACCOUNT = "123456789012"
BREAK_GLASS_USER = "break-glass"
DEFAULT_EVENTS = Path(__file__).resolve().parents[3] / "events"


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


Observer = Callable[[], str]
Enactor = Callable[[Any, dict[str, Any]], Observer | None]


def _key_state(iam: Any, user: str, key_id: str) -> Observer:
    def observe() -> str:
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        status = next((k["Status"] for k in keys if k["AccessKeyId"] == key_id), "deleted")
        return f"key {key_id} of {user}: {status}"

    return observe


def _ensure_user(iam: Any, user: str) -> None:
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=user)


def enact_create_access_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Create the key the event reports, and point the event at moto's key id."""
    key = (detail.get("responseElements") or {}).get("accessKey") or {}
    user = (detail.get("requestParameters") or {}).get("userName") or key.get("userName")
    if not user:
        return None  # a root key: moto has no root credentials to create
    _ensure_user(iam, user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    key["accessKeyId"] = key_id
    return _key_state(iam, user, key_id)


def enact_update_access_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Make an inactive key, then re-activate it as the event says."""
    params = detail.get("requestParameters") or {}
    user = params.get("userName")
    if not user:
        return None
    _ensure_user(iam, user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=params.get("status", "Active"))
    params["accessKeyId"] = key_id
    return _key_state(iam, user, key_id)


EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
_ENTITY_KEYS = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def _ensure(iam: Any, kind: str, name: str) -> None:
    """The user, group or role an event acts on (a role trusting EC2, the harmless default)."""
    create = {"user": iam.create_user, "group": iam.create_group,
              "role": lambda **k: iam.create_role(**k, AssumeRolePolicyDocument=EC2_TRUST)}[kind]
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        create(**{_ENTITY_KEYS[kind]: name})


def _trust_state(iam: Any, role: str) -> Observer:
    def observe() -> str:
        document = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        return f"trust policy of role {role}: {json.dumps(document, separators=(',', ':'))}"

    return observe


def enact_create_role(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Create the role with the trust policy the event carries."""
    params = detail.get("requestParameters") or {}
    role, document = params.get("roleName"), params.get("assumeRolePolicyDocument")
    if not role or not isinstance(document, str):
        return None
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=document)
    return _trust_state(iam, role)


def enact_update_assume_role_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A role trusting EC2, then the trust policy the event sets."""
    params = detail.get("requestParameters") or {}
    role, document = params.get("roleName"), params.get("policyDocument")
    if not role or not isinstance(document, str):
        return None
    _ensure(iam, "role", role)
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=document)
    return _trust_state(iam, role)


def _kind(event_name: str) -> str:
    return next(kind for kind in _ENTITY_KEYS if kind.title() in event_name)


def enact_attach_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Attach{User,Group,Role}Policy: the entity, then the attachment."""
    params = detail.get("requestParameters") or {}
    kind = _kind(str(detail.get("eventName")))
    name, arn = params.get(f"{kind}Name"), params.get("policyArn")
    if not name or not arn:
        return None
    _ensure(iam, kind, name)
    getattr(iam, f"attach_{kind}_policy")(**{_ENTITY_KEYS[kind]: name}, PolicyArn=arn)

    def observe() -> str:
        attached = getattr(iam, f"list_attached_{kind}_policies")(**{_ENTITY_KEYS[kind]: name})["AttachedPolicies"]
        return f"policies attached to {kind} {name}: {[policy['PolicyName'] for policy in attached]}"

    return observe


def enact_put_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Put{User,Group,Role}Policy: the entity, then the inline policy."""
    params = detail.get("requestParameters") or {}
    kind = _kind(str(detail.get("eventName")))
    name, policy, document = params.get(f"{kind}Name"), params.get("policyName"), params.get("policyDocument")
    if not name or not policy or not isinstance(document, str):
        return None
    _ensure(iam, kind, name)
    key = {_ENTITY_KEYS[kind]: name}
    getattr(iam, f"put_{kind}_policy")(**key, PolicyName=policy, PolicyDocument=document)

    def observe() -> str:
        return f"inline policies of {kind} {name}: {getattr(iam, f'list_{kind}_policies')(**key)['PolicyNames']}"

    return observe


def enact_create_policy_version(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A customer-managed policy with a harmless v1, then the event's version; ids rewritten to moto's."""
    params = detail.get("requestParameters") or {}
    arn, document = params.get("policyArn"), params.get("policyDocument")
    if not isinstance(arn, str) or not isinstance(document, str):
        return None
    name = arn.rsplit("/", 1)[-1]
    harmless = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}]})
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        arn = iam.create_policy(PolicyName=name, PolicyDocument=harmless)["Policy"]["Arn"]
    params["policyArn"] = arn
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=document,
                                        SetAsDefault=bool(params.get("setAsDefault")))["PolicyVersion"]
    response = detail.get("responseElements") or {}
    if isinstance(response.get("policyVersion"), dict):
        response["policyVersion"]["versionId"] = version["VersionId"]

    def observe() -> str:
        return f"default version of policy {name}: {iam.get_policy(PolicyArn=arn)['Policy']['DefaultVersionId']}"

    return observe


def enact_add_user_to_group(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The group (a new one is the account's admins group: AdministratorAccess attached), the user, the membership."""
    params = detail.get("requestParameters") or {}
    group, user = params.get("groupName"), params.get("userName")
    if not group or not user:
        return None
    try:
        iam.create_group(GroupName=group)
        iam.attach_group_policy(GroupName=group, PolicyArn=ADMINISTRATOR_ACCESS)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    _ensure(iam, "user", user)
    iam.add_user_to_group(GroupName=group, UserName=user)

    def observe() -> str:
        return f"groups of user {user}: {[g['GroupName'] for g in iam.list_groups_for_user(UserName=user)['Groups']]}"

    return observe


# eventName -> how to make the account look as if that call had just succeeded.
ENACTORS: dict[str, Enactor] = {
    "CreateAccessKey": enact_create_access_key,
    "UpdateAccessKey": enact_update_access_key,
    "CreateRole": enact_create_role,
    "UpdateAssumeRolePolicy": enact_update_assume_role_policy,
    **dict.fromkeys(("AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"), enact_attach_policy),
    **dict.fromkeys(("PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"), enact_put_policy),
    "CreatePolicyVersion": enact_create_policy_version,
    "AddUserToGroup": enact_add_user_to_group,
}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalAccount:
    """A moto server on 127.0.0.1, an SNS topic, and a queue subscribed to it to read what was published."""

    def __init__(self) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)
        self.port = _free_port()
        self.server = ThreadedMotoServer(ip_address="127.0.0.1", port=self.port, verbose=False)

    def __enter__(self) -> LocalAccount:
        os.environ["MOTO_IAM_LOAD_MANAGED_POLICIES"] = "true"  # events attach AWS managed policies by ARN
        self.server.start()
        os.environ.update({
            "AWS_ENDPOINT_URL": f"http://127.0.0.1:{self.port}", "AWS_ACCESS_KEY_ID": "demo",
            "AWS_SECRET_ACCESS_KEY": "demo", "AWS_DEFAULT_REGION": "us-east-1", "AWS_REGION": "us-east-1",
            "POWERTOOLS_METRICS_NAMESPACE": "ComplianceRemediator", "POWERTOOLS_TRACE_DISABLED": "true",
            # The report is the demo's output: keep the handlers' JSON logs and EMF metrics out of it.
            "POWERTOOLS_LOG_LEVEL": "ERROR", "POWERTOOLS_METRICS_DISABLED": "true",
        })
        os.environ.pop("AWS_PROFILE", None)
        import boto3

        self.iam, self.sns, self.sqs = (boto3.client(name) for name in ("iam", "sns", "sqs"))
        self.topic_arn = self.sns.create_topic(Name="compliance-remediator-findings")["TopicArn"]
        self.queue_url = self.sqs.create_queue(QueueName="demo-inbox")["QueueUrl"]
        queue_arn = self.sqs.get_queue_attributes(QueueUrl=self.queue_url, AttributeNames=["QueueArn"])
        self.sns.subscribe(TopicArn=self.topic_arn, Protocol="sqs", Endpoint=queue_arn["Attributes"]["QueueArn"])
        _ensure_user(self.iam, BREAK_GLASS_USER)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.stop()

    def drain_notifications(self) -> list[dict[str, Any]]:
        messages = []
        while True:
            batch = self.sqs.receive_message(QueueUrl=self.queue_url, MaxNumberOfMessages=10).get("Messages", [])
            if not batch:
                return messages
            for message in batch:
                body = json.loads(message["Body"])
                attributes = {k: v["Value"] for k, v in body.get("MessageAttributes", {}).items()}
                messages.append({"subject": body.get("Subject"), "attributes": attributes,
                                 "text": body.get("Message")})
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


_COLOURS = {"critical": "\033[1;31m", "high": "\033[31m", "medium": "\033[33m", "low": "\033[36m",
            "verified": "\033[32m", "failed": "\033[1;31m"}


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
