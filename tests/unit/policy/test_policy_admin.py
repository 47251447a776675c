"""Admin-equivalence holds up against the edits an attacker makes to hide it, and new escalation paths."""

from __future__ import annotations

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from remediator.policy import analyse_identity_policy

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
OWN = "111122223333"


def allow(action: object = "*", resource: object = "*", **extra: object) -> dict:
    key_a = "NotAction" if extra.pop("not_action", False) else "Action"
    key_r = "NotResource" if extra.pop("not_resource", False) else "Resource"
    return {"Effect": "Allow", key_a: action, key_r: resource, **extra}


def deny(action: object = "*", resource: object = "*", **extra: object) -> dict:
    statement = allow(action, resource, **extra)
    statement["Effect"] = "Deny"
    return statement


def admin(*statements: dict) -> bool:
    return analyse_identity_policy({"Version": "2012-10-17", "Statement": list(statements)}).admin_equivalent


def paths(*statements: dict) -> tuple[str, ...]:
    return analyse_identity_policy({"Version": "2012-10-17", "Statement": list(statements)}).escalation_paths


UPPER_FIRSTS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+=,.@_-"

ADMIN_GRANTS = {
    "* on *": [allow()],
    "*:* on *": [allow("*:*")],
    "iam:* on *": [allow("iam:*")],
    "iam:* on arn:aws:iam::*:*": [allow("iam:*", "arn:aws:iam::*:*")],
    "iam:* on arn:aws:iam::*:*/*": [allow("iam:*", "arn:aws:iam::*:*/*")],
    "iam:* on twelve ?": [allow("iam:*", "arn:aws:iam::????????????:*")],
    "iam:* on own account": [allow("iam:*", f"arn:aws:iam::{OWN}:*")],
    "iam:* on arn:*:iam::*:*": [allow("iam:*", "arn:*:iam::*:*")],
    "iam:* per kind": [
        allow("iam:*", ["arn:aws:iam::*:user/*", "arn:aws:iam::*:group/*"]),
        allow("iam:*", ["arn:aws:iam::*:role/*", "arn:aws:iam::*:policy/*"]),
    ],
    "actions split over statements": [
        allow(["iam:Attach*", "iam:Put*"]),
        allow(["iam:*Version", "iam:Update*", "iam:Add*"]),
    ],
    "names sliced by first character": [
        allow("iam:*", [f"arn:aws:iam::*:{kind}/{c}*" for c in "abcdefghijklmnopqrstuvwxyz0123456789+=,.@_-/"])
        for kind in ("user", "group", "role", "policy")
    ],
    "NotAction of a read": [allow("iam:GetUser", not_action=True)],
    "NotAction of another service": [allow("s3:*", not_action=True)],
    "NotResource of a named role": [allow("*", f"arn:aws:iam::{OWN}:role/breakglass", not_resource=True)],
    "NotResource of a dummy": [allow("*", "arn:aws:s3:::nothing", not_resource=True)],
    "NotResource of AWS managed policies": [allow("iam:*", "arn:aws:iam::aws:policy/*", not_resource=True)],
    "MFA condition": [allow(Condition={"Bool": {"aws:MultiFactorAuthPresent": "true"}})],
    "Deny of a read": [allow(), deny("iam:GetUser")],
    "Deny of all reads": [allow(), deny(["iam:Get*", "iam:List*", "*:Describe*"])],
    "Deny of another service": [allow(), deny("s3:*")],
    "Deny of PassRole and CreateUser": [allow(), deny(["iam:PassRole", "iam:CreateUser"])],
    "Deny on one named role": [allow(), deny("*", f"arn:aws:iam::{OWN}:role/breakglass")],
    "Deny on the caller's own user": [allow(), deny("iam:*", "arn:aws:iam::*:user/${aws:username}")],
    "Deny with a condition": [allow(), deny("iam:*", Condition={"Bool": {"aws:SecureTransport": "false"}})],
    "Deny NotResource of all IAM": [allow(), deny("iam:*", "arn:aws:iam::*:*", not_resource=True)],
    "Deny on a slice of role names": [allow(), deny("iam:*", "arn:aws:iam::*:role/zzz*")],
    "Deny on service-linked roles": [allow(), deny("iam:*", "arn:aws:iam::*:role/aws-service-role/*")],
    "Deny on names holding a text": [allow(), deny("iam:*", "arn:aws:iam::*:*breakglass*")],
    "Deny on every family but one": [
        allow(),
        deny("iam:*", [f"arn:aws:iam::*:{k}/{c}*" for c in "abcdefghijklmnopqrstuvwxy" for k in ("user", "role")]),
    ],
    "Deny of every upper-case family": [
        allow(),
        deny("iam:*", [f"arn:aws:iam::*:{k}/{c}*" for c in UPPER_FIRSTS for k in ("user", "role")]),
    ],
    "NotResource of a slice": [allow("*", "arn:aws:iam::*:role/zzz*", not_resource=True)],
}

NOT_ADMIN = {
    "Deny of iam:* on *": [allow(), deny("iam:*")],
    "Deny of * on *": [allow(), deny()],
    "Deny of iam:* on every role": [allow(), deny("iam:*", "arn:aws:iam::*:role/*")],
    "Deny of permission writes": [allow(), deny(["iam:Attach*", "iam:Put*"])],
    "Deny NotAction of reads": [allow(), deny(["iam:Get*", "iam:List*"], not_action=True)],
    "Deny NotResource of one bucket": [allow(), deny("iam:*", "arn:aws:s3:::b", not_resource=True)],
    "PowerUserAccess": [allow(["iam:*", "organizations:*", "account:*"], not_action=True)],
    "iam:* on roles only": [allow("iam:*", "arn:aws:iam::*:role/*")],
    "iam:* on roles starting with a to y": [
        allow("iam:*", ["arn:aws:iam::*:group/*", "arn:aws:iam::*:policy/*"]),
        allow("iam:*", [f"arn:aws:iam::*:{k}/{c}*" for c in "abcdefghijklmnopqrstuvwxy" for k in ("user", "role")]),
    ],
    "iam:* on one role": [allow("iam:*", f"arn:aws:iam::{OWN}:role/app")],
    "NotResource of every role": [allow("*", "arn:aws:iam::*:role/*", not_resource=True)],
    "NotResource of all IAM beside a slice": [
        allow("*", "arn:aws:iam::*:*", not_resource=True),
        allow("iam:*", ["arn:aws:iam::*:user/b*", "arn:aws:iam::*:role/b*", "arn:aws:iam::*:group/b*"]),
    ],
    "Deny of every family in both cases": [
        allow(),
        deny("iam:*", [f"arn:aws:iam::*:role/{c}*" for c in UPPER_FIRSTS + "abcdefghijklmnopqrstuvwxyz"]),
    ],
    "Deny NotResource of a slice": [allow(), deny("iam:*", "arn:aws:iam::*:role/bx*", not_resource=True)],
    "NotAction of permission writes": [allow(["iam:Attach*"], not_action=True)],
    "read only": [allow(["iam:Get*", "iam:List*"])],
    "expired": [allow(Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})],
    "nothing": [],
}


@pytest.mark.parametrize("statements", ADMIN_GRANTS.values(), ids=ADMIN_GRANTS.keys())
def test_admin_equivalent(statements: list[dict]) -> None:
    assert admin(*statements)


@pytest.mark.parametrize("statements", NOT_ADMIN.values(), ids=NOT_ADMIN.keys())
def test_not_admin_equivalent(statements: list[dict]) -> None:
    assert not admin(*statements)


ADMIN_BASES = [
    allow(),
    allow("*:*"),
    allow("iam:*"),
    allow("iam:*", "arn:aws:iam::*:*"),
    allow("s3:*", not_action=True),
]
READ_ACTIONS = st.sampled_from(
    ["iam:GetUser", "iam:Get*", "iam:List*", "ec2:Describe*", "*:Get*", "*:List*", "s3:GetObject", "iam:Generate*"]
)
NAMED_RESOURCES = st.sampled_from(
    [
        f"arn:aws:iam::{OWN}:role/breakglass",
        "arn:aws:iam::*:user/admin",
        f"arn:aws:iam::{OWN}:policy/guard",
        "arn:aws:iam::*:user/${aws:username}",
        "arn:aws:s3:::dummy",
        f"arn:aws:iam::{OWN}:group/Admins",
    ]
)


@FAST
@given(st.sampled_from(ADMIN_BASES), READ_ACTIONS, st.sampled_from(["*", "arn:aws:iam::*:*", "arn:aws:iam::*:user/*"]))
def test_a_deny_of_reads_never_hides_admin(base: dict, read: str, resource: str) -> None:
    assert admin(base)
    assert admin(base, deny(read, resource))


@FAST
@given(st.sampled_from(ADMIN_BASES), NAMED_RESOURCES, st.sampled_from(["*", "iam:*", "iam:PutRolePolicy"]))
def test_excluding_one_named_resource_never_hides_admin(base: dict, named: str, action: str) -> None:
    assert admin(deny(action, named), base)
    excluded = dict(base)
    excluded.pop("Resource")
    excluded["NotResource"] = named
    assert admin(excluded)


@FAST
@given(st.sampled_from(ADMIN_BASES), READ_ACTIONS)
def test_not_action_of_reads_never_hides_admin(base: dict, read: str) -> None:
    if "Action" in base:
        widened = dict(base, Action="*")
        widened.pop("Action")
        widened["NotAction"] = read
        assert admin(widened)


@FAST
@given(st.sampled_from(ADMIN_BASES), st.sampled_from(["iam:*", "*", "iam:Put*", "iam:Attach*"]))
def test_a_deny_of_iam_writes_on_everything_removes_admin(base: dict, action: str) -> None:
    assert not admin(base, deny(action))


ESCALATIONS = {
    "sts:AssumeRole on *": ([allow("sts:AssumeRole")], "sts:AssumeRole"),
    "sts:AssumeRole on any role": ([allow("sts:AssumeRole", "arn:aws:iam::*:role/*")], "sts:AssumeRole"),
    "PassRole + Step Functions": (
        [allow(["iam:PassRole", "states:CreateStateMachine", "states:StartExecution"])],
        "iam:PassRole+states:CreateStateMachine+states:StartExecution",
    ),
    "PassRole + EMR": (
        [allow(["iam:PassRole", "elasticmapreduce:RunJobFlow"])],
        "iam:PassRole+elasticmapreduce:RunJobFlow",
    ),
    "ssm:CreateAssociation": ([allow("ssm:CreateAssociation")], "ssm:CreateAssociation"),
    "boundary deleted": ([allow("iam:DeleteRolePermissionsBoundary")], "iam:DeleteRolePermissionsBoundary"),
    "boundary replaced": ([allow("iam:PutUserPermissionsBoundary")], "iam:PutUserPermissionsBoundary"),
    "role tags": ([allow("iam:TagRole", "arn:aws:iam::*:role/*")], "iam:TagRole"),
    "user untag": ([allow("iam:UntagUser")], "iam:UntagUser"),
    "SAML provider": ([allow("iam:UpdateSAMLProvider")], "iam:UpdateSAMLProvider"),
    "OIDC client id": ([allow("iam:AddClientIDToOpenIDConnectProvider")], "iam:AddClientIDToOpenIDConnectProvider"),
    "Identity Center assignment": ([allow("sso:CreateAccountAssignment")], "sso:CreateAccountAssignment"),
    "Identity Center inline policy": (
        [allow(["sso:PutInlinePolicyToPermissionSet", "sso:ProvisionPermissionSet"])],
        "sso:PutInlinePolicyToPermissionSet+sso:ProvisionPermissionSet",
    ),
    "access key for user/${aws:username}*": (
        [allow("iam:CreateAccessKey", "arn:aws:iam::*:user/${aws:username}*")],
        "iam:CreateAccessKey",
    ),
    "login profile for user/*${aws:username}": (
        [allow("iam:UpdateLoginProfile", "arn:aws:iam::*:user/*${aws:username}")],
        "iam:UpdateLoginProfile",
    ),
    "Lambda code": ([allow("lambda:UpdateFunctionCode")], "lambda:UpdateFunctionCode"),
    "CloudFormation update": ([allow("cloudformation:UpdateStack")], "cloudformation:UpdateStack"),
}

ESCALATIONS.update(
    {
        "Deny in the wrong case": (
            [allow("iam:PutRolePolicy"), deny("iam:PutRolePolicy", "arn:aws:iam::*:ROLE/*")],
            "iam:PutRolePolicy",
        ),
        "StringNotEquals * on the passed service": (
            [
                allow(
                    ["iam:PassRole", "ec2:RunInstances"],
                    Condition={"StringNotEquals": {"iam:PassedToService": "*"}},
                )
            ],
            "iam:PassRole+ec2:RunInstances",
        ),
        "StringNotEquals in the wrong case": (
            [
                allow(
                    ["iam:PassRole", "ec2:RunInstances"],
                    Condition={"StringNotEquals": {"iam:PassedToService": "EC2.AMAZONAWS.COM"}},
                )
            ],
            "iam:PassRole+ec2:RunInstances",
        ),
    }
)

NO_ESCALATION = {
    "PassRole alone": [allow("iam:PassRole")],
    "PassRole to one named role": [
        allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"], f"arn:aws:iam::{OWN}:role/app"),
    ],
    "AssumeRole of one named role": [allow("sts:AssumeRole", f"arn:aws:iam::{OWN}:role/reader")],
    "own access key": [allow("iam:CreateAccessKey", "arn:aws:iam::*:user/${aws:username}")],
    "own access key under a path": [allow("iam:CreateAccessKey", "arn:aws:iam::*:user/team/${aws:username}")],
    "tags on an S3 bucket only": [allow("iam:TagRole", "arn:aws:s3:::bucket")],
    "Deny on every role": [allow("iam:PutRolePolicy"), deny("iam:PutRolePolicy", "arn:aws:iam::111122223333:role/*")],
    "PassRole kept from EC2": [
        allow(
            ["iam:PassRole", "ec2:RunInstances"],
            Condition={"StringNotEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        )
    ],
    "PassRole + Step Functions to EC2 only": [
        allow(
            ["iam:PassRole", "states:CreateStateMachine", "states:StartExecution"],
            Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
        )
    ],
}


@pytest.mark.parametrize(("statements", "path"), ESCALATIONS.values(), ids=ESCALATIONS.keys())
def test_escalation_paths(statements: list[dict], path: str) -> None:
    assert path in paths(*statements)


@pytest.mark.parametrize("statements", NO_ESCALATION.values(), ids=NO_ESCALATION.keys())
def test_not_escalation(statements: list[dict]) -> None:
    assert paths(*statements) == ()


NAME_TEXT = st.text(alphabet="abcxyz019-_./", min_size=1, max_size=8)


@FAST
@given(
    st.sampled_from(ADMIN_BASES),
    st.sampled_from(["user", "role", "group", "policy"]),
    NAME_TEXT,
    st.sampled_from(["{text}*", "*{text}*", "{text}?*", "*/{text}/*"]),
)
def test_a_slice_of_names_never_hides_admin(base: dict, kind: str, text: str, shape: str) -> None:
    pattern = f"arn:aws:iam::{OWN}:{kind}/{shape.format(text=text)}"
    assert admin(base, deny("iam:*", pattern))
    if base.get("Resource") == "*":
        excluded = {k: v for k, v in base.items() if k != "Resource"}
        assert admin(dict(excluded, NotResource=pattern))
