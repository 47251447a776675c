"""Federated trust per identity provider, what narrows `*`, service principals and organizations."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.policy import IDENTITY_PROVIDERS, TrustVerdict, analyse_trust_policy

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OWN = "111122223333"
OTHER = "999988887777"
WEB = "sts:AssumeRoleWithWebIdentity"


def analyse(statement: dict, **config: object) -> TrustVerdict:
    document = {"Version": "2012-10-17", "Statement": [statement]}
    return analyse_trust_policy(document, str(config.pop("own_account", OWN)), **config)  # type: ignore[arg-type]


def oidc(issuer: str, condition: dict | None = None, action: str = WEB) -> dict:
    bare = issuer.startswith("arn:") or issuer in ("accounts.google.com", "cognito-identity.amazonaws.com")
    federated = issuer if bare else f"arn:aws:iam::{OWN}:oidc-provider/{issuer}"
    statement: dict = {"Effect": "Allow", "Principal": {"Federated": federated}, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


GH = "token.actions.githubusercontent.com"
GL = "gitlab.com"
TF = "app.terraform.io"
BB = "api.bitbucket.org/2.0/workspaces/acme/pipelines-config/identity/oidc"
CC = "oidc.circleci.com/org/0d4c5a1e-5d1c-4b3a-9f1e-2a7b9c3d4e5f"
EKS = "oidc.eks.eu-west-1.amazonaws.com/id/ABCDEF0123456789"
GOOGLE = "accounts.google.com"
COGNITO = "cognito-identity.amazonaws.com"
SAML = f"arn:aws:iam::{OWN}:saml-provider/Okta"


def like(key: str, value: object) -> dict:
    return {"StringLike": {key: value}}


def equals(key: str, value: object) -> dict:
    return {"StringEquals": {key: value}}


# (statement, expected): "pinned" (no issue), "tenant" (broad, one tenant), "any" (broad, anyone)
CASES = {
    "GitHub no condition": (oidc(GH), "any"),
    "GitHub aud only": (oidc(GH, equals(f"{GH}:aud", "sts.amazonaws.com")), "any"),
    "GitHub repo pinned": (oidc(GH, like(f"{GH}:sub", "repo:acme/app:*")), "pinned"),
    "GitHub repo + branch": (oidc(GH, equals(f"{GH}:sub", "repo:acme/app:ref:refs/heads/main")), "pinned"),
    "GitHub owner-wide": (oidc(GH, like(f"{GH}:sub", "repo:acme/*")), "tenant"),
    "GitHub repo prefix": (oidc(GH, like(f"{GH}:sub", "repo:acme/app*")), "tenant"),
    "GitHub owner wildcard": (oidc(GH, like(f"{GH}:sub", "repo:acme*")), "any"),
    "GitHub repo:*": (oidc(GH, like(f"{GH}:sub", "repo:*")), "any"),
    "GitHub *": (oidc(GH, like(f"{GH}:sub", "*")), "any"),
    "GitHub * compared literally": (oidc(GH, equals(f"{GH}:sub", "*")), "pinned"),
    "GitHub forgeable workflow claim": (oidc(GH, equals(f"{GH}:sub", "workflow:deploy")), "any"),
    "GitHub forgeable environment claim": (oidc(GH, like(f"{GH}:sub", "environment:prod*")), "any"),
    "GitHub one of two values wide": (oidc(GH, like(f"{GH}:sub", ["repo:acme/app:*", "repo:*"])), "any"),
    "GitHub enterprise issuer without sub": (oidc(f"{GH}/acme-ent"), "tenant"),
    "GitHub enterprise issuer repo:*": (oidc(f"{GH}/acme-ent", like(f"{GH}/acme-ent:sub", "repo:*")), "tenant"),
    "GitHub enterprise issuer pinned": (
        oidc(f"{GH}/acme-ent", like(f"{GH}/acme-ent:sub", "repo:acme/app:*")),
        "pinned",
    ),
    "GitLab no condition": (oidc(GL), "any"),
    "GitLab project": (oidc(GL, like(f"{GL}:sub", "project_path:acme/app:ref_type:branch:ref:main")), "pinned"),
    "GitLab group (namespace)": (oidc(GL, like(f"{GL}:sub", "project_path:acme/*")), "pinned"),
    "GitLab any group": (oidc(GL, like(f"{GL}:sub", "project_path:*")), "any"),
    "GitLab aud only": (oidc(GL, equals(f"{GL}:aud", "https://gitlab.com")), "any"),
    "Terraform organization": (oidc(TF, like(f"{TF}:sub", "organization:acme:project:*:workspace:*:*")), "pinned"),
    "Terraform any organization": (oidc(TF, like(f"{TF}:sub", "organization:*")), "any"),
    "Terraform aud only": (oidc(TF, equals(f"{TF}:aud", "aws.workload.identity")), "any"),
    "Google no condition": (oidc(GOOGLE), "any"),
    "Google aud exact": (oidc(GOOGLE, equals(f"{GOOGLE}:aud", "1234.apps.googleusercontent.com")), "pinned"),
    "Google sub exact": (oidc(GOOGLE, equals(f"{GOOGLE}:sub", "110169484474386276334")), "pinned"),
    "Google sub wildcard": (oidc(GOOGLE, like(f"{GOOGLE}:sub", "1101*")), "any"),
    "Cognito without aud": (oidc(COGNITO), "any"),
    "Cognito amr only": (oidc(COGNITO, {"ForAnyValue:StringLike": {f"{COGNITO}:amr": "authenticated"}}), "any"),
    "Cognito with aud": (oidc(COGNITO, equals(f"{COGNITO}:aud", "us-east-1:1234-abcd")), "pinned"),
    "Bitbucket workspace issuer, no condition": (oidc(BB), "tenant"),
    "Bitbucket sub": (oidc(BB, equals(f"{BB}:sub", "{repo-uuid}:{step-uuid}")), "pinned"),
    "Bitbucket sub wildcard": (oidc(BB, like(f"{BB}:sub", "*")), "tenant"),
    "CircleCI org issuer, no condition": (oidc(CC), "tenant"),
    "CircleCI aud": (oidc(CC, equals(f"{CC}:aud", "0d4c5a1e-5d1c-4b3a-9f1e-2a7b9c3d4e5f")), "pinned"),
    "EKS without sub": (oidc(EKS), "tenant"),
    "EKS system:serviceaccount:*": (oidc(EKS, like(f"{EKS}:sub", "system:serviceaccount:*")), "tenant"),
    "EKS one service account": (oidc(EKS, equals(f"{EKS}:sub", "system:serviceaccount:app:api")), "pinned"),
    "EKS one namespace": (oidc(EKS, like(f"{EKS}:sub", "system:serviceaccount:app:*")), "pinned"),
    "SAML without aud": (oidc(SAML, action="sts:AssumeRoleWithSAML"), "tenant"),
    "SAML with aud": (
        oidc(SAML, equals("SAML:aud", "https://signin.aws.amazon.com/saml"), "sts:AssumeRoleWithSAML"),
        "pinned",
    ),
    "other OIDC without condition": (oidc("idp.example.com"), "tenant"),
    "other OIDC sub": (oidc("idp.example.com", equals("idp.example.com:sub", "svc-1")), "pinned"),
    "other OIDC sub wildcard": (oidc("idp.example.com", like("idp.example.com:sub", "*")), "tenant"),
    "wildcard provider": ({"Effect": "Allow", "Principal": {"Federated": "*"}, "Action": WEB}, "any"),
    "IfExists never pins": (oidc(GH, {"StringLikeIfExists": {f"{GH}:sub": "repo:acme/app:*"}}), "any"),
    "negated operator never pins": (oidc(GH, {"StringNotLike": {f"{GH}:sub": "repo:evil/*"}}), "any"),
}


def _reach(verdict: TrustVerdict) -> str:
    if not verdict.broad:
        return "pinned"
    return "any" if verdict.any_tenant else "tenant"


@pytest.mark.parametrize(("statement", "expected"), CASES.values(), ids=CASES.keys())
def test_federated_breadth(statement: dict, expected: str) -> None:
    verdict = analyse(statement)
    assert _reach(verdict) == expected, verdict.issues
    if expected != "pinned":
        assert verdict.offending_indices == (0,)
        assert all(issue.why for issue in verdict.issues)


def test_every_provider_names_its_source() -> None:
    assert len({provider.name for provider in IDENTITY_PROVIDERS}) == len(IDENTITY_PROVIDERS)
    for provider in IDENTITY_PROVIDERS:
        assert provider.source.startswith("https://"), provider
        assert provider.keys, provider
    assert IDENTITY_PROVIDERS[-1].issuer == "*"  # the fallback for any other OIDC provider


@pytest.mark.parametrize(
    ("trusted", "expected"),
    [
        (frozenset(), "tenant"),
        (frozenset({"repo:acme/*"}), "pinned"),
        (frozenset({"repo:other/*"}), "tenant"),
        (frozenset({"repo:acme/app:*"}), "tenant"),
    ],
)
def test_trusted_subjects_can_allow_an_owner_wide_subject(trusted: frozenset[str], expected: str) -> None:
    verdict = analyse(oidc(GH, like(f"{GH}:sub", "repo:acme/*")), trusted_oidc_subjects=trusted)
    assert _reach(verdict) == expected


@pytest.mark.parametrize("value", ["repo:*", "*", "repo:acme*", "workflow:x"])
def test_trusted_subjects_never_allow_any_tenant(value: str) -> None:
    verdict = analyse(oidc(GH, like(f"{GH}:sub", value)), trusted_oidc_subjects=frozenset({"*", value}))
    assert verdict.any_tenant


def test_a_pinned_subject_outside_the_trusted_ones_is_untrusted() -> None:
    verdict = analyse(oidc(GH, like(f"{GH}:sub", "repo:evil/app:*")), trusted_oidc_subjects=frozenset({"repo:acme/*"}))
    assert [issue.kind for issue in verdict.issues] == ["untrusted_account"]


STAR = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:username": "alice"}},
        {"StringEquals": {"aws:PrincipalServiceName": "ec2.amazonaws.com"}},
        {"StringEquals": {"sts:ExternalId": "secret"}},
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},
        {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        {"StringEquals": {"aws:PrincipalTag/team": "platform"}},
        {"StringLike": {"aws:userid": "*:alice"}},
        {"StringEqualsIfExists": {"aws:PrincipalAccount": OWN}},
        {"StringLike": {"aws:PrincipalOrgID": "o-*"}},
    ],
)
def test_keys_that_hold_in_any_account_do_not_narrow_star(condition: dict) -> None:
    verdict = analyse(dict(STAR, Condition=condition))
    assert verdict.broad
    assert verdict.any_tenant


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:PrincipalAccount": OWN}},
        {"StringEquals": {"aws:SourceAccount": OWN}},
        {"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OWN}:role/*"}},
        {"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{OWN}:topic"}},
        {"StringEquals": {"aws:SourceOwner": OWN}},
        {"StringLike": {"aws:userid": "AROAEXAMPLEID:*"}},
    ],
)
def test_keys_that_name_an_account_or_principal_narrow_star(condition: dict) -> None:
    assert not analyse(dict(STAR, Condition=condition)).broad


ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-mine123"}}


def test_own_organization_is_trusted() -> None:
    assert analyse(dict(STAR, Condition=ORG), own_org_id="o-mine123").issues == ()


def test_another_organization_is_untrusted_unless_trusted() -> None:
    verdict = analyse(dict(STAR, Condition=ORG), own_org_id="o-other999")
    assert [(issue.kind, issue.principal) for issue in verdict.issues] == [("untrusted_account", "o-mine123")]
    trusted = analyse(dict(STAR, Condition=ORG), own_org_id="o-other999", trusted_org_ids=frozenset({"o-mine123"}))
    assert trusted.issues == ()


def test_org_paths_name_the_organization() -> None:
    condition = {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-mine123/r-ab12/ou-ab12-11111111/*"}}
    assert analyse(dict(STAR, Condition=condition), own_org_id="o-mine123").issues == ()


def test_unknown_organization_is_assumed_own_only_when_asked() -> None:
    assumed = analyse(dict(STAR, Condition=ORG), assume_named_org_is_own=True)
    assert assumed.issues == ()
    assert any("assumed" in note and "o-mine123" in note for note in assumed.assumptions)
    assert [issue.kind for issue in analyse(dict(STAR, Condition=ORG)).issues] == ["untrusted_account"]
    known = analyse(dict(STAR, Condition=ORG), own_org_id="o-other999", assume_named_org_is_own=True)
    assert [issue.kind for issue in known.issues] == ["untrusted_account"]
    assert known.assumptions == ()


SERVICE = {"Effect": "Allow", "Principal": {"Service": "sns.amazonaws.com"}, "Action": "sts:AssumeRole"}


@pytest.mark.parametrize(
    ("condition", "untrusted"),
    [
        ({"StringEquals": {"aws:SourceAccount": OTHER}}, OTHER),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:us-east-1:{OTHER}:topic"}}, OTHER),
        ({"StringEquals": {"aws:SourceAccount": OWN}}, None),
        ({"ArnLike": {"aws:SourceArn": f"arn:aws:sns:*:{OWN}:*"}}, None),
        (None, None),
    ],
)
def test_service_principal_acting_for_another_account(condition: dict | None, untrusted: str | None) -> None:
    statement = dict(SERVICE, Condition=condition) if condition else SERVICE
    verdict = analyse(statement)
    assert [issue.principal for issue in verdict.issues] == ([untrusted] if untrusted else [])
    if untrusted:
        assert verdict.issues[0].kind == "untrusted_account"
        assert analyse(statement, trusted_accounts=frozenset({OTHER})).issues == ()


@FAST
@given(
    st.sampled_from([oidc(GH, like(f"{GH}:sub", "repo:acme/app:*")), oidc(COGNITO, equals(f"{COGNITO}:aud", "p"))]),
    st.sampled_from(
        [
            {"StringLike": {"{key}": "*"}},
            {"StringEqualsIfExists": {"{key}": "x"}},
            {"StringNotEquals": {"{key}": "x"}},
            {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
        ]
    ),
)
def test_adding_a_condition_never_unpins_federation(statement: dict, extra: dict) -> None:
    key = next(iter(next(iter(statement["Condition"].values()))))
    operator, test = next(iter(extra.items()))
    merged = dict(statement["Condition"])
    merged.setdefault(operator, {})
    merged[operator] = {k.replace("{key}", key): v for k, v in test.items()}
    if operator in statement["Condition"]:
        return  # same operator would replace the pinning test
    assert not analyse(dict(statement, Condition=merged)).broad
