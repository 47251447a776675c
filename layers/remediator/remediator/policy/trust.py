"""Who can assume a role? Broad trust, untrusted accounts and external ids in a trust policy.

Only Allow statements that grant an `sts:AssumeRole*` action matter. Deny statements are not used to narrow
(a trust policy that needs a Deny to be safe is still reported), so adding one never makes a policy broader.
Condition keys are case-insensitive; `...IfExists` and `ForAllValues:` never narrow an AWS principal, because
both pass when the key is absent from the request.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, cast

from .actions import ASSUME_ACTIONS, PatternSet, glob_covers, glob_match, has_wildcard
from .document import Condition, Statement, as_list, clone_json, load_policy_document, normalise_statement
from .providers import IDENTITY_PROVIDERS, IdentityProvider

_POSITIVE_STRING = ("stringequals", "stringequalsignorecase", "stringlike")
_LITERAL = ("stringequals", "stringequalsignorecase")
_NARROWING_OPERATORS = (*_POSITIVE_STRING, "arnequals", "arnlike")
_ACCOUNT_KEYS = ("aws:principalaccount", "aws:sourceaccount", "aws:sourceowner")
_ORG_KEYS = ("aws:principalorgid", "aws:sourceorgid")
_ORG_PATH_KEYS = ("aws:principalorgpaths", "aws:sourceorgpaths")
_ARN_KEYS = ("aws:principalarn", "aws:sourcearn")
# aws:userid names one principal by its unique id. aws:username, aws:PrincipalServiceName, sts:ExternalId,
# aws:SourceIp, MFA and tag keys are not here: they hold for principals of any account.
_USERID_KEYS = ("aws:userid",)
_NARROWING_KEYS = frozenset(_ACCOUNT_KEYS + _ORG_KEYS + _ORG_PATH_KEYS + _ARN_KEYS + _USERID_KEYS)
_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "aws:sourceowner", "aws:sourceorgid", "aws:sourceorgpaths")
# GitHub sub claims that name one repository; any other first claim is chosen by the caller's own repository
# (a customised sub template can start with workflow:, environment:, ref:, ... holding any text).
_REPO_CLAIMS = ("repo:", "repository:", "repository_id:")
_OWNER_CLAIMS = ("repository_owner:", "repository_owner_id:")
_GITHUB = "token.actions.githubusercontent.com"
_PINNED, _TENANT, _ANY = 0, 1, 2  # how far a federated trust reaches: one subject, one tenant, anyone

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
    any_tenant: bool = False  # anyone at all can assume: Principal '*' unnarrowed, or any-tenant federation


@dataclass(frozen=True)
class TrustVerdict:
    """Everything role_trust needs: the issues (with the statements to strip) and the trust's shape."""

    issues: tuple[TrustIssue, ...]
    external_id_required: bool
    cross_account: bool
    problems: tuple[str, ...]
    assumptions: tuple[str, ...] = ()  # what was assumed for want of account state (dry run), for the reason

    @property
    def broad(self) -> bool:
        return any(issue.kind == "broad" for issue in self.issues)

    @property
    def any_tenant(self) -> bool:
        """Anyone at all can assume the role (critical), as opposed to a whole but known tenant or account."""
        return any(issue.any_tenant for issue in self.issues)

    @property
    def offending_indices(self) -> tuple[int, ...]:
        return tuple(sorted({issue.statement_index for issue in self.issues}))


class _Config:
    """Who the role's owner trusts besides its own account."""

    __slots__ = (
        "assume_named_org_is_own", "assumptions", "own_account", "own_org_id", "trusted_accounts",
        "trusted_oidc_subjects", "trusted_org_ids",
    )  # fmt: skip

    def __init__(
        self,
        own_account: str | None,
        accounts: Iterable[str],
        orgs: Iterable[str],
        subjects: Iterable[str],
        own_org_id: str | None = None,
        assume_named_org_is_own: bool = False,
    ) -> None:
        self.own_account = own_account
        self.trusted_accounts = frozenset(accounts)
        self.trusted_org_ids = frozenset(orgs)
        self.trusted_oidc_subjects = frozenset(subjects)
        self.own_org_id = own_org_id
        self.assume_named_org_is_own = assume_named_org_is_own and own_org_id is None
        self.assumptions: list[str] = []

    def trusts(self, scope: tuple[str, str]) -> bool:
        kind, value = scope
        if kind == "account":
            return value == self.own_account or value in self.trusted_accounts
        if kind == "org":
            if value == self.own_org_id or value in self.trusted_org_ids:
                return True
            if self.assume_named_org_is_own:
                note = f"organization {value} assumed to be this account's own (the account's organization is unknown)"
                if note not in self.assumptions:
                    self.assumptions.append(note)
                return True
            return False
        return kind == "nobody"


class _Findings:
    __slots__ = ("cross_account", "issues", "problems")

    def __init__(self) -> None:
        self.issues: list[TrustIssue] = []
        self.problems: list[str] = []
        self.cross_account = False

    def add(self, statement: Statement, kind: str, principal: str, why: str, any_tenant: bool = False) -> None:
        issue = TrustIssue(statement.index, kind, principal, why, any_tenant)
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
    if key in _USERID_KEYS:  # "AROAEXAMPLE:*": one role's sessions; the unique id must not be a wildcard
        unique_id = value.split(":", 1)[0]
        if literal:
            return ("unknown", value)
        return ("unknown", value) if unique_id and not has_wildcard(unique_id) else None
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
        known = [scope for scope in scopes if scope is not None]
        if len(known) == len(scopes):
            out.append(known)
    return out


def _wildcard(statement: Statement, config: _Config, found: _Findings) -> None:
    conditions = _narrowing_scopes(statement)
    if not conditions:
        found.cross_account = True
        found.add(
            statement,
            "broad",
            "*",
            "Principal '*' lets any AWS account assume the role; no organization, account or ARN condition narrows it.",
            any_tenant=True,
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
            f"Statement {statement.index} names AWS principal {value!r}, which names no account; IAM rejects it."
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


def _repo_level(value: str, literal: bool) -> int:
    """GitHub: how far one sub value reaches. Literal values match one subject (or none); a first claim other
    than the repository is chosen by the caller's workflow (a customised sub template) and reaches anyone."""
    if literal or not has_wildcard(value):
        if value.startswith(_OWNER_CLAIMS):  # every repository of one owner
            return _TENANT
        if value.startswith(_REPO_CLAIMS):
            return _PINNED
        return _PINNED if value and ":" not in value else _ANY  # '*' or 'invalid' compared literally: no token
    for claim in _REPO_CLAIMS + _OWNER_CLAIMS:
        if value.startswith(claim):
            named = value[len(claim) :].split(":", 1)[0]
            if claim in ("repository_id:", "repository_owner_id:"):
                return (_PINNED if claim == "repository_id:" else _TENANT) if named.isdigit() else _ANY
            owner, slash, repo = named.partition("/")
            if not owner or has_wildcard(owner) or claim in _OWNER_CLAIMS:
                return _TENANT if owner and not has_wildcard(owner) else _ANY
            return _PINNED if slash and repo and not has_wildcard(repo) else _TENANT
    return _ANY


def _path_claim_level(value: str, literal: bool, prefix: str, min_segments: int) -> int:
    """`<prefix><tenant>/<project>...`: pinned when the first `min_segments` segments hold no wildcard,
    tenant-wide when only the first does; a value without the prefix reaches anyone (unless compared literally)."""
    if literal or not has_wildcard(value):
        return _PINNED if value.startswith(prefix) or (value and ":" not in value) else _ANY
    if not value.startswith(prefix):
        return _ANY
    segments = value[len(prefix) :].split(":", 1)[0].split("/")
    if not segments[0] or has_wildcard(segments[0]):
        return _ANY
    named = segments[:min_segments]
    return _PINNED if len(named) == min_segments and not any(has_wildcard(x) or not x for x in named) else _TENANT


def _eks_level(value: str, literal: bool) -> int:
    """`system:serviceaccount:<namespace>:<name>`: a fixed namespace pins; a wildcard namespace is cluster-wide."""
    if literal or not has_wildcard(value):
        return _PINNED
    prefix = "system:serviceaccount:"
    if not value.startswith(prefix):
        return _TENANT
    namespace = value[len(prefix) :].split(":", 1)[0]
    return _PINNED if namespace and not has_wildcard(namespace) and ":" in value[len(prefix) :] else _TENANT


def claim_level(provider: IdentityProvider, condition: Condition, value: str) -> int:
    """How far one condition value lets the provider's identities in: 0 one subject, 1 one tenant, 2 anyone.
    Under StringEquals `*` is compared literally: it matches nothing."""
    literal = condition.base in _LITERAL
    if value == "":
        return _ANY
    if provider.claim == "github_repo" and condition.key.endswith(":sub"):
        return _repo_level(value, literal)
    if provider.claim == "gitlab_project" and condition.key.endswith(":sub"):
        return _path_claim_level(value, literal, "project_path:", 2)
    if provider.claim == "terraform_org" and condition.key.endswith(":sub"):
        return _path_claim_level(value, literal, "organization:", 1)
    if provider.claim == "eks_service_account" and condition.key.endswith(":sub"):
        return _eks_level(value, literal)
    if literal or not has_wildcard(value):
        return _PINNED
    return _ANY


def _provider_of(value: str) -> tuple[IdentityProvider, str]:
    """The table entry for a Federated principal, and the issuer as condition keys name it."""
    low = value.strip().lower()
    if ":saml-provider/" in low:
        issuer = "saml-provider/" + low.split(":saml-provider/", 1)[1]
    else:
        issuer = low.split(":oidc-provider/", 1)[1] if ":oidc-provider/" in low else low
        issuer = issuer.removeprefix("https://").rstrip("/")
    for provider in IDENTITY_PROVIDERS:
        if glob_match(provider.issuer, issuer):
            return provider, issuer
    return IDENTITY_PROVIDERS[-1], issuer


def _positive_tests(statement: Statement, wanted: Callable[[str], bool]) -> list[Condition]:
    return [
        c
        for c in statement.conditions
        if wanted(c.key) and _positive(c, _POSITIVE_STRING, ("", "foranyvalue", "forallvalues")) and c.values
    ]


def _pinning_keys(provider: IdentityProvider, issuer: str) -> frozenset[str]:
    return frozenset(key.replace("{issuer}", issuer) for key in provider.keys)


def _pins_key(provider: IdentityProvider, keys: frozenset[str], key: str) -> bool:
    """A condition key that can pin this provider; for GitHub, the sub of either issuer form (a positive test on
    a key the token lacks fails, so naming the other form trusts nobody rather than everybody)."""
    if key in keys:
        return True
    return provider.claim == "github_repo" and key.startswith(_GITHUB) and key.endswith(":sub")


def _federated(statement: Statement, value: str, config: _Config, found: _Findings) -> None:
    provider, issuer = _provider_of(value)
    keys = _pinning_keys(provider, issuer)
    tests = _positive_tests(statement, lambda k: _pins_key(provider, keys, k))
    # Conditions AND together: the narrowest test decides; the values of one test OR: the widest decides.
    scored = [(max(claim_level(provider, c, v) for v in c.values), c) for c in tests]
    level = min((score for score, _ in scored), default=_TENANT if provider.issuer_pins_tenant else _ANY)
    if provider.issuer_pins_tenant:
        level = min(level, _TENANT)
    if has_wildcard(value) and level == _TENANT:  # a wildcard provider names no one issuer, hence no tenant
        level = _ANY
    deciding = [c for score, c in scored if score == level]
    subjects = list(dict.fromkeys(v for c in deciding for v in c.values if c.key.endswith(":sub")))
    trusted = config.trusted_oidc_subjects
    if level == _TENANT and (
        provider.tenant_wide_pins
        or (subjects and all(any(glob_covers(allowed, s) for allowed in trusted) for s in subjects))
    ):
        return  # a tenant-wide grant the provider counts as pinned, or a deliberate trusted subject
    if level != _PINNED:
        any_tenant = level == _ANY
        shown = f" ({', '.join(v for c in deciding for v in c.values)})" if deciding else ""
        keys_named = " or ".join(sorted(keys))
        if any_tenant:
            why = (
                f"{provider.name} trust whose conditions{shown} do not pin one tenant: anyone with an identity "
                f"at {provider.name} can assume the role (it needs a positive {keys_named} naming one)."
            )
        else:
            why = (
                f"{provider.name} trust whose conditions{shown} admit every identity of one tenant, not one "
                f"subject (a positive {keys_named} without a wildcard narrows it)."
            )
        found.add(statement, "broad", value, why, any_tenant)
        return
    for subject in subjects if trusted else ():
        if not any(glob_covers(allowed, subject) for allowed in trusted):
            why = f"OIDC subject {subject!r} is not among the trusted subjects."
            found.add(statement, "untrusted_account", subject, why)


def _service(statement: Statement, config: _Config, found: _Findings) -> None:
    """A service principal acting for another account (aws:SourceAccount/SourceArn naming it) is an outsider."""
    for condition in statement.conditions:
        if condition.key not in _SOURCE_KEYS or not condition.values:
            continue
        if not _positive(condition, _NARROWING_OPERATORS, ("", "foranyvalue")):
            continue
        for value in condition.values:
            scope = _scope(condition, value)
            if scope is None or scope[0] not in ("account", "org") or config.trusts(scope):
                continue
            found.add(
                statement,
                "untrusted_account",
                scope[1],
                f"A service may assume the role on behalf of {scope[1]} ({condition.key}), which is neither "
                "this account nor a trusted one.",
            )


def _external_id_required(statement: Statement) -> bool:
    return any(
        _positive(c, _POSITIVE_STRING, ("", "foranyvalue")) and c.values and not any(_vacuous(c, v) for v in c.values)
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
    if any(kind == "service" for kind, _ in principals):
        _service(statement, config, found)
    if statement.has_not_principal or any(kind == "aws" for kind, _ in principals):
        external.append(_external_id_required(statement))


def analyse_trust_policy(
    document: dict[str, Any] | str,
    own_account: str | None,
    trusted_accounts: frozenset[str] = frozenset(),
    trusted_org_ids: frozenset[str] = frozenset(),
    trusted_oidc_subjects: frozenset[str] = frozenset(),
    own_org_id: str | None = None,
    assume_named_org_is_own: bool = False,
) -> TrustVerdict:
    """Issues per Allow statement of a role trust policy; raises only PolicyParseError.

    own_org_id: the account's own organization, whose members a `*` narrowed by aws:PrincipalOrgID may be.
    assume_named_org_is_own: when own_org_id is unknown (a dry run without an account), take an organization
    named in a condition to be the account's own, and say so in `assumptions`.
    """
    config = _Config(
        own_account,
        frozenset(trusted_accounts),
        frozenset(trusted_org_ids),
        frozenset(trusted_oidc_subjects),
        own_org_id,
        assume_named_org_is_own,
    )
    return _analyse(document, config, _grants_assume)


def analyse_resource_policy(
    document: dict[str, Any] | str,
    own_account: str | None,
    trusted_accounts: frozenset[str] = frozenset(),
    trusted_org_ids: frozenset[str] = frozenset(),
    own_org_id: str | None = None,
    assume_named_org_is_own: bool = False,
) -> TrustVerdict:
    """The same principal and condition semantics over a resource policy (bucket, key, topic, function ...):
    every Allow statement counts, whatever it grants, because any grant to an outsider shares the resource."""
    config = _Config(own_account, trusted_accounts, trusted_org_ids, (), own_org_id, assume_named_org_is_own)
    return _analyse(document, config, lambda statement: True)


def _analyse(document: dict[str, Any] | str, config: _Config, counts: Callable[[Statement], bool]) -> TrustVerdict:
    parsed = load_policy_document(document)
    found = _Findings()
    external: list[bool] = []
    for index, raw in enumerate(parsed["Statement"]):
        statement = normalise_statement(index, raw, "trust")
        found.problems.extend(statement.problems)
        if statement.effect == "Allow" and counts(statement):
            _statement(statement, config, found, external)
    return TrustVerdict(
        tuple(found.issues),
        bool(external) and all(external),
        found.cross_account,
        tuple(found.problems),
        tuple(config.assumptions),
    )


def strip_statements(document: dict[str, Any], indices: Iterable[int]) -> dict[str, Any]:
    """The document without those statements; a deny-all trust policy when nothing would be left."""
    parsed = load_policy_document(document)
    drop = set(indices)
    kept = [statement for index, statement in enumerate(parsed["Statement"]) if index not in drop]
    if not kept:
        return cast(dict[str, Any], clone_json(DENY_ALL_TRUST_POLICY))
    parsed["Statement"] = kept
    return parsed


def statements_trusting(document: dict[str, Any] | str, names: Callable[[str], bool]) -> tuple[int, ...]:
    """The Allow statements that let an AWS principal `names` picks (an ARN or unique id) assume the role,
    read the way the analysis above reads them; raises only PolicyParseError."""
    parsed = load_policy_document(document)
    found: list[int] = []
    for index, raw in enumerate(parsed["Statement"]):
        statement = normalise_statement(index, raw, "trust")
        if statement.effect != "Allow" or not statement.has_principal or not _grants_assume(statement):
            continue
        if any(kind == "aws" and names(value) for kind, value in _principals(statement, [])):
            found.append(index)
    return tuple(found)
