"""Is a resource policy public? Which Allow statements let anyone at all in.

A statement is public when it allows any action to `*` (`"*"`, `{"AWS": "*"}`, an ARN with a wildcard account,
an anonymous canonical user) or uses `NotPrincipal`, and no condition confines it to known accounts or
networks. The narrowing keys are the trust analysis' (organization, account, source ARN, user id: the same
semantics, so `aws:SourceIp`, tag and MFA keys alone never narrow: they hold for anyone) plus the network keys a
bucket can be pinned to: `aws:SourceVpce` and `aws:SourceVpc` with a value that is not a wildcard. Deny
statements never narrow (a policy that needs a Deny to be private is still reported): adding one is no way out.
Any action counts, reading the ACL included: S3 itself calls such a bucket public.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .actions import has_wildcard
from .document import Condition, Statement, as_list, load_policy_document, normalise_statement
from .trust import _narrowing_scopes, _positive, _vacuous

_NETWORK_KEYS = frozenset({"aws:sourcevpce", "aws:sourcevpc"})
_NETWORK_OPERATORS = ("stringequals", "stringequalsignorecase", "stringlike")


@dataclass(frozen=True)
class PublicStatement:
    """One statement that opens the resource to everyone: its position, its Sid and what it grants."""

    index: int
    sid: str | None
    actions: tuple[str, ...]
    principal: str  # "*", "NotPrincipal", or the wildcard ARN as written


def _public_principal(statement: Statement) -> str | None:
    if statement.has_not_principal:
        return "NotPrincipal"
    principal = statement.principal
    if principal == "*":
        return "*"
    if not isinstance(principal, dict):
        return None
    for kind, values in principal.items():
        if str(kind).lower() not in ("aws", "canonicaluser"):
            continue  # a service principal is AWS itself, confined by the service
        for value in as_list(values):
            if value == "*":
                return "*"
            if not isinstance(value, str):
                continue
            parts = value.split(":")
            if len(parts) >= 6 and parts[0] == "arn" and has_wildcard(parts[4]):
                return str(value)
    return None


def _pins_network(condition: Condition) -> bool:
    """A positive test of the VPC endpoint or VPC with real, non-wildcard ids: only traffic from there."""
    if condition.key not in _NETWORK_KEYS or not condition.values:
        return False
    if not _positive(condition, _NETWORK_OPERATORS, ("", "foranyvalue")):
        return False
    return all(not _vacuous(condition, value) and not has_wildcard(value) for value in condition.values)


def narrowed(statement: Statement) -> bool:
    """Some condition confines the wildcard principal to known accounts, principals or networks."""
    return bool(_narrowing_scopes(statement)) or any(_pins_network(c) for c in statement.conditions)


def public_statements(document: dict[str, Any] | str) -> tuple[PublicStatement, ...]:
    """The Allow statements that let anyone in; raises PolicyParseError when the document cannot be read."""
    found = []
    for index, raw in enumerate(load_policy_document(document)["Statement"]):
        statement = normalise_statement(index, raw, "trust")  # read like a trust policy: Principal, no Resource
        if statement.effect != "Allow":
            continue
        principal = _public_principal(statement)
        if principal is None or narrowed(statement):
            continue
        sid = raw.get("Sid")
        written = raw.get("Action")  # as written, for the message (the analysis reads them lower-cased)
        actions = tuple(str(a) for a in (written if isinstance(written, list) else [written])) if written else ()
        actions = actions if statement.actions is not None else ("NotAction",)
        found.append(PublicStatement(index, sid if isinstance(sid, str) else None, actions, principal))
    return tuple(found)
