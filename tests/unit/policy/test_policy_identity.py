"""Admin-equivalence and privilege-escalation paths of identity policies."""

from __future__ import annotations

import pytest

from remediator.policy import IdentityVerdict, analyse_identity_policy
from remediator.policy.actions import ESCALATION_PATHS

MFA = {"Bool": {"aws:MultiFactorAuthPresent": "true"}}


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(action, resource="*", **extra) -> dict:
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action, resource="*", **extra) -> dict:
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(allow("*")), id="* on *"),
        pytest.param(doc(allow(["*"], ["*"])), id="lists"),
        pytest.param(doc(allow("*:*")), id="*:*"),
        pytest.param(doc(allow("iam:*")), id="iam:* on *"),
        pytest.param(doc(allow("IAM:*")), id="action case-insensitive"),
        pytest.param(doc(allow(["s3:HeadBucket", "*"], ["arn:aws:s3:::b1", "*"])), id="* among others"),
        pytest.param(doc({"Effect": "Allow", "NotAction": "s3:*", "Resource": "*"}), id="NotAction of a service"),
        pytest.param(doc({"Effect": "Allow", "NotAction": ["prowler:action"], "Resource": "*"}), id="NotAction junk"),
        pytest.param(doc({"Effect": "Allow", "Action": "*", "NotResource": "arn:aws:s3:::x"}), id="NotResource s3"),
        pytest.param(doc(allow("*", Condition=MFA)), id="MFA condition does not make it less admin"),
        pytest.param(doc(allow("*"), deny("*", Condition=MFA)), id="conditioned Deny does not remove it"),
        pytest.param(doc(allow("iam:*", "arn:aws:iam::123456789012:*")), id="iam:* on all IAM of the account"),
        pytest.param(doc(allow("*", "arn:aws-us-gov:iam::*:*")), id="GovCloud partition"),
        pytest.param({"Statement": {"Effect": "Allow", "Action": "*", "Resource": "*"}}, id="single statement"),
    ],
)
def test_admin_equivalent(document: dict) -> None:
    verdict = analyse_identity_policy(document)
    assert verdict.admin_equivalent and verdict.risky


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(), id="no statements"),
        pytest.param(doc(allow("s3:*")), id="one service"),
        pytest.param(doc(allow("*", "arn:aws:s3:::*")), id="* on S3 only"),
        pytest.param(doc(allow("*", "arn:aws:iam::aws:policy/AdministratorAccess")), id="* on a policy ARN"),
        pytest.param(doc(allow("iam:Get*")), id="IAM read"),
        pytest.param(
            doc({"Effect": "Allow", "NotAction": ["iam:*", "organizations:*"], "Resource": "*"}),
            id="NotAction iam:* (PowerUser)",
        ),
        pytest.param(doc({"Effect": "Allow", "Action": "*", "NotResource": "*"}), id="NotResource *"),
        pytest.param(doc(allow("*"), deny("iam:*")), id="Deny iam:*"),
        pytest.param(doc(allow("*"), deny("*")), id="Deny everything"),
        pytest.param(
            doc(allow("iam:*"), {"Effect": "Deny", "NotAction": "s3:*", "Resource": "*"}),
            id="Deny everything but S3",
        ),
        pytest.param(doc(deny("*")), id="deny only"),
        pytest.param(
            doc(allow("*", Condition={"DateLessThan": {"aws:CurrentTime": "2020-01-01T00:00:00Z"}})),
            id="condition that can no longer hold",
        ),
    ],
)
def test_not_admin_equivalent(document: dict) -> None:
    assert not analyse_identity_policy(document).admin_equivalent


@pytest.mark.parametrize(
    ("document", "path"),
    [
        (doc(allow("iam:CreatePolicyVersion")), "iam:CreatePolicyVersion"),
        (doc(allow("iam:createpolicyversion", "arn:aws:iam::*:policy/team-*")), "iam:CreatePolicyVersion"),
        (
            doc(allow("iam:SetDefaultPolicyVersion", "arn:aws:iam::111122223333:policy/x")),
            "iam:SetDefaultPolicyVersion",
        ),
        (doc(allow("iam:AttachUserPolicy", "arn:aws:iam::*:user/${aws:username}")), "iam:AttachUserPolicy"),
        (doc(allow("iam:Put*")), "iam:PutRolePolicy"),
        (doc(allow("iam:?ttachGroupPolicy")), "iam:AttachGroupPolicy"),
        (doc(allow("iam:AddUserToGroup", "arn:aws:iam::*:group/admins")), "iam:AddUserToGroup"),
        (doc(allow("iam:CreateAccessKey", "arn:aws:iam::*:user/*")), "iam:CreateAccessKey"),
        (doc(allow("iam:UpdateLoginProfile")), "iam:UpdateLoginProfile"),
        (doc(allow(["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"])), "iam:UpdateAssumeRolePolicy"),
        (doc(allow(["iam:PassRole", "ec2:RunInstances"])), "iam:PassRole+ec2:RunInstances"),
        (
            doc(allow("iam:PassRole", "arn:aws:iam::*:role/app-*"), allow("ec2:RunInstances")),
            "iam:PassRole+ec2:RunInstances",
        ),
        (
            doc(allow(["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"])),
            "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction",
        ),
        (
            doc(
                allow("iam:PassRole", Condition={"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}),
                allow("ec2:RunInstances"),
            ),
            "iam:PassRole+ec2:RunInstances",
        ),
        (doc(allow(["iam:PassRole", "glue:CreateDevEndpoint"])), "iam:PassRole+glue:CreateDevEndpoint"),
        (
            doc(allow(["iam:PassRole", "cloudformation:CreateStack"])),
            "iam:PassRole+cloudformation:CreateStack",
        ),
        (doc(allow("lambda:UpdateFunctionCode")), "lambda:UpdateFunctionCode"),
        (doc(allow("ssm:SendCommand")), "ssm:SendCommand"),
        (doc(allow("ssm:StartSession")), "ssm:StartSession"),
        (doc(allow("cloudformation:UpdateStack")), "cloudformation:UpdateStack"),
        (
            doc(allow("sagemaker:CreatePresignedNotebookInstanceUrl")),
            "sagemaker:CreatePresignedNotebookInstanceUrl",
        ),
        (
            doc(
                allow(
                    "iam:CreatePolicyVersion",
                    Condition={"DateGreaterThan": {"aws:TokenIssueTime": "2020-01-01"}},
                )
            ),
            "iam:CreatePolicyVersion",
        ),
        (
            doc(
                {
                    "Effect": "Allow",
                    "NotAction": ["iam:Update*", "iam:Create*", "iam:Attach*"],
                    "Resource": "*",
                }
            ),
            "iam:PutUserPolicy",
        ),
        (doc(allow("iam:*"), deny("ec2:RunInstances")), "iam:AttachUserPolicy"),
        (
            doc(
                allow("iam:CreateAccessKey"),
                deny("iam:CreateAccessKey", "arn:aws:iam::*:user/${aws:username}"),
            ),
            "iam:CreateAccessKey",
        ),
        (doc(allow("iam:PutUserPolicy", Condition=MFA)), "iam:PutUserPolicy"),
        (doc({"Action": "iam:PutRolePolicy", "Resource": "*"}), "iam:PutRolePolicy"),
    ],
)
def test_escalation_path_found(document: dict, path: str) -> None:
    verdict = analyse_identity_policy(document)
    assert path in verdict.escalation_paths and verdict.risky


@pytest.mark.parametrize(
    "document",
    [
        pytest.param(doc(allow("iam:PassRole")), id="PassRole alone"),
        pytest.param(
            doc(allow(["iam:PassRole", "ec2:RunInstances"], "arn:aws:iam::123456789012:role/ecs")),
            id="PassRole to one named role",
        ),
        pytest.param(
            doc(
                allow(
                    "iam:PassRole",
                    Condition={"StringEquals": {"iam:PassedToService": "cloudtrail.amazonaws.com"}},
                ),
                allow(["ec2:RunInstances", "lambda:CreateFunction", "lambda:InvokeFunction"]),
            ),
            id="PassRole only to a service without a path",
        ),
        pytest.param(doc(allow(["ec2:DescribeInstances", "ec2:RunInstances"])), id="RunInstances without PassRole"),
        pytest.param(
            doc(allow("iam:CreatePolicyVersion", "arn:aws:iam::aws:policy/fp4-*")),
            id="AWS managed policies cannot be edited",
        ),
        pytest.param(
            doc(allow(["iam:CreateAccessKey", "iam:UpdateLoginProfile"], "arn:aws:iam::*:user/${aws:username}")),
            id="own credentials (self-service)",
        ),
        pytest.param(
            doc(
                allow(
                    "iam:CreatePolicyVersion",
                    Condition={"DateLessThan": {"aws:TokenIssueTime": "2020-01-01T00:00:01Z"}},
                )
            ),
            id="condition in the past",
        ),
        pytest.param(doc(allow("iam:*"), deny("iam:*")), id="allow and deny iam:*"),
        pytest.param(
            doc(
                allow(["lambda:*", "iam:PassRole", "dynamodb:PutItem"]),
                {"Effect": "Deny", "NotAction": "dynamodb:PutItem", "Resource": "*"},
            ),
            id="Deny NotAction keeps only PutItem",
        ),
        pytest.param(doc(allow("iam:PutUserPolicy", "arn:aws:s3:::bucket")), id="IAM action on a non-IAM ARN"),
        pytest.param(doc(allow(["iam:Get*", "iam:List*", "s3:*", "ec2:Describe*"])), id="read-only and S3"),
        pytest.param(doc(allow("lambda:CreateFunction", "s3")), id="half a path"),
        pytest.param(doc(deny("*")), id="deny only"),
    ],
)
def test_no_escalation_path(document: dict) -> None:
    verdict = analyse_identity_policy(document)
    assert verdict.escalation_paths == ()
    assert not verdict.risky or verdict.admin_equivalent


@pytest.mark.parametrize("path", ESCALATION_PATHS, ids=lambda p: p.name)
def test_every_catalogued_path_is_found_on_its_own(path) -> None:
    assert path.name in analyse_identity_policy(doc(allow(list(path.actions)))).escalation_paths


@pytest.mark.parametrize(
    ("statement", "fragment"),
    [
        ({"Action": "s3:*", "Resource": "*"}, "no Effect"),
        ({"Effect": "allow", "Action": "s3:*", "Resource": "*"}, "Effect 'allow'"),
        (
            {"Effect": "Allow", "Action": "s3:*", "NotAction": "s3:Get*", "Resource": "*"},
            "both Action and NotAction",
        ),
        ({"Effect": "Allow", "Resource": "*"}, "neither Action nor NotAction"),
        ({"Effect": "Allow", "Action": "s3:*"}, "neither Resource nor NotResource"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Principal": "*"}, "Principal"),
        ({"Effect": "Allow", "Action": "GetObject", "Resource": "*"}, "service prefix"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": ["x"]}, "Condition"),
        ({"Effect": "Allow", "Action": "s3:*", "Resource": "*", "Condition": {"Bool": "x"}}, "key/value"),
    ],
)
def test_problems_iam_would_reject(statement: dict, fragment: str) -> None:
    problems = analyse_identity_policy(doc(statement)).problems
    assert any(fragment in problem for problem in problems), problems


def test_clean_document_has_no_problems() -> None:
    assert analyse_identity_policy(doc(allow("s3:GetObject", "arn:aws:s3:::b/*"))).problems == ()


def test_verdict_shape() -> None:
    verdict = analyse_identity_policy('{"Statement": []}')
    assert verdict == IdentityVerdict(admin_equivalent=False, escalation_paths=(), problems=())
    assert not verdict.risky
    with pytest.raises(AttributeError):
        verdict.admin_equivalent = True  # type: ignore[misc]
