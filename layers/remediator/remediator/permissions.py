"""The narrowest resource each AWS action a remediator may hold is granted on, as data.

A rule declares the actions it needs (RuleMeta.remediation_actions, state_actions); this table says what
each one is scoped to. scripts/generate.py writes every function's role from the two, and tests/template
checks the translated template against them. An action missing here cannot be granted: add it with its
resource type (Service Authorization Reference, the "Resource types" column of the action).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final

# What each resource kind's statement is granted on, as CloudFormation writes it (`!Sub`); "*" where the
# service defines no resource type for the action.
RESOURCE_ARNS: Final[dict[str, tuple[str, ...]]] = {
    "user": ("arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*",),
    "group": ("arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*",),
    "role": ("arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*",),
    "policy": ("arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*",),
    # Reading a policy's document: the account's own policies and AWS managed policies newer than the verdicts
    # the package ships (their account is "aws").
    "policy_document": (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*",
        "arn:${AWS::Partition}:iam::aws:policy/*",
    ),
    "account": ("*",),
    # The sweep's coverage self-check. Trails: any region and account (a multi-region or organization trail
    # may be homed elsewhere). Rules and queues: the stack's own, which CloudFormation names "<stack>-...".
    "trail": ("arn:${AWS::Partition}:cloudtrail:*:*:trail/*",),
    # A rule on a custom bus is `rule/<bus>/<rule>`, and IAM's `*` spans `/`: this covers the rules on the
    # organization bus (`rule/<stack>-organization/<stack>-...`) as well as the default bus's.
    "event_rule": ("arn:${AWS::Partition}:events:${AWS::Region}:${AWS::AccountId}:rule/${AWS::StackName}-*",),
    "queue": ("arn:${AWS::Partition}:sqs:${AWS::Region}:${AWS::AccountId}:${AWS::StackName}-*",),
    "detector": ("arn:${AWS::Partition}:guardduty:*:${AWS::AccountId}:detector/*",),
    "configuration_recorder": ("arn:${AWS::Partition}:config:*:${AWS::AccountId}:configuration-recorder/*",),
    # Roles Anywhere is regional and its events reach the hub from every region: any region, this account.
    "trust_anchor": ("arn:${AWS::Partition}:rolesanywhere:*:${AWS::AccountId}:trust-anchor/*",),
    "rolesanywhere_profile": ("arn:${AWS::Partition}:rolesanywhere:*:${AWS::AccountId}:profile/*",),
    # Identity Center ARNs name no account or region. Each action granted here is authorised against the
    # instance, the permission set and (assignments, provisioning) the target account together, all of them
    # `arn:aws:sso:::` ARNs; these actions act on no other sso resource type, so this grants what the list would.
    "identity_center": ("arn:${AWS::Partition}:sso:::*",),
    # S3 bucket ARNs name no account or region: every bucket (the account's own are the only ones it can change;
    # the sweep reads them all).
    "bucket": ("arn:${AWS::Partition}:s3:::*",),
    # Security groups live in every region; revoking by rule id is authorised against the group and the rule.
    "security_group": (
        "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group/*",
        "arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:security-group-rule/*",
    ),
    # external_access: shared resources of this account, in any region (their events reach the hub from every
    # region). AMI and EBS snapshot ARNs name no account.
    "image": ("arn:${AWS::Partition}:ec2:*::image/*",),
    "ebs_snapshot": ("arn:${AWS::Partition}:ec2:*::snapshot/*",),
    "db_snapshot": ("arn:${AWS::Partition}:rds:*:${AWS::AccountId}:snapshot:*",),
    "db_cluster_snapshot": ("arn:${AWS::Partition}:rds:*:${AWS::AccountId}:cluster-snapshot:*",),
    "function": ("arn:${AWS::Partition}:lambda:*:${AWS::AccountId}:function:*",),
    "topic": ("arn:${AWS::Partition}:sns:*:${AWS::AccountId}:*",),
    "key": ("arn:${AWS::Partition}:kms:*:${AWS::AccountId}:key/*",),
    "secret": ("arn:${AWS::Partition}:secretsmanager:*:${AWS::AccountId}:secret:*",),
    # Any queue of this account (external_access strips a queue's policy; the sweep keeps "queue", its own).
    "account_queue": ("arn:${AWS::Partition}:sqs:*:${AWS::AccountId}:*",),
    "repository": ("arn:${AWS::Partition}:ecr:*:${AWS::AccountId}:repository/*",),
    "file_system": ("arn:${AWS::Partition}:elasticfilesystem:*:${AWS::AccountId}:file-system/*",),
    # EC2 is regional and its events reach the hub from every region: any region, this account.
    "instance": ("arn:${AWS::Partition}:ec2:*:${AWS::AccountId}:instance/*",),
    # The stack's baseline instance role (Systems Manager only), the one role ec2_without_role may pass, to EC2 only.
    "baseline_instance_role": (
        "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/compliance-remediator/${AWS::StackName}-ec2-baseline",
    ),
}

# Conditions a kind's statement carries besides its resource (IAM condition block, as CloudFormation writes it).
RESOURCE_CONDITIONS: Final[dict[str, dict[str, dict[str, str]]]] = {
    "baseline_instance_role": {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}},
}

# Permissions AWS checks on a call besides the call's own action (Service Authorization Reference, "Dependent
# actions"): attaching an instance profile also passes its role.
DEPENDENT_ACTIONS: Final[dict[str, tuple[str, ...]]] = {
    "ec2:AssociateIamInstanceProfile": ("iam:PassRole",),
}

ACTION_RESOURCE: Final[dict[str, str]] = {
    **dict.fromkeys(
        (
            "iam:AttachUserPolicy",
            "iam:DeleteLoginProfile",
            "iam:DeleteUserPolicy",
            "iam:DetachUserPolicy",
            "iam:GetLoginProfile",
            "iam:GetUser",
            "iam:GetUserPolicy",
            "iam:ListAccessKeys",
            "iam:ListAttachedUserPolicies",
            "iam:ListGroupsForUser",
            "iam:ListMFADevices",
            "iam:ListUserPolicies",
            "iam:ListUserTags",
            "iam:UpdateAccessKey",
            "iam:DeactivateMFADevice",
            "iam:ListServiceSpecificCredentials",
            "iam:ListSigningCertificates",
            "iam:ListSSHPublicKeys",
            "iam:PutUserPolicy",
            "iam:UpdateServiceSpecificCredential",
            "iam:UpdateSigningCertificate",
            "iam:UpdateSSHPublicKey",
        ),
        "user",
    ),
    **dict.fromkeys(
        (
            "iam:DeleteGroupPolicy",
            "iam:DetachGroupPolicy",
            "iam:GetGroup",
            "iam:GetGroupPolicy",
            "iam:ListAttachedGroupPolicies",
            "iam:ListGroupPolicies",
            "iam:RemoveUserFromGroup",
        ),
        "group",
    ),
    **dict.fromkeys(
        (
            "iam:DeleteRolePolicy",
            "iam:DetachRolePolicy",
            "iam:GetRole",
            "iam:GetRolePolicy",
            "iam:ListAttachedRolePolicies",
            "iam:ListRolePolicies",
            "iam:ListRoleTags",
            "iam:UpdateAssumeRolePolicy",
            # role_trust's session revocation (AWSRevokeOlderSessions); IAM cannot limit it to one document.
            "iam:PutRolePolicy",
        ),
        "role",
    ),
    **dict.fromkeys(
        (
            "iam:DeletePolicyVersion",
            "iam:ListPolicyVersions",
            "iam:SetDefaultPolicyVersion",
        ),
        "policy",
    ),
    **dict.fromkeys(("iam:GetPolicy", "iam:GetPolicyVersion"), "policy_document"),
    **dict.fromkeys(("rolesanywhere:DisableTrustAnchor", "rolesanywhere:GetTrustAnchor"), "trust_anchor"),
    **dict.fromkeys(("rolesanywhere:DisableProfile", "rolesanywhere:GetProfile"), "rolesanywhere_profile"),
    **dict.fromkeys(
        (
            "sso:DeleteAccountAssignment",
            "sso:DeleteInlinePolicyFromPermissionSet",
            "sso:DescribeAccountAssignmentDeletionStatus",
            "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
            "sso:DetachManagedPolicyFromPermissionSet",
            "sso:GetInlinePolicyForPermissionSet",
            "sso:GetPermissionsBoundaryForPermissionSet",
            "sso:ListAccountAssignments",
            "sso:ListCustomerManagedPolicyReferencesInPermissionSet",
            "sso:ListManagedPoliciesInPermissionSet",
            "sso:ProvisionPermissionSet",
        ),
        "identity_center",
    ),
    **dict.fromkeys(
        ("ec2:AssociateIamInstanceProfile", "ec2:ModifyInstanceMetadataOptions"),
        "instance",
    ),
    # Describe* calls of EC2, ELB and Auto Scaling support no resource-level permissions; listing buckets and the
    # account's public access block are account-level; the WAF lookup is granted on "*" (read only).
    **dict.fromkeys(
        (
            "ec2:DescribeInstances",
            "ec2:DescribeSecurityGroups",
            "elasticloadbalancing:DescribeLoadBalancers",
            "elasticloadbalancing:DescribeTargetGroups",
            "elasticloadbalancing:DescribeTargetHealth",
            "autoscaling:DescribeAutoScalingInstances",
            "s3:ListAllMyBuckets",
            "wafv2:GetWebACLForResource",
        ),
        "account",
    ),
    **dict.fromkeys(("s3:GetBucketAcl", "s3:GetBucketPolicy"), "bucket"),
    "iam:PassRole": "baseline_instance_role",
    # s3_public: Block Public Access of a bucket, and of the account (no resource type: "*").
    **dict.fromkeys(("s3:GetBucketPublicAccessBlock", "s3:PutBucketPublicAccessBlock"), "bucket"),
    **dict.fromkeys(("s3:GetAccountPublicAccessBlock", "s3:PutAccountPublicAccessBlock"), "account"),
    # open_security_group: revoke one rule of a group; describing rules defines no resource type.
    "ec2:RevokeSecurityGroupIngress": "security_group",
    "ec2:DescribeSecurityGroupRules": "account",
    **dict.fromkeys(("ec2:DescribeImageAttribute", "ec2:ModifyImageAttribute"), "image"),
    **dict.fromkeys(("ec2:DescribeSnapshotAttribute", "ec2:ModifySnapshotAttribute"), "ebs_snapshot"),
    **dict.fromkeys(("rds:DescribeDBSnapshotAttributes", "rds:ModifyDBSnapshotAttribute"), "db_snapshot"),
    **dict.fromkeys(
        ("rds:DescribeDBClusterSnapshotAttributes", "rds:ModifyDBClusterSnapshotAttribute"), "db_cluster_snapshot"
    ),
    **dict.fromkeys(("lambda:GetPolicy", "lambda:RemovePermission"), "function"),
    **dict.fromkeys(("sns:GetTopicAttributes", "sns:RemovePermission", "sns:SetTopicAttributes"), "topic"),
    **dict.fromkeys(("kms:GetKeyPolicy", "kms:ListGrants", "kms:PutKeyPolicy", "kms:RevokeGrant"), "key"),
    **dict.fromkeys(
        (
            "secretsmanager:DeleteResourcePolicy",
            "secretsmanager:GetResourcePolicy",
            "secretsmanager:PutResourcePolicy",
        ),
        "secret",
    ),
    **dict.fromkeys(("s3:DeleteBucketPolicy", "s3:PutBucketPolicy"), "bucket"),
    **dict.fromkeys(("sqs:RemovePermission", "sqs:SetQueueAttributes"), "account_queue"),
    **dict.fromkeys(("ecr:DeleteRepositoryPolicy", "ecr:GetRepositoryPolicy", "ecr:SetRepositoryPolicy"), "repository"),
    **dict.fromkeys(
        (
            "elasticfilesystem:DeleteFileSystemPolicy",
            "elasticfilesystem:DescribeFileSystemPolicy",
            "elasticfilesystem:PutFileSystemPolicy",
        ),
        "file_system",
    ),
    # The credential report is account-level: IAM defines no resource type for it (the sweep only).
    **dict.fromkeys(("iam:GenerateCredentialReport", "iam:GetCredentialReport"), "account"),
    # The account's own organization (role_trust: its members are not outsiders); no resource type.
    "organizations:DescribeOrganization": "account",
    # Is a trail logging (the sweep's coverage self-check; guardrail_tampering restarts logging in the region it
    # was stopped in, then re-reads); listing the account's trails defines no resource type.
    **dict.fromkeys(("cloudtrail:GetEventSelectors", "cloudtrail:GetTrailStatus", "cloudtrail:StartLogging"), "trail"),
    "cloudtrail:DescribeTrails": "account",
    # (remediator_tampering re-enables a disabled rule of the stack's, and nothing else's.)
    **dict.fromkeys(("events:DescribeRule", "events:EnableRule", "events:ListTargetsByRule"), "event_rule"),
    "sqs:GetQueueAttributes": "queue",
    # guardrail_tampering: a detector or recorder turned back on, then re-read.
    **dict.fromkeys(("guardduty:GetDetector", "guardduty:UpdateDetector"), "detector"),
    **dict.fromkeys(
        ("config:DescribeConfigurationRecorderStatus", "config:StartConfigurationRecorder"), "configuration_recorder"
    ),
}

# An action a rule needs on a wider kind than the table's, which other rules and the sweep keep: the role of a
# function running the rule gets the wider one (external_access reads the policy of any queue of the account).
RULE_ACTION_RESOURCE: Final[dict[str, dict[str, str]]] = {
    "external_access": {"sqs:GetQueueAttributes": "account_queue"},
}

# Attaching a policy is only ever granted for the stack's own deny-unless-MFA policy (an iam:PolicyARN
# condition): a role that could attach any policy could make anyone admin. A rule lists such actions in
# RuleMeta.stack_policy_only.
STACK_POLICY_ONLY: Final[frozenset[str]] = frozenset({"iam:AttachUserPolicy"})


def resource_kind(action: str) -> str:
    """The kind of resource `action` is granted on; KeyError naming this table when it is not in it."""
    try:
        return ACTION_RESOURCE[action]
    except KeyError:
        raise KeyError(f"{action}: add its narrowest resource to remediator/permissions.py") from None


def rule_resource_kind(action: str, rule_ids: Iterable[str] = ()) -> str:
    """The kind `action` is granted on in a role running `rule_ids`: a rule's own (RULE_ACTION_RESOURCE), else
    the table's; ValueError when two of the rules widen it differently."""
    kinds = {RULE_ACTION_RESOURCE.get(rule_id, {}).get(action) for rule_id in rule_ids} - {None}
    if len(kinds) > 1:
        raise ValueError(
            f"{action}: the rules {sorted(rule_ids)} widen it to different kinds {sorted(map(str, kinds))}"
        )
    return str(kinds.pop()) if kinds else resource_kind(action)


def resource_arns(
    action: str,
    *,
    partition: str = "${AWS::Partition}",
    region: str = "${AWS::Region}",
    account: str = "${AWS::AccountId}",
    stack: str = "${AWS::StackName}",
) -> list[str]:
    """The ARN patterns `action` is granted on, with the stack's pseudo parameters or the values given."""
    patterns = []
    for pattern in RESOURCE_ARNS[resource_kind(action)]:
        for name, value in (("Partition", partition), ("Region", region), ("AccountId", account), ("StackName", stack)):
            pattern = pattern.replace("${AWS::" + name + "}", value)
        patterns.append(pattern)
    return patterns
