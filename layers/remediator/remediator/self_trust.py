"""A caller who writes itself into the trust policy of a more powerful role can become that role.

The caller is the IAM user of the call, or for a role session the role that issued it (the session name is the
caller's to choose, so it never counts). A statement names the caller by its ARN — compared without the path and
with the name case-folded, as IAM does (arns.py) — or by the unique id IAM stores for it (AIDA…, AROA…).
The account root is the account itself, not the caller: trusting it is ordinary and not self-trust.

"More power" is judged live with the grant analysis (grants.py): the role admin-equivalent and the caller not,
or the role opening an escalation path while the caller holds neither. A new role usually holds nothing when
the event is handled (policies are attached afterwards, and admin_grants reports an admin attachment).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from remediator.arns import Arn, parse_arn, same_principal
from remediator.events import CloudTrailRecord
from remediator.grants import Grant, judge_attached, judge_principal, within_boundary
from remediator.policy import statements_trusting
from remediator.rules.base import EvalContext
from remediator.state import AccountState, StateUnreadable

UNIQUE_ID = re.compile(r"A(IDA|ROA)[A-Z0-9]{8,}")


@dataclass(frozen=True)
class Caller:
    """The IAM principal behind a call: a user, or the role an assumed-role session was issued by."""

    kind: str  # "user" or "role"
    name: str
    arn: str
    account: str
    unique_id: str | None

    def named_by(self, value: str) -> bool:
        if self.unique_id and value.strip() == self.unique_id:
            return True
        parsed = parse_arn(value)
        return parsed is not None and parsed.service in ("iam", "sts") and same_principal(self.arn, value)

    @property
    def label(self) -> str:
        return f"{self.kind} {self.name}"


@dataclass(frozen=True)
class SelfTrust:
    """Statements that let the caller itself assume the role, and why that is a finding (or needs a review)."""

    indices: tuple[int, ...]
    why: str
    review: bool = False  # the power of the role or the caller could not be read: report, never act


def caller_of(record: CloudTrailRecord) -> Caller | None:
    identity = record.identity
    unique = (identity.principalId or "").split(":", 1)[0]
    if identity.type == "IAMUser":
        arn = parse_arn(identity.arn)
        if arn is None or arn.service != "iam" or not arn.resource.startswith("user/"):
            return None
        name = arn.resource.rsplit("/", 1)[-1]
        return Caller("user", name, str(arn), arn.account, unique if UNIQUE_ID.fullmatch(unique) else None)
    if identity.type != "AssumedRole":
        return None
    issuer: Any = (identity.sessionContext or {}).get("sessionIssuer")
    issuer = issuer if isinstance(issuer, dict) else {}
    arn = parse_arn(issuer.get("arn")) or parse_arn(identity.arn)
    if arn is None or arn.service not in ("iam", "sts"):
        return None
    kind, _, rest = arn.resource.partition("/")
    if (arn.service, kind) == ("sts", "assumed-role"):
        name = rest.split("/", 1)[0]
        arn = Arn(arn.partition, "iam", "", arn.account, f"role/{name}")
    elif (arn.service, kind) == ("iam", "role"):
        name = rest.rsplit("/", 1)[-1]
    else:
        return None
    issuer_id = issuer.get("principalId")
    unique = issuer_id if isinstance(issuer_id, str) else unique
    return Caller("role", name, str(arn), arn.account, unique if UNIQUE_ID.fullmatch(unique) else None)


def power(kind: str, name: str, state: AccountState) -> Grant:
    """What a user (with its groups) or role holds, under its permissions boundary if it has one."""
    held = judge_principal(kind, name, state)
    try:
        boundary = state.permissions_boundary(kind, name)
    except StateUnreadable as error:
        return Grant(held.what, unreadable=str(error))
    return within_boundary(held, judge_attached(boundary, state)) if boundary else held


def _describe(grant: Grant) -> str:
    if grant.admin:
        return f"is admin-equivalent (through {grant.via})"
    if grant.paths:
        return f"opens escalation paths ({', '.join(grant.paths)})"
    return "holds neither admin-equivalent nor escalating permissions"


def judge_self_trust(
    record: CloudTrailRecord, document: dict[str, Any], role: str | None, context: EvalContext
) -> SelfTrust | None:
    """None unless a statement lets the caller itself in and the role has (or, in a dry run, is assumed to have)
    more power than the caller."""
    caller = caller_of(record)
    if caller is None:
        return None
    indices = statements_trusting(document, caller.named_by)
    if not indices:
        return None
    names = f"names the caller's own {caller.label}"
    role_text = f"role {role}" if role else "the role"
    if context.assumed:
        return SelfTrust(indices, f"{names}; state assumed (dry run): {role_text} has more power than the caller")
    if not role:
        return SelfTrust(indices, f"{names}, but the event does not name the role to read its power", review=True)
    held = power("role", role, context.state)
    if held.unreadable:
        return SelfTrust(
            indices, f"{names}, but what {role_text} holds could not be read: {held.unreadable}", review=True
        )
    if not held.risky:
        return None
    if caller.account != record.account:
        own = f"{caller.label} belongs to account {caller.account}, whose policies cannot be read from here"
        return SelfTrust(indices, f"{names}, and {role_text} {_describe(held)}; but {own}", review=True)
    mine = power(caller.kind, caller.name, context.state)
    if mine.unreadable:
        return SelfTrust(
            indices,
            f"{names}, and {role_text} {_describe(held)}; but what {caller.label} holds could not be read: "
            f"{mine.unreadable}",
            review=True,
        )
    if (held.admin and not mine.admin) or (held.paths and not mine.risky):
        return SelfTrust(indices, f"{names}: {role_text} {_describe(held)}, {caller.label} {_describe(mine)}")
    return None
