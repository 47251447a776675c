"""Who can assume a role: broad trust, untrusted accounts, external ids, stripping statements."""

from __future__ import annotations

import json

import pytest

from remediator.policy import TrustIssue, TrustVerdict, analyse_trust_policy, strip_statements

OWN = "111122223333"
OTHER = "999988887777"
GITHUB = f"arn:aws:iam::{OWN}:oidc-provider/token.actions.githubusercontent.com"
SUB = "token.actions.githubusercontent.com:sub"


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def trust(principal, action="sts:AssumeRole", condition=None, effect="Allow") -> dict:
    statement = {"Effect": effect, "Principal": principal, "Action": action}
    if condition is not None:
        statement["Condition"] = condition
    return statement


def github(condition=None) -> dict:
    return trust({"Federated": GITHUB}, "sts:AssumeRoleWithWebIdentity", condition)


def analyse(*statements: dict, **config) -> TrustVerdict:
    return analyse_trust_policy(doc(*statements), config.pop("own_account", OWN), **config)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(trust("*"), id="Principal *"),
        pytest.param(trust({"AWS": "*"}), id="AWS *"),
        pytest.param(trust({"AWS": [f"arn:aws:iam::{OWN}:root", "*"]}), id="* among accounts"),
        pytest.param(trust({"Service": "ec2.amazonaws.com", "AWS": "*"}), id="* beside a service"),
        pytest.param(trust({"AWS": "*"}, "sts:*"), id="sts:*"),
        pytest.param(trust({"AWS": "*"}, "*"), id="Action *"),
        pytest.param(trust({"AWS": "*"}, condition={"StringEquals": {"sts:ExternalId": "x"}}), id="ExternalId only"),
        pytest.param(trust({"AWS": "*"}, condition={"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}), id="SourceIp only"),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringEqualsIfExists": {"aws:PrincipalOrgID": "o-abc"}}),
            id="IfExists never narrows",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"ForAllValues:StringEquals": {"aws:PrincipalOrgID": "o-a"}}),
            id="ForAllValues passes when the key is absent",
        ),
        pytest.param(trust({"AWS": "*"}, condition={"StringLike": {"aws:PrincipalOrgID": "*"}}), id="vacuous *"),
        pytest.param(trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalAccount": ""}}), id="empty"),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringNotEquals": {"aws:PrincipalAccount": OTHER}}),
            id="negated operator",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/x"}}),
            id="PrincipalArn in any account",
        ),
        pytest.param(
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{OWN}:root"},
                "Action": "sts:AssumeRole",
            },
            id="Allow with NotPrincipal",
        ),
        pytest.param({"Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}, id="no Effect (analysed as Allow)"),
        pytest.param(github(), id="GitHub without condition"),
        pytest.param(
            github({"StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"}}),
            id="GitHub aud only",
        ),
        pytest.param(github({"StringLike": {SUB: "repo:my-org/*"}}), id="GitHub whole organisation"),
        pytest.param(github({"StringLike": {SUB: "repo:my-org*"}}), id="GitHub owner prefix"),
        pytest.param(github({"StringLike": {SUB: "*"}}), id="GitHub StringLike *"),
        pytest.param(github({"StringLike": {SUB: ["repo:a/b:*", "repo:c/*"]}}), id="GitHub one value too wide"),
        pytest.param(
            github({"StringEquals": {SUB: "workflow:deploy:repo:a/b:ref:refs/heads/main"}}),
            id="GitHub forgeable first claim",
        ),
        pytest.param(github({"StringEquals": {SUB: "environment:prod"}}), id="GitHub environment only"),
        pytest.param(github({"StringLikeIfExists": {SUB: "repo:a/b:*"}}), id="GitHub IfExists"),
        pytest.param(
            trust(
                {"Federated": "token.actions.githubusercontent.com/my-enterprise"},
                "sts:AssumeRoleWithWebIdentity",
            ),
            id="GitHub per-enterprise issuer",
        ),
        pytest.param(
            trust({"Federated": f"arn:aws:iam::{OWN}:saml-provider/Okta"}, "sts:AssumeRoleWithSAML"),
            id="SAML without aud",
        ),
        pytest.param(
            trust(
                {"Federated": "cognito-identity.amazonaws.com"},
                "sts:AssumeRoleWithWebIdentity",
                {"ForAnyValue:StringLike": {"cognito-identity.amazonaws.com:amr": "authenticated"}},
            ),
            id="Cognito without aud",
        ),
        pytest.param(
            trust(
                {"Federated": f"arn:aws:iam::{OWN}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},
                "sts:AssumeRoleWithWebIdentity",
            ),
            id="other OIDC without sub",
        ),
    ],
)
def test_broad(statement: dict) -> None:
    verdict = analyse(statement)
    assert verdict.broad
    assert verdict.offending_indices == (0,)
    assert all(issue.why for issue in verdict.issues)


@pytest.mark.parametrize(
    "statement",
    [
        pytest.param(trust({"Service": "ec2.amazonaws.com"}), id="service"),
        pytest.param(trust({"Service": "ec2.amazonaws.com"}, "*"), id="service with Action *"),
        pytest.param(trust({"AWS": f"arn:aws:iam::{OWN}:root"}), id="own account root"),
        pytest.param(trust({"AWS": OWN}), id="own account id"),
        pytest.param(trust({"AWS": "*"}, effect="Deny"), id="Deny *"),
        pytest.param(trust({"AWS": "*"}, "sts:TagSession"), id="no assume action"),
        pytest.param({"Effect": "Allow", "Principal": {"AWS": "*"}, "NotAction": "sts:*"}, id="NotAction sts:*"),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalOrgID": "o-mine"}}),
            id="narrowed to our organization",
        ),
        pytest.param(
            trust(
                {"AWS": "*"},
                condition={"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": "o-mine/r-ab12/ou-ab12-11111111/*"}},
            ),
            id="narrowed to an OU path",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringEquals": {"AWS:PrincipalAccount": OWN}}),
            id="narrowed to own account (key case-insensitive)",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"ArnLike": {"aws:PrincipalArn": f"arn:aws:iam::{OWN}:role/*"}}),
            id="narrowed by PrincipalArn",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalAccount": "*"}}),
            id="StringEquals * matches no account",
        ),
        pytest.param(
            trust({"AWS": "*"}, condition={"StringEquals": {"aws:userid": "AROAEXAMPLE:session"}}),
            id="narrowed by userid",
        ),
        pytest.param(github({"StringEquals": {SUB: "repo:my-org/app:ref:refs/heads/main"}}), id="GitHub pinned"),
        pytest.param(github({"StringLike": {SUB: "repo:my-org/app:*"}}), id="GitHub repo, any ref"),
        pytest.param(github({"StringEquals": {SUB: "repo:my-org/app"}}), id="GitHub repo only"),
        pytest.param(github({"StringEquals": {SUB: "*"}}), id="GitHub StringEquals * matches nothing"),
        pytest.param(github({"StringEquals": {SUB: "repo:my-org/*"}}), id="GitHub StringEquals wildcard literal"),
        pytest.param(github({"StringEquals": {SUB: "invalid"}}), id="GitHub value no token has"),
        pytest.param(
            github({"StringLike": {SUB: "repo:my-org/app:*"}, "StringEquals": {SUB: "repo:x/*"}}),
            id="GitHub pinned by one of two ANDed tests",
        ),
        pytest.param(
            github({"ForAllValues:StringLike": {SUB: "repo:my-org/app:*"}}),
            id="GitHub ForAllValues sub (tokens always carry sub)",
        ),
        pytest.param(
            github({"StringEquals": {"token.actions.githubusercontent.com/my-ent:sub": "repo:a/b:ref:x"}}),
            id="GitHub per-enterprise sub key",
        ),
        pytest.param(
            trust(
                {"Federated": f"arn:aws:iam::{OWN}:saml-provider/Okta"},
                "sts:AssumeRoleWithSAML",
                {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}},
            ),
            id="SAML with aud",
        ),
        pytest.param(
            trust(
                {"Federated": "cognito-identity.amazonaws.com"},
                "sts:AssumeRoleWithWebIdentity",
                {"StringEquals": {"cognito-identity.amazonaws.com:aud": "us-east-1:pool"}},
            ),
            id="Cognito with aud",
        ),
        pytest.param(
            trust(
                {"Federated": f"arn:aws:iam::{OWN}:oidc-provider/oidc.eks.us-east-1.amazonaws.com/id/X"},
                "sts:AssumeRoleWithWebIdentity",
                {"StringEquals": {"oidc.eks.us-east-1.amazonaws.com/id/X:sub": "system:serviceaccount:a:b"}},
            ),
            id="EKS with sub",
        ),
    ],
)
def test_not_broad(statement: dict) -> None:
    verdict = analyse(statement, trusted_org_ids=frozenset({"o-mine"}))
    assert not verdict.broad, verdict.issues


@pytest.mark.parametrize(
    ("statement", "principal"),
    [
        (trust({"AWS": f"arn:aws:iam::{OTHER}:root"}), f"arn:aws:iam::{OTHER}:root"),
        (trust({"AWS": OTHER}), OTHER),
        (
            trust({"AWS": [f"arn:aws:iam::{OWN}:role/a", f"arn:aws:iam::{OTHER}:user/b"]}),
            f"arn:aws:iam::{OTHER}:user/b",
        ),
        (trust({"AWS": f"arn:aws-us-gov:iam::{OTHER}:role/x"}), f"arn:aws-us-gov:iam::{OTHER}:role/x"),
        (trust({"AWS": f"arn:aws:sts::{OTHER}:assumed-role/r/s"}), f"arn:aws:sts::{OTHER}:assumed-role/r/s"),
        (trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalAccount": OTHER}}), OTHER),
        (trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalOrgID": "o-theirs"}}), "o-theirs"),
        (
            trust({"AWS": "*"}, condition={"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{OTHER}:role/r"}}),
            OTHER,
        ),
    ],
)
def test_untrusted_account(statement: dict, principal: str) -> None:
    verdict = analyse(statement, trusted_org_ids=frozenset({"o-mine"}))
    assert [(i.kind, i.principal) for i in verdict.issues] == [("untrusted_account", principal)]
    assert verdict.cross_account and not verdict.broad and verdict.offending_indices == (0,)


def test_trusted_accounts_and_organizations_are_not_issues_but_still_cross_account() -> None:
    statements = (
        trust({"AWS": f"arn:aws:iam::{OTHER}:root"}),
        trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalOrgID": "o-partner"}}),
    )
    verdict = analyse(*statements, trusted_accounts=frozenset({OTHER}), trusted_org_ids=frozenset({"o-partner"}))
    assert verdict.issues == () and verdict.cross_account


def test_unknown_own_account_makes_every_account_untrusted() -> None:
    verdict = analyse(trust({"AWS": f"arn:aws:iam::{OWN}:root"}), own_account=None)
    assert verdict.issues[0].kind == "untrusted_account" and verdict.cross_account


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ((trust({"Service": "ec2.amazonaws.com"}),), False),
        ((trust({"AWS": f"arn:aws:iam::{OWN}:role/x"}),), False),
        ((trust({"AWS": OTHER}),), True),
        ((trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalAccount": OWN}}),), False),
        ((trust({"AWS": "*"}, condition={"StringEquals": {"aws:PrincipalOrgID": "o-mine"}}),), True),
        ((github(),), False),
        ((trust({"AWS": OTHER}, effect="Deny"), trust({"AWS": f"arn:aws:iam::{OWN}:role/x"})), False),
        ((trust({"AWS": "ACCOUNT-B-ID"}),), False),
    ],
)
def test_cross_account(statements: tuple, expected: bool) -> None:
    assert analyse(*statements, trusted_org_ids=frozenset({"o-mine"})).cross_account is expected


@pytest.mark.parametrize(
    ("statements", "expected"),
    [
        ((trust({"AWS": OTHER}, condition={"StringEquals": {"sts:ExternalId": "abc"}}),), True),
        ((trust({"AWS": OTHER}, condition={"StringLike": {"STS:EXTERNALID": ["abc", "def"]}}),), True),
        ((trust({"AWS": "Example Corp"}, condition={"StringEquals": {"sts:ExternalId": "1"}}),), True),
        ((trust({"AWS": OTHER}),), False),
        ((trust({"AWS": OTHER}, condition={"StringEquals": {"sts:ExternalId": ""}}),), False),
        ((trust({"AWS": OTHER}, condition={"StringLike": {"sts:ExternalId": "*"}}),), False),
        ((trust({"AWS": OTHER}, condition={"StringEqualsIfExists": {"sts:ExternalId": "abc"}}),), False),
        ((trust({"AWS": OTHER}, condition={"StringNotEquals": {"sts:ExternalId": "abc"}}),), False),
        ((trust({"AWS": OTHER}, condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}}),), False),
        (
            (trust({"AWS": OTHER}, condition={"StringEquals": {"sts:ExternalId": "a"}}), trust({"AWS": OWN})),
            False,
        ),
        (
            (
                trust({"AWS": OTHER}, condition={"StringEquals": {"sts:ExternalId": "a"}}),
                trust({"Service": "ec2.amazonaws.com"}),
            ),
            True,
        ),
        ((trust({"Service": "ec2.amazonaws.com"}),), False),
        ((github({"StringEquals": {SUB: "repo:a/b"}}),), False),
    ],
)
def test_external_id_required(statements: tuple, expected: bool) -> None:
    assert analyse(*statements).external_id_required is expected


def test_trusted_oidc_subjects_restrict_pinned_statements() -> None:
    statement = github({"StringLike": {SUB: ["repo:my-org/app:*", "repo:my-org/other:ref:refs/heads/main"]}})
    verdict = analyse(statement, trusted_oidc_subjects=frozenset({"repo:my-org/app:*"}))
    assert [(i.kind, i.principal) for i in verdict.issues] == [
        ("untrusted_account", "repo:my-org/other:ref:refs/heads/main")
    ]
    allowed = frozenset({"repo:my-org/app:*", "repo:my-org/other:*"})
    assert analyse(statement, trusted_oidc_subjects=allowed).issues == ()
    assert analyse(statement).issues == ()


def test_issue_fields_and_offending_indices() -> None:
    verdict = analyse(
        trust({"Service": "lambda.amazonaws.com"}),
        trust({"AWS": ["*", f"arn:aws:iam::{OTHER}:root"]}),
        github(),
    )
    assert [(i.statement_index, i.kind, i.principal) for i in verdict.issues] == [
        (1, "broad", "*"),
        (1, "untrusted_account", f"arn:aws:iam::{OTHER}:root"),
        (2, "broad", GITHUB),
    ]
    assert verdict.offending_indices == (1, 2) and verdict.broad
    assert isinstance(verdict.issues[0], TrustIssue)


@pytest.mark.parametrize(
    ("document", "fragment"),
    [
        (
            doc({"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole", "Resource": "*"}),
            "Resource",
        ),
        (doc({"Effect": "Allow", "Action": "sts:AssumeRole"}), "no Principal"),
        (doc({"Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole"}), "no Effect"),
        (doc(trust({"AWS": "arn:aws:iam::root"})), "names no account"),
        (doc(trust({"Users": OTHER})), "principal type"),
        (doc(trust("arn:aws:iam::123456789012:root")), "bare string"),
    ],
)
def test_trust_problems(document: dict, fragment: str) -> None:
    problems = analyse_trust_policy(document, OWN).problems
    assert any(fragment in problem for problem in problems), problems


def test_url_encoded_string_document() -> None:
    from urllib.parse import quote

    verdict = analyse_trust_policy(quote(json.dumps(doc(trust({"AWS": "*"})))), OWN)
    assert verdict.broad


def test_strip_statements_keeps_the_rest_without_mutating() -> None:
    original = doc(trust({"Service": "ec2.amazonaws.com"}), trust({"AWS": "*"}), github())
    snapshot = json.loads(json.dumps(original))
    stripped = strip_statements(original, analyse_trust_policy(original, OWN).offending_indices)
    assert original == snapshot
    assert stripped == {"Version": "2012-10-17", "Statement": [trust({"Service": "ec2.amazonaws.com"})]}
    assert analyse_trust_policy(stripped, OWN).issues == ()


def test_strip_every_statement_gives_deny_all() -> None:
    single = {"Version": "2012-10-17", "Statement": trust({"AWS": "*"})}
    stripped = strip_statements(single, [0])
    assert [s["Effect"] for s in stripped["Statement"]] == ["Deny"]
    verdict = analyse_trust_policy(stripped, OWN)
    assert verdict.issues == () and not verdict.cross_account and verdict.problems == ()
    stripped["Statement"][0]["Action"].append("x")
    assert strip_statements(single, [0]) != stripped  # every call gives a fresh document


def test_strip_nothing_returns_an_equal_copy() -> None:
    original = doc(trust({"AWS": "*"}))
    assert strip_statements(original, []) == original
    assert strip_statements(original, []) is not original
