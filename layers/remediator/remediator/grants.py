"""What an attached policy, or everything a user or role holds, grants: admin, escalation paths, or unreadable.

The documents are judged by the pure policy analysis; this module only finds them. AWS managed policies are
judged from shipped data (no call); one newer than that data is read from the account once per container.
admin_grants judges grants with it, console_mfa the power of a user whose password or MFA someone else set.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cache
from typing import TYPE_CHECKING, Any

from remediator.managed_policies import aws_managed_key, managed_policy_verdicts
from remediator.policy import PolicyParseError, analyse_identity_policy, load_policy_document
from remediator.state import StateUnreadable

if TYPE_CHECKING:
    from remediator.state import AccountState


@dataclass
class Grant:
    """What one event grants, judged: admin, escalation paths, or why the documents could not be read."""

    what: str  # "AWS managed policy AdministratorAccess", "inline policy x", "version v3 of policy y", ...
    admin: bool = False
    paths: tuple[str, ...] = ()
    unreadable: str | None = None
    via: str = ""  # for a group or a principal: which of its policies make it admin-equivalent
    notes: list[str] = field(default_factory=list)  # a permission set: which policies, what its boundary caps

    @property
    def risky(self) -> bool:
        return self.admin or bool(self.paths)


@cache
def _known_managed_policies() -> frozenset[str]:
    data = managed_policy_verdicts()
    return frozenset(data["admin_equivalent"]) | frozenset(data["escalation"]) | frozenset(data["benign"])


# AWS managed policies newer than the shipped data, read from the account: their documents change only when
# AWS publishes a new version, so once per container is enough.
_LIVE_MANAGED: dict[str, Any] = {}


def _document(arn: str, state: AccountState) -> Any:
    """A managed policy's default document; AWS managed ones newer than the shipped data cached per container."""
    if aws_managed_key(arn) is None:
        return state.policy_document(arn)
    if arn not in _LIVE_MANAGED:
        _LIVE_MANAGED[arn] = state.policy_document(arn)
    return _LIVE_MANAGED[arn]


def judge(what: str, document: Any) -> Grant:
    try:
        verdict = analyse_identity_policy(load_policy_document(document))
    except PolicyParseError as error:
        return Grant(what, unreadable=f"{what}: the document is unreadable ({error})")
    return Grant(what, verdict.admin_equivalent, () if verdict.admin_equivalent else verdict.escalation_paths)


def judge_attached(arn: str, state: AccountState) -> Grant:
    """An attached (managed) policy: shipped verdicts for AWS's, else its default version read from the account."""
    key = aws_managed_key(arn)
    if key is not None:
        name = f"AWS managed policy {key.rsplit('/', 1)[-1]}"
        if key in _known_managed_policies():
            data = managed_policy_verdicts()
            return Grant(name, key in data["admin_equivalent"], tuple(data["escalation"].get(key, ())))
        try:
            return judge(name, _document(arn, state))
        except StateUnreadable as error:
            return Grant(name, unreadable=f"{error}: it is not in the shipped AWS managed policy data either")
    what = f"customer-managed policy {arn}"
    try:
        return judge(what, state.policy_document(arn))
    except StateUnreadable as error:
        return Grant(what, unreadable=str(error))


def combine(what: str, grants: list[Grant]) -> Grant:
    """The union of several policies' grants: admin if any is; every path any opens; unreadable parts named."""
    unreadable = [grant.unreadable for grant in grants if grant.unreadable]
    admin = [grant.what for grant in grants if grant.admin]
    paths = tuple(dict.fromkeys(path for grant in grants for path in grant.paths))
    if admin:
        return Grant(what, admin=True, via=", ".join(admin))
    if unreadable and not paths:
        return Grant(what, unreadable="; ".join(unreadable))
    return Grant(what, paths=paths, via=", ".join(grant.what for grant in grants if grant.paths))


def _holdings(what: str, attached: list[str], inline: dict[str, Any], state: AccountState) -> Grant:
    """Several policies judged as one: statements of different policies (a PassRole here, a RunInstances there)
    open a path only together. AWS managed policies add their shipped verdicts; every other document is merged."""
    grants: list[Grant] = []
    statements: list[Any] = []
    merged: list[str] = []  # what the merged document is made of, for the message
    for arn in attached:
        key = aws_managed_key(arn)
        if key is not None and key in _known_managed_policies():
            grants.append(judge_attached(arn, state))
            continue
        label = f"AWS managed policy {key}" if key is not None else f"customer-managed policy {arn}"
        try:
            statements += load_policy_document(_document(arn, state))["Statement"]
            merged.append(label)
        except StateUnreadable as error:
            grants.append(Grant(label, unreadable=str(error)))
        except PolicyParseError as error:
            grants.append(Grant(label, unreadable=f"{label}: the document is unreadable ({error})"))
    for name, document in inline.items():
        try:
            statements += load_policy_document(document)["Statement"]
            merged.append(f"inline policy {name}")
        except PolicyParseError as error:
            grants.append(Grant(name, unreadable=f"inline policy {name}: the document is unreadable ({error})"))
    if statements:
        grants.append(judge(" + ".join(merged), {"Version": "2012-10-17", "Statement": statements}))
    return combine(f"the policies of {what}", grants)


def judge_group(group: str, state: AccountState) -> Grant:
    """Everything the group grants its members: attached and inline policies, judged together."""
    try:
        attached, inline = state.group_policies(group)
    except StateUnreadable as error:
        return Grant(f"the policies of group {group}", unreadable=str(error))
    return _holdings(f"group {group}", attached, inline, state)


def judge_principal(kind: str, name: str, state: AccountState) -> Grant:
    """Everything a user (with its groups) or a role holds, judged together, before any permissions boundary."""
    try:
        attached, inline, groups = state.principal_policies(kind, name)
        inline = {f"{policy} of {kind} {name}": document for policy, document in inline.items()}
        for group in groups:
            group_attached, group_inline = state.group_policies(group)
            attached += [arn for arn in group_attached if arn not in attached]
            inline.update({f"{policy} of group {group}": document for policy, document in group_inline.items()})
    except StateUnreadable as error:
        return Grant(f"the policies of {kind} {name}", unreadable=str(error))
    return _holdings(f"{kind} {name}", attached, inline, state)


def within_boundary(held: Grant, boundary: Grant) -> Grant:
    """What a principal's policies grant under a permissions boundary: a boundary that is not admin-equivalent
    caps admin, and only the paths both open stay open (the boundary's own paths are an upper bound)."""
    if held.unreadable or boundary.unreadable:
        return Grant(held.what, unreadable=held.unreadable or boundary.unreadable)
    if held.admin and boundary.admin:
        return Grant(held.what, admin=True, via=held.via)
    held_paths = set(held.paths) if not held.admin else None
    bound_paths = set(boundary.paths) if not boundary.admin else None
    if held_paths is None:
        paths = tuple(sorted(bound_paths or ()))
    elif bound_paths is None:
        paths = tuple(sorted(held_paths))
    else:
        paths = tuple(sorted(held_paths & bound_paths))
    return Grant(held.what, paths=paths, via=held.via)
