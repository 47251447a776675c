"""Organization mode: the hub reads and changes a member account through the member role it trusts us with.

With MEMBER_ROLE_NAME set, an event recorded in another account than the hub's is judged and fixed in that
account: the handler assumes `arn:<partition>:iam::<account>:role<MEMBER_ROLE_PATH><MEMBER_ROLE_NAME>` and
builds its clients on those credentials. The hub's own clients keep DynamoDB, SNS and Security Hub. When the
role cannot be assumed, or denies a remediation step, the finding is still reported (not remediated) and one
critical "cannot act in account X" message per account and hour says why (docs/decisions.md).
Unset MEMBER_ROLE_NAME: every event is handled with the hub's own clients, as in a single account.
"""

from __future__ import annotations

import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.engine import act
from remediator.findings import ActionResult, Finding, Mode, Outcome
from remediator.state import DENIED, AccountState, AssumedState, LiveState, own_organization

if TYPE_CHECKING:
    from remediator.config import Settings
    from remediator.events import CloudTrailRecord
    from remediator.store import Claim, FindingsStore

DEFAULT_MEMBER_PATH = "/compliance-remediator/"
# The member stack's deny-unless-MFA policy (console_mfa attaches it): a fixed name, so the hub can name it.
MEMBER_DENY_POLICY = "compliance-remediator-deny-without-mfa"
SESSION_SECONDS = 3600
CREDENTIAL_MARGIN_SECONDS = 300  # renew this long before the credentials expire: a remediation never straddles it
ALERT_QUIET_SECONDS = 3600  # one "cannot act in account X" message per account in this long
LOOKUP_CACHE_SECONDS = 300  # account names and per-account modes are re-read this often
# STS RoleSessionName: 2-64 characters of letters, digits and =,.@_- (a CloudTrail eventID is a UUID).
_SESSION_CHARS = re.compile(r"[^\w+=,.@-]", re.ASCII)
_ACCOUNT = re.compile(r"\d{12}")
# An organizational unit or the root, as Organizations writes their ids: a key of the modes parameter.
_CONTAINER = re.compile(r"ou-[0-9a-z]{4,32}-[0-9a-z]{8,32}|r-[0-9a-z]{4,32}")
_MAX_DEPTH = 8  # OUs nest five deep under the root: a longer walk is a loop, not an organization
_CANNOT_ASSUME = DENIED | {"InvalidClientTokenId", "RegionDisabledException", "ExpiredToken"}

# Per container: credentials by role ARN (with their expiry, epoch seconds), the last alert per account.
_MEMBERS: dict[str, tuple[float, AwsClients]] = {}
_ALERTED: dict[str, float] = {}
_LOOKUPS: dict[str, tuple[float, Any]] = {}
logger = logging.getLogger(__name__)


class Unreachable(Exception):
    """The member role could not be assumed: missing, not trusting the hub, or STS refused."""


def session_name(event_id: str | None) -> str:
    """The event's id as an STS session name (the member account's CloudTrail then names the event we act on)."""
    name = _SESSION_CHARS.sub("-", event_id or "")[:64]
    return name if len(name) >= 2 else "compliance-remediator"


@dataclass(frozen=True)
class MemberRole:
    """The role every member account holds for the hub (member.yaml): its name and path."""

    name: str
    path: str = DEFAULT_MEMBER_PATH

    def arn(self, partition: str, account: str) -> str:
        return f"arn:{partition}:iam::{account}:role{self.path}{self.name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> MemberRole | None:
        """None unless organization mode is on (MEMBER_ROLE_NAME set)."""
        env = os.environ if env is None else env
        name = env.get("MEMBER_ROLE_NAME", "").strip()
        if not name:
            return None
        path = env.get("MEMBER_ROLE_PATH", "").strip() or DEFAULT_MEMBER_PATH
        return cls(name, path if path.endswith("/") else f"{path}/")


def hub_account(settings: Settings, aws: AwsClients) -> tuple[str, str]:
    """(partition, account id) of the hub: from our own role ARNs (no call), else GetCallerIdentity once."""
    for arn in sorted(settings.own_role_arns):
        parts = arn.split(":")
        if len(parts) > 5 and _ACCOUNT.fullmatch(parts[4]):
            return parts[1], parts[4]
    if "hub" not in _LOOKUPS:
        parts = aws.sts.get_caller_identity()["Arn"].split(":")
        _LOOKUPS["hub"] = (float("inf"), (parts[1], parts[4]))
    found: tuple[str, str] = _LOOKUPS["hub"][1]
    return found


def member_clients(hub: AwsClients, role_arn: str, event_id: str | None, now: float | None = None) -> AwsClients:
    """Clients acting as the member role, reused until shortly before the credentials expire (the first
    event's id names the session; later events of the account reuse it). Unreachable when STS refuses."""
    now = time.time() if now is None else now
    cached = _MEMBERS.get(role_arn)
    if cached and cached[0] - CREDENTIAL_MARGIN_SECONDS > now:
        return cached[1]
    try:
        credentials = hub.sts.assume_role(
            RoleArn=role_arn, RoleSessionName=session_name(event_id), DurationSeconds=SESSION_SECONDS
        )["Credentials"]
    except ClientError as error:
        if error_code(error) in _CANNOT_ASSUME:
            message = error.response.get("Error", {}).get("Message", str(error))
            raise Unreachable(f"{error_code(error)}: {message}") from error
        raise
    clients = hub.with_credentials(credentials)
    _MEMBERS[role_arn] = (credentials["Expiration"].timestamp(), clients)
    return clients


def account_modes(hub: AwsClients, account: str) -> dict[str, Mode]:
    """The account's rule modes from the JSON SSM parameter ACCOUNT_MODES_PARAMETER, read through a few-minute
    cache. Keys are account ids, OU ids (`ou-...`) or the root (`r-...`): the account's own entry wins over its
    OUs', a nearer OU's over a farther one's (`{"<id>": {"<rule>": "off|notify|remediate"}}`)."""
    parameter = os.environ.get("ACCOUNT_MODES_PARAMETER", "").strip()
    if not parameter:
        return {}

    def read() -> Any:
        try:
            return json.loads(hub.client("ssm").get_parameter(Name=parameter)["Parameter"]["Value"])
        except ClientError as error:
            if error_code(error) != "ParameterNotFound":
                raise  # an outage or a denied read: Lambda retries, no event is judged on a guess
            return {}
        except json.JSONDecodeError:  # not JSON: the stack's modes hold for every account
            return {}

    table = _cached(f"modes:{parameter}", read)
    if not isinstance(table, dict):
        return {}
    modes: dict[str, Mode] = {}
    if any(isinstance(key, str) and _CONTAINER.fullmatch(key) for key in table):  # else no ListParents call
        for container in reversed(account_parents(hub, account)):  # the root first, the nearest OU last
            modes.update(_modes_in(table.get(container)))
    modes.update(_modes_in(table.get(account)))
    return modes


def _modes_in(wanted: Any) -> dict[str, Mode]:
    if not isinstance(wanted, dict):
        return {}
    return {str(rule): Mode(mode) for rule, mode in wanted.items() if isinstance(mode, str) and mode in Mode}


def account_parents(hub: AwsClients, account: str) -> tuple[str, ...]:
    """The account's OUs, nearest first, then the root (ListParents up the tree). Kept for the container's life
    (an account moved to another OU is seen by new containers); a failed read is logged, yields no OU (the
    account's own entry and the stack's modes hold) and is tried again after a few minutes."""
    key = f"parents:{account}"
    entry = _LOOKUPS.get(key)
    if entry is not None and entry[0] >= time.monotonic():
        found: tuple[str, ...] = entry[1]
        return found
    path: list[str] = []
    try:
        organizations, child = hub.client("organizations"), account
        while len(path) < _MAX_DEPTH:
            [parent] = organizations.list_parents(ChildId=child)["Parents"]
            path.append(str(parent["Id"]))
            if parent.get("Type") == "ROOT":
                break
            child = path[-1]
        else:
            raise ValueError(f"no root within {_MAX_DEPTH} levels")
    except (ClientError, KeyError, TypeError, ValueError) as error:
        logger.warning("cannot read the OUs of account %s (per-OU modes ignored for it): %s", account, error)
        _LOOKUPS[key] = (time.monotonic() + LOOKUP_CACHE_SECONDS, ())
        return ()
    _LOOKUPS[key] = (float("inf"), tuple(path))
    return tuple(path)


def account_name(hub: AwsClients, account: str | None) -> str | None:
    """The account's name in the organization (DescribeAccount, cached); None when it cannot be read."""
    if not account or not _ACCOUNT.fullmatch(account):
        return None

    def read() -> Any:
        try:
            return hub.client("organizations").describe_account(AccountId=account)["Account"].get("Name")
        except ClientError:  # not the management account (or a delegated admin): ids only, asked again later
            return None

    name = _cached(f"name:{account}", read)
    return name if isinstance(name, str) else None


def _cached(key: str, read: Any) -> Any:
    entry = _LOOKUPS.get(key)
    if entry is None or entry[0] < time.monotonic():
        entry = (time.monotonic() + LOOKUP_CACHE_SECONDS, read())
        _LOOKUPS[key] = entry
    return entry[1]


@dataclass
class Target:
    """Where an event is judged and fixed: the clients and settings of its account."""

    hub: AwsClients
    aws: AwsClients  # acting in the event's account; the hub's own for the hub's account
    settings: Settings
    account: str | None = None
    member: bool = False
    unreachable: str | None = None  # why the member role could not be assumed
    role_arn: str | None = None

    def state(self) -> AccountState:
        """The account's state; assumed (nothing read) when we cannot get in (the finding is still reported)."""
        if self.unreachable:
            return AssumedState()
        return LiveState(self.aws.iam, self.aws, own_organization(self.aws))

    def act(self, finding: Finding, store: FindingsStore | None, claim: Claim | None = None) -> ActionResult:
        """engine.act in the event's account; a denied member role is one loud alert, never silence."""
        if self.member and (name := account_name(self.hub, self.account)):
            finding.details.setdefault("account_name", name)  # messages name the account (notify.py)
        if self.unreachable:
            self.alert(store, self.unreachable)
            if finding.mode != Mode.REMEDIATE or finding.exempt:
                return act(finding, self.aws, store, claim)  # nothing to change: the usual "reported only" / "exempt"
            return ActionResult(
                Outcome.FAILED,
                f"nothing changed: cannot act in account {self.account} (member role {self.role_arn}).",
                self.unreachable,
            )
        result = act(finding, self.aws, store, claim)
        if self.member and result.outcome == Outcome.FAILED and (result.error or "").split(":", 1)[0] in DENIED:
            self.alert(store, f"{result.error} ({finding.rule} could not {finding.action})")
        return result

    def alert(self, store: FindingsStore | None, problem: str) -> bool:
        """One critical message per account and hour, across containers (a conditional write in the findings
        table; this container's memory first). True when this call sent it."""
        account = self.account or "unknown"
        now = time.time()
        if _ALERTED.get(account, 0) > now:
            return False
        _ALERTED[account] = now + ALERT_QUIET_SECONDS
        if store is not None and not store.claim_contested(f"{account}:account/member-role", "cannot_act"):
            return False
        if not self.settings.topic_arn:
            return False
        self.hub.sns.publish(**cannot_act_request(self.settings.topic_arn, account, self.role_arn, problem, self.hub))
        return True


def cannot_act_request(
    topic_arn: str, account: str, role_arn: str | None, problem: str, hub: AwsClients
) -> dict[str, Any]:
    """The "cannot act in account X" message: what failed and how to fix it (deploy or repair member.yaml)."""
    name = account_name(hub, account)
    who = f"{account} ({name})" if name else account
    text = "\n".join(
        [
            f"CRITICAL: cannot act in account {who}",
            "",
            f"The remediator could not use its member role {role_arn} in account {who}: {problem}",
            "Findings in this account are still reported, but nothing is remediated there until this is fixed.",
            "Fix: deploy member.yaml to the account (the StackSet's stack instance, or a plain stack in the",
            "management account) and check that the role trusts the hub's function roles and is unchanged.",
            f"Console: https://console.aws.amazon.com/iam/home#/roles/details/{(role_arn or '').rsplit('/', 1)[-1]}",
            "This message is sent once per account and hour.",
        ]
    )
    document = json.dumps(
        {"rule": "cannot_act", "severity": "critical", "outcome": "cannot_act", "account": account, "text": text}
    )
    attributes = {"severity": "critical", "rule": "cannot_act", "account": account, "action": "cannot_act"}
    return {
        "TopicArn": topic_arn,
        "Subject": f"[CRITICAL] cannot act in account {who}"[:100],
        "MessageStructure": "json",
        "Message": json.dumps({"default": text, "email": text, "sqs": document, "lambda": document}),
        "MessageAttributes": {key: {"DataType": "String", "StringValue": value} for key, value in attributes.items()},
    }


def target_for(record: CloudTrailRecord, hub: AwsClients, settings: Settings) -> Target:
    """The event's account: the hub's own clients unless organization mode is on and the account is another."""
    role = MemberRole.from_env()
    account = record.account
    if role is None or not account or not _ACCOUNT.fullmatch(account):
        return Target(hub, hub, settings, account)
    partition, own = hub_account(settings, hub)
    modes = account_modes(hub, account)
    if modes:
        settings = replace(settings, modes={**settings.modes, **modes})
    if account == own:
        return Target(hub, hub, settings, account)
    settings = replace(
        settings,
        deny_without_mfa_policy_arn=f"arn:{partition}:iam::{account}:policy{role.path}{MEMBER_DENY_POLICY}",
    )
    role_arn = role.arn(partition, account)
    try:
        clients = member_clients(hub, role_arn, record.eventID)
    except Unreachable as error:
        return Target(hub, hub, settings, account, member=True, unreachable=str(error), role_arn=role_arn)
    return Target(hub, clients, settings, account, member=True, role_arn=role_arn)
