"""Properties that must hold for any input: only PolicyParseError escapes, and Deny only ever takes away."""

from __future__ import annotations

import contextlib
import itertools
import json
import re
import time

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.policy import (
    PolicyParseError,
    analyse_identity_policy,
    analyse_trust_policy,
    load_policy_document,
    strip_statements,
)
from remediator.policy.actions import PatternSet, glob_match, globs_intersect

FAST = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)
KEYS = [
    "Effect",
    "Action",
    "NotAction",
    "Resource",
    "NotResource",
    "Principal",
    "NotPrincipal",
    "Condition",
    "Sid",
]
statement_like = st.dictionaries(st.sampled_from(KEYS), json_values, max_size=6)
document_like = st.one_of(
    json_values,
    st.fixed_dictionaries({"Statement": json_values}),
    st.fixed_dictionaries({"Version": st.just("2012-10-17"), "Statement": st.lists(statement_like, max_size=4)}),
    st.fixed_dictionaries({"Statement": statement_like}),
)

ACTIONS = [
    "*", "iam:*", "iam:Put*", "iam:PassRole", "iam:CreateAccessKey", "iam:AttachUserPolicy", "iam:Create*",
    "ec2:RunInstances", "ec2:*", "lambda:CreateFunction", "lambda:InvokeFunction", "lambda:*", "s3:*",
    "ssm:SendCommand", "sts:AssumeRole", "sts:*", "sts:AssumeRoleWithWebIdentity", "s3:GetObject",
]  # fmt: skip
RESOURCES = [
    "*", "arn:aws:iam::*:role/*", "arn:aws:iam::111122223333:role/app", "arn:aws:iam::*:user/${aws:username}",
    "arn:aws:iam::aws:policy/*", "arn:aws:s3:::bucket/*", "arn:aws:iam::*:*",
]  # fmt: skip
PRINCIPALS = [
    "*", {"AWS": "*"}, {"AWS": "111122223333"}, {"AWS": "arn:aws:iam::999988887777:root"},
    {"Service": "ec2.amazonaws.com"}, {"Federated": "token.actions.githubusercontent.com"},
    {"Federated": "arn:aws:iam::111122223333:saml-provider/Okta"}, {"AWS": ["*", "999988887777"]},
]  # fmt: skip
CONDITIONS = [
    {"Bool": {"aws:MultiFactorAuthPresent": "true"}},
    {"StringEquals": {"aws:PrincipalOrgID": "o-mine"}},
    {"StringEqualsIfExists": {"aws:PrincipalAccount": "999988887777"}},
    {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:org/*"}},
    {"StringEquals": {"token.actions.githubusercontent.com:sub": "repo:org/app:ref:refs/heads/main"}},
    {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
    {"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}},
    {"StringEquals": {"sts:ExternalId": "abc"}},
]


def one_or_many(options: list) -> st.SearchStrategy:
    return st.sampled_from(options) | st.lists(st.sampled_from(options), min_size=1, max_size=3)


@st.composite
def statements(draw, effect: st.SearchStrategy, kind: str) -> dict:
    statement: dict = {"Effect": draw(effect)}
    statement["NotAction" if draw(st.integers(0, 5)) == 0 else "Action"] = draw(one_or_many(ACTIONS))
    if kind == "identity":
        statement["NotResource" if draw(st.integers(0, 5)) == 0 else "Resource"] = draw(one_or_many(RESOURCES))
    else:
        statement["NotPrincipal" if draw(st.integers(0, 8)) == 0 else "Principal"] = draw(st.sampled_from(PRINCIPALS))
    if draw(st.booleans()):
        statement["Condition"] = draw(st.sampled_from(CONDITIONS))
    return statement


def policies(kind: str) -> st.SearchStrategy:
    return st.lists(statements(st.sampled_from(["Allow", "Deny"]), kind), max_size=4)


@FAST
@given(document_like)
def test_parsing_raises_only_policy_parse_error(value) -> None:
    for raw in (value, json.dumps(value)):
        with contextlib.suppress(PolicyParseError):
            load_policy_document(raw)


@FAST
@given(st.text(max_size=40))
def test_parsing_arbitrary_text_raises_only_policy_parse_error(text: str) -> None:
    with contextlib.suppress(PolicyParseError):
        load_policy_document(text)


@FAST
@given(document_like)
def test_analysis_raises_only_policy_parse_error(value) -> None:
    for analyse in (analyse_identity_policy, lambda d: analyse_trust_policy(d, "111122223333")):
        with contextlib.suppress(PolicyParseError):
            analyse(value)


@FAST
@given(policies("identity"), statements(st.just("Deny"), "identity"))
def test_a_deny_never_makes_an_identity_policy_more_dangerous(existing: list, extra: dict) -> None:
    before = analyse_identity_policy({"Statement": existing})
    after = analyse_identity_policy({"Statement": [*existing, extra]})
    assert before.admin_equivalent or not after.admin_equivalent
    assert set(after.escalation_paths) <= set(before.escalation_paths)


@FAST
@given(policies("trust"), statements(st.just("Deny"), "trust"))
def test_a_deny_never_makes_a_trust_policy_broader(existing: list, extra: dict) -> None:
    before = analyse_trust_policy({"Statement": existing}, "111122223333")
    after = analyse_trust_policy({"Statement": [*existing, extra]}, "111122223333")
    assert before.broad or not after.broad
    assert set(after.issues) <= set(before.issues)
    assert before.cross_account or not after.cross_account


@FAST
@given(policies("trust"))
def test_stripping_the_offending_statements_leaves_no_issue(existing: list) -> None:
    document = {"Version": "2012-10-17", "Statement": existing}
    verdict = analyse_trust_policy(document, "111122223333")
    stripped = strip_statements(document, verdict.offending_indices)
    assert analyse_trust_policy(stripped, "111122223333").issues == ()


READ_ONLY_ACTIONS = ["iam:GetUser", "iam:Get*", "iam:List*", "*:Describe*", "s3:GetObject", "*:List*"]
NAMED_RESOURCES = [
    "arn:aws:iam::111122223333:role/breakglass", "arn:aws:iam::*:user/admin", "arn:aws:s3:::dummy",
    "arn:aws:iam::111122223333:policy/guard", "arn:aws:iam::*:user/${aws:username}",
]  # fmt: skip


@FAST
@given(policies("identity"), statements(st.just("Allow"), "identity"))
def test_an_allow_never_makes_an_identity_policy_less_dangerous(existing: list, extra: dict) -> None:
    before = analyse_identity_policy({"Statement": existing})
    after = analyse_identity_policy({"Statement": [*existing, extra]})
    assert after.admin_equivalent or not before.admin_equivalent
    assert set(before.escalation_paths) <= set(after.escalation_paths)


@FAST
@given(
    policies("identity"),
    st.sampled_from(READ_ONLY_ACTIONS),
    st.sampled_from([*RESOURCES, *NAMED_RESOURCES]),
    st.sampled_from([*ACTIONS, *READ_ONLY_ACTIONS]),
    st.sampled_from(NAMED_RESOURCES),
)
def test_a_deny_of_reads_or_of_one_named_resource_never_removes_admin(
    existing: list, read: str, resource: str, action: str, named: str
) -> None:
    if not analyse_identity_policy({"Statement": existing}).admin_equivalent:
        return
    for extra in (
        {"Effect": "Deny", "Action": read, "Resource": resource},
        {"Effect": "Deny", "Action": action, "Resource": named},
    ):
        assert analyse_identity_policy({"Statement": [*existing, extra]}).admin_equivalent, extra


@FAST
@given(policies("identity"), st.sampled_from(NAMED_RESOURCES), st.sampled_from(READ_ONLY_ACTIONS))
def test_excluding_one_named_resource_or_one_read_never_removes_admin(existing: list, named: str, read: str) -> None:
    if not analyse_identity_policy({"Statement": existing}).admin_equivalent:
        return
    for index, statement in enumerate(existing):
        if statement["Effect"] != "Allow":
            continue
        narrowed = [dict(s) for s in existing]
        if "Resource" in narrowed[index] and narrowed[index]["Resource"] == "*":
            del narrowed[index]["Resource"]
            narrowed[index]["NotResource"] = named
            assert analyse_identity_policy({"Statement": narrowed}).admin_equivalent, narrowed
        if narrowed[index].get("Action") == "*":
            del narrowed[index]["Action"]
            narrowed[index]["NotAction"] = read
            assert analyse_identity_policy({"Statement": narrowed}).admin_equivalent, narrowed


def _reference(pattern: str, text: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, text, re.DOTALL | re.IGNORECASE) is not None


GLOBS = st.text(alphabet="ab*?", max_size=6)
TEXTS = st.text(alphabet="abAB", max_size=8)


@FAST
@given(GLOBS, TEXTS)
def test_glob_matching_agrees_with_a_regular_expression(pattern: str, text: str) -> None:
    assert glob_match(pattern, text) == _reference(pattern, text)
    assert PatternSet((pattern, "x:y")).matches(text) == (_reference(pattern, text) or text.lower() == "x:y")


@FAST
@given(GLOBS, GLOBS)
def test_glob_intersection_agrees_with_a_search_for_a_common_string(first: str, second: str) -> None:
    witnesses = ("".join(t) for n in range(len(first) + len(second) + 1) for t in itertools.product("ab", repeat=n))
    expected = any(_reference(first, w) and _reference(second, w) for w in witnesses)
    assert globs_intersect(first, second) == expected


def test_patterns_built_to_backtrack_are_analysed_quickly() -> None:
    wide = "*a" * 400 + "*b"
    document = {
        "Statement": [
            {"Effect": "Allow", "Action": ["iam:*", "iam:" + wide], "Resource": ["arn:aws:iam::*:" + wide]},
            {"Effect": "Deny", "Action": ["iam:" + wide], "NotResource": ["arn:aws:iam::*:" + wide + "c"]},
        ]
    }
    trust = {
        "Statement": [
            {
                "Effect": "Allow",
                "Principal": {"Federated": "token.actions.githubusercontent.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
                "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:a/" + wide}},
            }
        ]
    }
    start = time.perf_counter()
    analyse_identity_policy(document)
    analyse_trust_policy(trust, "111122223333", trusted_oidc_subjects=frozenset({"repo:a/" + wide + "c"}))
    assert time.perf_counter() - start < 2.0
