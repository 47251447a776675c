"""Is an identity policy admin-equivalent, or does it open a known privilege-escalation path?

Both questions are asked of the document alone: Allow statements grant, unconditioned Deny statements take
away, NotAction/NotResource are read as "everything except". A condition on an Allow (MFA, source IP, tags)
does not make it less dangerous, except one that can never hold again (a date test that lies in the past).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .actions import (
    ACTION_TARGETS,
    ADMIN_IAM_ACTIONS,
    ESCALATION_PATHS,
    TARGET_ARNS,
    PatternSet,
    glob_covers,
    glob_match,
    globs_intersect,
    has_wildcard,
    passrole_services,
)
from .document import Statement, normalised_statements

_SELF_VARIABLES = ("${aws:username}", "${aws:userid}")
_VARIABLE = "\x00variable\x00"  # a policy variable in a Deny names one value, never "all of them"
_PAST_ONLY_KEYS = ("aws:currenttime", "aws:tokenissuetime", "aws:epochtime")
_ACCOUNT_CHARACTERS = frozenset("0123456789*?")
_NAME_STARTS = "abcdefghijklmnopqrstuvwxyz0123456789+=,.@_-"  # what an IAM name or path can start with


@dataclass(frozen=True)
class IdentityVerdict:
    """What an identity policy grants that matters to us; `problems` lists what IAM would reject."""

    admin_equivalent: bool
    escalation_paths: tuple[str, ...]
    problems: tuple[str, ...]

    @property
    def risky(self) -> bool:
        return self.admin_equivalent or bool(self.escalation_paths)


def normalise_arn(pattern: str, variable: str = "*", fold_case: bool = True) -> str:
    """Lower-case ARN pattern with partition `aws` and any 12-digit account as `*`; policy variables become
    `variable`: `*` where the question is "could it reach", a non-matching mark for "does it cover all".
    fold_case=False keeps the case of the resource part, which IAM compares case-sensitively."""
    text = pattern.strip()
    fields = text.split(":", 5)
    if fold_case or len(fields) < 6:
        text = text.lower()
    else:
        text = ":".join(field.lower() for field in fields[:5]) + ":" + fields[5]
    while "${" in text:
        start = text.index("${")
        end = text.find("}", start)
        if end < 0:
            break
        text = text[:start] + variable + text[end + 1 :]
    parts = text.split(":", 5)
    if len(parts) == 6 and parts[0] == "arn":
        if parts[1].startswith("aws"):
            parts[1] = "aws"
        if parts[4] and set(parts[4]) <= _ACCOUNT_CHARACTERS:  # 111122223333, ????????????, 1111*
            parts[4] = "*"
        text = ":".join(parts)
    return text


def _self_only(pattern: str) -> bool:
    """`arn:aws:iam::*:user/${aws:username}`: the caller's own user, as in self-service policies.

    Only when the variable is the whole name: `user/${aws:username}*` also reaches `alice-admin` for `alice`.
    """
    last = pattern.lower().rsplit("/", 1)[-1]
    return last in _SELF_VARIABLES


def _resource_counts(pattern: str, target: str) -> bool:
    """Does this Resource entry reach the kind of resource the escalation needs?"""
    if target == "any":
        return True
    normal = normalise_arn(pattern)
    if not globs_intersect(normal, TARGET_ARNS[target]):
        return False
    if target == "customer_policy":
        parts = pattern.strip().lower().split(":")
        return not (len(parts) > 4 and parts[4] == "aws")
    if target == "other_user":
        return not _self_only(pattern)
    if target in ("passable_role", "assumable_role"):
        return normal == "*" or has_wildcard(_strip_variables(pattern))
    return True


def _strip_variables(pattern: str) -> str:
    out = pattern
    while "${" in out and "}" in out[out.index("${") :]:
        start = out.index("${")
        out = out[:start] + out[out.index("}", start) + 1 :]
    return out


class _Compiled:
    """A statement with its action patterns compiled once per document."""

    __slots__ = ("actions", "not_actions", "not_resources", "resources", "statement")

    def __init__(self, statement: Statement) -> None:
        self.statement = statement
        self.actions = PatternSet(statement.actions) if statement.actions is not None else None
        self.not_actions = PatternSet(statement.not_actions) if statement.not_actions is not None else None
        self.resources = statement.resources
        self.not_resources = statement.not_resources

    def allows_action(self, action: str) -> bool:
        if self.actions is not None:
            return self.actions.matches(action)
        return self.not_actions is not None and not self.not_actions.matches(action)

    def covers_resource(self, normal: str) -> bool:
        """Does this (Deny) statement apply to every resource the pattern `normal` can name?"""
        if self.resources is not None:  # case-sensitive, as IAM matches resources: `ROLE/*` covers no role
            return any(_covers_exactly(r, normal) for r in self.resources)
        return not any(globs_intersect(normalise_arn(r), normal) for r in self.not_resources or ())


def _date_in_past(value: str) -> bool:
    from datetime import UTC, datetime  # only for the rare date conditions

    try:
        if value.strip().isdigit():
            moment = datetime.fromtimestamp(int(value.strip()), UTC)
        else:
            moment = datetime.fromisoformat(value.strip())
            if moment.tzinfo is None:
                moment = moment.replace(tzinfo=UTC)
    except (ValueError, OverflowError, OSError):
        return False
    return moment < datetime.now(UTC)


def never_applies(statement: Statement) -> bool:
    """A condition that can no longer be true (e.g. DateLessThan aws:CurrentTime in the past)."""
    for condition in statement.conditions:
        if (
            condition.base in ("datelessthan", "datelessthanequals")
            and condition.qualifier == ""
            and condition.key in _PAST_ONLY_KEYS
            and condition.values
            and all(_date_in_past(value) for value in condition.values)
        ):
            return True
    return False


def _passed_to_allows(statement: Statement, services: tuple[str, ...]) -> bool:
    """Does an iam:PassedToService condition still let the role go to one of these services?"""
    allowed = set(services)
    for condition in statement.conditions:
        if condition.key != "iam:passedtoservice" or condition.qualifier == "unknown":
            continue
        # A positive test is read leniently (case and wildcards ignored: it keeps more); a negated one exactly
        # as IAM does, so `StringNotEquals "*"` or `"EC2.AMAZONAWS.COM"` excludes nothing.
        if condition.base in ("stringequals", "stringlike", "stringequalsignorecase"):
            allowed = {s for s in allowed if any(glob_match(v, s) for v in condition.values)}
        elif condition.base == "stringnotlike":
            allowed = {s for s in allowed if not any(glob_match(v, s, fold_case=False) for v in condition.values)}
        elif condition.base == "stringnotequals":
            allowed = {s for s in allowed if s not in condition.values}
        elif condition.base == "stringnotequalsignorecase":
            allowed = {s for s in allowed if s not in {v.lower() for v in condition.values}}
    return bool(allowed)


class _Grants:
    """Answers "is this action allowed on the resources an escalation needs?" for one document."""

    def __init__(self, statements: tuple[Statement, ...]) -> None:
        self.allows = [_Compiled(s) for s in statements if s.effect == "Allow" and not never_applies(s)]
        self.denies = [_Compiled(s) for s in statements if s.effect == "Deny" and not s.conditions]
        self._cache: dict[tuple[str, tuple[str, ...]], bool] = {}

    def granted(self, action: str, services: tuple[str, ...] = ()) -> bool:
        key = (action.lower(), services)
        if key not in self._cache:
            self._cache[key] = self._granted(key[0], services)
        return self._cache[key]

    def _granted(self, action: str, services: tuple[str, ...]) -> bool:
        target = ACTION_TARGETS.get(action, "any")
        denies = [d for d in self.denies if d.allows_action(action)]
        for allow in self.allows:
            if not allow.allows_action(action):
                continue
            if services and action == "iam:passrole" and not _passed_to_allows(allow.statement, services):
                continue
            for pattern in self._reach(allow, target):
                if not any(d.covers_resource(pattern) for d in denies):
                    return True
        return False

    @staticmethod
    def _reach(allow: _Compiled, target: str) -> list[str]:
        """The normalised resource patterns of an Allow that count for this kind of target."""
        language = TARGET_ARNS.get(target, "*")
        if allow.resources is not None:
            # Only the part the path needs matters: `*` for a role path is every role, which a Deny on
            # `role/*` covers.
            reach = [normalise_arn(r, fold_case=False) for r in allow.resources if _resource_counts(r, target)]
            return [language if glob_covers(r, language) else r for r in reach]
        if any(glob_covers(normalise_arn(r), language) for r in allow.not_resources or ()):
            return []
        return [language]

    def admin_equivalent(self) -> bool:
        """Every permission-writing IAM action on every user, group, role and customer policy, and left on an
        unbounded part of each after the Deny statements and NotResource exclusions.

        Names are split into families by their first character (`role/a*`, `role/b*`, ...). The Allows must
        reach every family (one `role/*`, the families one by one, or a NotResource statement), and at least one
        family must survive whole: with one family left the holder creates a principal in it and grants that
        principal anything. So excluding a few named resources, or a slice such as `role/zzz*`, changes nothing,
        while a Deny covering every family (`role/*`, `*`) or a NotResource allow without the kind does.
        """
        return all(self._writes_permissions(action, kind) for action, kind in ADMIN_IAM_ACTIONS.items())

    def _writes_permissions(self, action: str, kind: str) -> bool:
        allowing = [allow for allow in self.allows if allow.allows_action(action)]
        if not allowing:
            return False
        denying = [deny for deny in self.denies if deny.allows_action(action)]
        granted = [normalise_arn(r, _VARIABLE) for allow in allowing for r in allow.resources or ()]
        excluding = [
            [normalise_arn(r, _VARIABLE) for r in allow.not_resources or ()]
            for allow in allowing
            if allow.resources is None
        ]
        base = TARGET_ARNS[kind][:-1]  # "arn:aws:iam::*:role/"
        families = [f"{base}{first}*" for first in _NAME_STARTS]
        # Resource patterns count only when together they reach every family: a slice is not every resource.
        whole = bool(granted) and all(any(glob_covers(p, family) for p in granted) for family in families)
        if not whole and not excluding:
            return False
        for family, first in zip(families, _NAME_STARTS, strict=True):
            cases = (family,) if first == first.upper() else (family, f"{base}{first.upper()}*")
            if any(all(_removes(deny, case) for case in cases) for deny in denying):
                continue  # IAM compares names case-sensitively: Deny `role/A*` leaves `role/a*`
            if whole:
                return True
            if any(not any(glob_covers(p, family) for p in patterns) for patterns in excluding):
                return True
        return False


def _removes(deny: _Compiled, family: str) -> bool:
    """Does this Deny take a whole family of names away (a few named resources, or a thinner slice, do not)?
    Case-sensitive, as IAM matches resources: a Deny that only seems to cover a family must not remove it."""
    if deny.resources is not None:
        return any(_covers_exactly(r, family) for r in deny.resources)
    return not any(glob_covers(normalise_arn(r, _VARIABLE), family) for r in deny.not_resources or ())


def _covers_exactly(pattern: str, family: str) -> bool:
    return glob_covers(normalise_arn(pattern, _VARIABLE, fold_case=False), family, fold_case=False)


def _path_open(grants: _Grants, actions: tuple[str, ...], services: tuple[str, ...]) -> bool:
    """All actions of the path allowed; a passed role must be allowed to reach the path's service."""
    return all(grants.granted(a, services if a == "iam:PassRole" else ()) for a in actions)


def analyse_identity_policy(document: dict[str, Any] | str) -> IdentityVerdict:
    """Admin-equivalence and escalation paths of one identity policy; raises only PolicyParseError."""
    statements = normalised_statements(document, "identity")
    grants = _Grants(statements)
    paths = tuple(path.name for path in ESCALATION_PATHS if _path_open(grants, path.actions, passrole_services(path)))
    problems = tuple(problem for statement in statements for problem in statement.problems)
    return IdentityVerdict(grants.admin_equivalent(), paths, problems)
