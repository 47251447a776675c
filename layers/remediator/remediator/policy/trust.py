"""Who can assume a role? Broad trust, untrusted accounts and external ids in a trust policy (SPEC §4).

Only Allow statements that grant an `sts:AssumeRole*` action matter. Deny statements are not used to narrow
(a trust policy that needs a Deny to be safe is still reported), so adding one never makes a policy broader.
Condition keys are case-insensitive; `...IfExists` and `ForAllValues:` never narrow an AWS principal, because
both pass when the key is absent from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass

from .actions import ASSUME_ACTIONS, PatternSet, glob_covers, has_wildcard
from .document import Condition, Statement, as_list, clone_json, load_policy_document, normalise_statement

_POSITIVE_STRING = ("stringequals", "stringequalsignorecase", "stringlike")
_LITERAL = ("stringequals", "stringequalsignorecase")
_NARROWING_OPERATORS = (*_POSITIVE_STRING, "arnequals", "arnlike")
_ACCOUNT_KEYS = ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner")
_ORG_KEYS = ("aws:principalorgid", "aws:sourceorgid")
_ORG_PATH_KEYS = ("aws:principalorgpaths", "aws:sourceorgpaths")
_ARN_KEYS = ("aws:principalarn", "aws:sourcearn")
_OTHER_NARROWING_KEYS = ("aws:userid", "aws:username", "aws:principalservicename")
_NARROWING_KEYS = frozenset(_ACCOUNT_KEYS + _ORG_KEYS + _ORG_PATH_KEYS + _ARN_KEYS + _OTHER_NARROWING_KEYS)
_GITHUB = "token.actions.githubusercontent.com"
# Sub claims that name one repository; any other first claim is chosen by the caller's own repository
# (a customised sub template can start with workflow:, environment:, ref:, ... holding any text).
_REPO_CLAIMS = ("repo:", "repository:", "repository_id:")

DENY_ALL_TRUST_POLICY: dict[str, object] = {
    "Version": "2012-10-17",
    "Statement": [
        {
            "Sid": "DenyAll",
            "Effect": "Deny",
            "Principal": {"AWS": "*"},
            "Action": ["sts:AssumeRole", "sts:AssumeRoleWithSAML", "sts:AssumeRoleWithWebIdentity"],
        }
    ],
}


@dataclass(frozen=True)
class TrustIssue:
    """One reason a statement lets someone outside the intended principals assume the role."""

    statement_index: int
    kind: str  # "broad" | "untrusted_account"
    principal: str
    why: str


@dataclass(frozen=True)
class TrustVerdict:
    """Everything role_trust needs: the issues (with the statements to strip) and the trust's shape."""

    issues: tuple[TrustIssue, ...]
    external_id_required: bool
    cross_account: bool
    problems: tuple[str, ...]

    @property
    def broad(self) -> bool:
        return any(issue.kind == "broad" for issue in self.issues)

    @property
    def offending_indices(self) -> tuple[int, ...]:
        return tuple(sorted({issue.statement_index for issue in self.issues}))


class _Config:
    """Who the role's owner trusts besides its own account."""

    __slots__ = ("own_account", "trusted_accounts", "trusted_oidc_subjects", "trusted_org_ids")

    def __init__(
        self, own_account: str | None, accounts: Iterable[str], orgs: Iterable[str], subjects: Iterable[str]
    ):
        self.own_account = own_account
        self.trusted_accounts = frozenset(accounts)
        self.trusted_org_ids = frozenset(orgs)
        self.trusted_oidc_subjects = frozenset(subjects)

    def trusts(self, scope: tuple[str, str]) -> bool:
        kind, value = scope
        if kind == "account":
            return value == self.own_account or value in self.trusted_accounts
        if kind == "org":
            return value in self.trusted_org_ids
        return kind == "nobody"


class _Findings:
    __slots__ = ("cross_account", "issues", "problems")

    def __init__(self) -> None:
        self.issues: list[TrustIssue] = []
        self.problems: list[str] = []
        self.cross_account = False

    def add(self, statement: Statement, kind: str, principal: str, why: str) -> None:
        issue = TrustIssue(statement.index, kind, principal, why)
        if issue not in self.issues:
            self.issues.append(issue)


def _grants_assume(statement: Statement) -> bool:
    if statement.actions is not None:
        patterns = PatternSet(statement.actions)
        return any(patterns.matches(action) for action in ASSUME_ACTIONS)
    excluded = PatternSet(statement.not_actions or ())
    return any(not excluded.matches(action) for action in ASSUME_ACTIONS)


def _principals(statement: Statement, problems: list[str]) -> list[tuple[str, str]]:
    """(type, value) pairs: type is aws, service, federated or canonicaluser."""
    principal = statement.principal
    label = f"Statement {statement.index}"
    if isinstance(principal, str):
        if principal != "*":
            problems.append(f"{label} has Principal {principal!r}; IAM accepts only '*' as a bare string.")
        return [("aws", principal)]
    if not isinstance(principal, dict):
        if statement.has_principal:
            problems.append(f"{label} has a Principal that is neither '*' nor an object (ignored).")
        return []
    pairs = []
    for key, values in principal.items():
        kind = str(key).lower()
        if kind not in ("aws", "service", "federated", "canonicaluser"):
            problems.append(f"{label} has principal type {key!r}, which IAM does not know (ignored).")
            continue
        for value in as_list(values):
            if isinstance(value, str):
                pairs.append((kind, value))
            else:
                problems.append(f"{label} has a {key} principal that is not a string: {value!r} (ignored).")
    return pairs


def _account_of(value: str) -> str | None:
    """The 12-digit account an AWS principal names (account id or IAM/STS ARN), None if it names none."""
    if len(value) == 12 and value.isdigit():
        return value
    parts = value.split(":")
    if len(parts) >= 6 and parts[0] == "arn" and parts[2] in ("iam", "sts"):
        account = parts[4]
        if len(account) == 12 and account.isdigit():
            return account
    return None


def _positive(condition: Condition, operators: tuple[str, ...], qualifiers: tuple[str, ...]) -> bool:
    return condition.base in operators and condition.qualifier in qualifiers and not condition.if_exists


def _vacuous(condition: Condition, value: str) -> bool:
    """A value that restricts nothing: empty, or only wildcards under a wildcard-capable operator."""
    if value == "":
        return True
    return condition.base not in _LITERAL and set(value) <= {"*", "?"}


def _scope(condition: Condition, value: str) -> tuple[str, str] | None:
    """Which account/organization a narrowing condition value confines `*` to; None if it does not narrow."""
    key, literal = condition.key, condition.base in _LITERAL
    if value == "":
        return None
    if not literal and has_wildcard(value) and key not in _ORG_PATH_KEYS + _ARN_KEYS:
        return None
    if key in _ACCOUNT_KEYS:
        return ("account", value) if value.isdigit() and len(value) == 12 else ("nobody", value)
    if key in _ORG_KEYS:
        return ("org", value)
    if key in _ORG_PATH_KEYS:
        org = value.split("/", 1)[0]
        return ("org", org) if org and (literal or not has_wildcard(org)) else None
    if key in _ARN_KEYS:
        parts = value.split(":")
        if len(parts) >= 6 and parts[0] == "arn":
            account = parts[4]
            if account and (literal or not has_wildcard(account)):
                return ("account", account) if account.isdigit() else ("unknown", value)
            return ("unknown", value) if not account and (literal or not has_wildcard(value)) else None
        if literal or condition.base in ("arnequals", "arnlike"):
            return ("nobody", value)  # not an ARN: StringEquals/Arn* never match a real caller with it
        return None if has_wildcard(value) else ("unknown", value)
    return ("unknown", value)


def _narrowing_scopes(statement: Statement) -> list[list[tuple[str, str]]]:
    """For each condition that narrows a wildcard principal, the scopes its values allow (ORed)."""
    out = []
    for condition in statement.conditions:
        if condition.key not in _NARROWING_KEYS or not condition.values:
            continue
        if not _positive(condition, _NARROWING_OPERATORS, ("", "foranyvalue")):
            continue
        scopes = [_scope(condition, value) for value in condition.values]
        if all(scope is not None for scope in scopes):
            out.append(scopes)
    return out


def _wildcard(statement: Statement, config: _Config, found: _Findings) -> None:
    conditions = _narrowing_scopes(statement)
    if not conditions:
        found.cross_account = True
        found.add(
            statement,
            "broad",
            "*",
            "Principal '*' lets any AWS account assume the role; "
            "no organization, account or ARN condition narrows it.",
        )
        return
    if any(all(config.trusts(scope) for scope in scopes) for scopes in conditions):
        own = ("account", config.own_account)
        if not any(all(scope == own for scope in scopes) for scopes in conditions):
            found.cross_account = True
        return
    found.cross_account = True
    untrusted = []
    for scopes in conditions:
        untrusted += [
            value for kind, value in scopes if kind in ("account", "org") and not config.trusts((kind, value))
        ]
    for value in dict.fromkeys(untrusted):
        found.add(
            statement,
            "untrusted_account",
            value,
            f"Principal '*' is narrowed to {value}, which is neither this account nor a trusted one.",
        )


def _aws_principal(statement: Statement, value: str, config: _Config, found: _Findings) -> None:
    if value == "*":
        _wildcard(statement, config, found)
        return
    account = _account_of(value)
    if account is None:
        found.problems.append(
            f"Statement {statement.index} names AWS principal {value!r}, which names no "
            "account; IAM rejects it."
        )
        return
    if account != config.own_account:
        found.cross_account = True
    if not config.trusts(("account", account)):
        found.add(
            statement,
            "untrusted_account",
            value,
            f"Account {account} is neither this account nor in the trusted accounts.",
        )


def _github_pins(condition: Condition, value: str) -> bool:
    """Does this sub value confine the role to one repository (or to nobody)?"""
    if condition.base in _LITERAL or not has_wildcard(value):
        if value.startswith(_REPO_CLAIMS):
            return True
        return bool(value) and ":" not in value  # '*' or 'invalid' compared literally: no token matches
    for claim in _REPO_CLAIMS:
        if value.startswith(claim):
            named = value[len(claim) :].split(":", 1)[0]
            if claim == "repository_id:":
                return named.isdigit()
            owner, _, repo = named.partition("/")
            return bool(owner and repo) and not has_wildcard(owner) and not has_wildcard(repo)
    return False


def _federated_kind(value: str) -> tuple[str, str]:
    low = value.strip().lower()
    if _GITHUB in low:
        return "github", low
    if ":saml-provider/" in low:
        return "saml", low
    if low == "cognito-identity.amazonaws.com":
        return "cognito", low
    return "oidc", low.split("oidc-provider/", 1)[1] if "oidc-provider/" in low else low


def _positive_tests(statement: Statement, wanted: Callable[[str], bool]) -> list[Condition]:
    return [
        c
        for c in statement.conditions
        if wanted(c.key) and _positive(c, _POSITIVE_STRING, ("", "foranyvalue", "forallvalues")) and c.values
    ]


def _audience_pinned(statement: Statement, key: str) -> bool:
    tests = _positive_tests(statement, lambda k: k == key)
    return any(not any(_vacuous(c, v) for v in c.values) for c in tests)


def _federated(statement: Statement, value: str, config: _Config, found: _Findings) -> None:
    kind, host = _federated_kind(value)
    if kind in ("saml", "cognito"):
        key = "saml:aud" if kind == "saml" else "cognito-identity.amazonaws.com:aud"
        if not _audience_pinned(statement, key):
            name = "SAML provider" if kind == "saml" else "Cognito identity pool"
            why = (
                f"{name} trust without a positive {key} condition lets any of its identities assume the role."
            )
            found.add(statement, "broad", value, why)
        return
    if kind == "github":
        tests = _positive_tests(statement, lambda k: k.endswith(":sub") and k.startswith(_GITHUB))
        pinned = any(all(_github_pins(c, v) for v in c.values) for c in tests)
    else:
        tests = _positive_tests(statement, lambda k: k == host + ":sub")
        pinned = any(not any(_vacuous(c, v) for v in c.values) for c in tests)
    subjects = list(dict.fromkeys(v for c in tests for v in c.values))
    if not pinned:
        if kind == "github" and subjects:
            why = f"GitHub OIDC trust whose sub ({', '.join(subjects)}) does not pin one repository."
        else:
            why = f"OIDC trust ({host}) without a positive sub condition lets any of its users assume it."
        found.add(statement, "broad", value, why)
        return
    for subject in subjects if config.trusted_oidc_subjects else ():
        if not any(glob_covers(allowed, subject) for allowed in config.trusted_oidc_subjects):
            why = f"OIDC subject {subject!r} is not among the trusted subjects."
            found.add(statement, "untrusted_account", subject, why)


def _external_id_required(statement: Statement) -> bool:
    return any(
        _positive(c, _POSITIVE_STRING, ("", "foranyvalue"))
        and c.values
        and not any(_vacuous(c, v) for v in c.values)
        for c in statement.conditions
        if c.key == "sts:externalid"
    )


def _statement(statement: Statement, config: _Config, found: _Findings, external: list[bool]) -> None:
    principals = _principals(statement, found.problems) if statement.has_principal else []
    if statement.has_not_principal:
        found.cross_account = True
        found.add(
            statement,
            "broad",
            "*",
            "Allow with NotPrincipal lets every principal except the ones listed assume the role.",
        )
    for kind, value in principals:
        if kind == "aws":
            _aws_principal(statement, value, config, found)
        elif kind == "federated":
            _federated(statement, value, config, found)
    if statement.has_not_principal or any(kind == "aws" for kind, _ in principals):
        external.append(_external_id_required(statement))


def analyse_trust_policy(
    document: dict | str,
    own_account: str | None,
    trusted_accounts: frozenset[str] = frozenset(),
    trusted_org_ids: frozenset[str] = frozenset(),
    trusted_oidc_subjects: frozenset[str] = frozenset(),
) -> TrustVerdict:
    """Issues per Allow statement of a role trust policy; raises only PolicyParseError."""
    parsed = load_policy_document(document)
    config = _Config(
        own_account, frozenset(trusted_accounts), frozenset(trusted_org_ids), frozenset(trusted_oidc_subjects)
    )
    found = _Findings()
    external: list[bool] = []
    for index, raw in enumerate(parsed["Statement"]):
        statement = normalise_statement(index, raw, "trust")
        found.problems.extend(statement.problems)
        if statement.effect == "Allow" and _grants_assume(statement):
            _statement(statement, config, found, external)
    return TrustVerdict(
        tuple(found.issues),
        bool(external) and all(external),
        found.cross_account,
        tuple(found.problems),
    )


def strip_statements(document: dict, indices: Iterable[int]) -> dict:
    """The document without those statements; a deny-all trust policy when nothing would be left."""
    parsed = load_policy_document(document)
    drop = set(indices)
    kept = [statement for index, statement in enumerate(parsed["Statement"]) if index not in drop]
    if not kept:
        return clone_json(DENY_ALL_TRUST_POLICY)
    parsed["Statement"] = kept
    return parsed
