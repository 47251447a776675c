"""Which configured ARN names which principal or resource: break-glass entries and exemption-list patterns.

IAM user, role and group names are unique in an account whatever their path, and unique regardless of case,
so `role/R`, `role/ops/R` and `role/r` are one role; an assumed-role session is its role (the session name
is chosen by whoever assumes it, so it never counts). Partitions, services and account ids are compared
exactly: an attacker can name a role `BreakGlass` in their own account, never in ours.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

NAMED_BY_PATH_FREE_NAME = frozenset({"user", "role", "group", "policy", "instance-profile"})


@dataclass(frozen=True)
class Arn:
    partition: str
    service: str
    region: str
    account: str
    resource: str

    def __str__(self) -> str:
        return f"arn:{self.partition}:{self.service}:{self.region}:{self.account}:{self.resource}"


def parse_arn(text: str | None) -> Arn | None:
    """An ARN's six fields, or None when the text is not an ARN."""
    parts = (text or "").strip().split(":", 5)
    if len(parts) != 6 or parts[0] != "arn" or not parts[1] or not parts[2]:
        return None
    return Arn(*parts[1:])


def canonical(arn: Arn) -> Arn:
    """The form two ARNs of one IAM entity share: session -> role, path dropped, name case-folded."""
    service, resource = arn.service, arn.resource
    if service == "sts" and resource.startswith("assumed-role/"):
        service, resource = "iam", "role/" + resource.split("/")[1]
    if service == "iam" and "/" in resource:
        kind, _, rest = resource.partition("/")
        if kind in NAMED_BY_PATH_FREE_NAME:
            resource = f"{kind}/{rest.rsplit('/', 1)[-1].casefold()}"
    return Arn(arn.partition, service, arn.region, arn.account, resource)


def same_principal(configured: str, candidate: str | None) -> bool:
    """Whether a configured principal ARN (break-glass) names the candidate ARN, by the rules above."""
    left, right = parse_arn(configured), parse_arn(candidate)
    return left is not None and right is not None and canonical(left) == canonical(right)


def _wildcard_path(arn: Arn) -> bool:
    """An IAM pattern with a path and a wildcard (`role/ops/*`): paths are chosen by whoever creates the
    entity, so such a pattern matches nothing rather than every role of that name pattern."""
    kind, _, rest = arn.resource.partition("/")
    return (
        arn.service == "iam"
        and kind in NAMED_BY_PATH_FREE_NAME
        and "/" in rest
        and any(ch in arn.resource for ch in "*?")
    )


@lru_cache(maxsize=512)
def _field_pattern(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` any run of characters, `?` one character, everything else literal."""
    body = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in pattern)
    return re.compile(body, re.IGNORECASE | re.DOTALL if ignore_case else re.DOTALL)


def pattern_matches(pattern: str, candidate: str | None) -> bool:
    """Whether an exemption-list pattern matches an ARN. Each of the first five fields is matched on its
    own (a `*` never spans a `:` there, so `arn:aws:iam::*` cannot stand for another service); an IAM
    entity is matched by its canonical form (no path, name case-folded, a session as its role)."""
    left, right = parse_arn(pattern), parse_arn(candidate)
    if left is None or right is None or _wildcard_path(left):
        return False
    left, right = canonical(left), canonical(right)
    for want, have in (
        (left.partition, right.partition),
        (left.service, right.service),
        (left.region, right.region),
        (left.account, right.account),
    ):
        if not _field_pattern(want, False).fullmatch(have):
            return False
    return bool(_field_pattern(left.resource, right.service == "iam").fullmatch(right.resource))
