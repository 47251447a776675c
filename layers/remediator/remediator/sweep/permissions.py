"""The AWS actions the sweep's code calls, as data.

template.yaml's SweepFunctionRole grants exactly these (scripts/generate.py writes the statements, each on
the resource remediator/permissions.py gives the action; tests/template checks them), and tests/unit/sweep
runs the sweep on moto, records every operation it calls and fails on one that is not listed here.
"""

from __future__ import annotations

# The credential report is account-level: IAM defines no resource type for it, so these two are
# granted on "*" (and nothing else of the sweep is).
REPORT_ACTIONS: tuple[str, ...] = ("iam:GenerateCredentialReport", "iam:GetCredentialReport")

# Per offending user: the exemption tag, then per action its call and its re-read (on user/*).
USER_ACTIONS: tuple[str, ...] = (
    "iam:DeleteLoginProfile",  # unused console password, or console_mfa's delete-login-profile choice
    "iam:GetLoginProfile",  # re-read after deleting it
    "iam:ListAccessKeys",  # the report has no key ids: find the key by its creation time, re-read its status
    "iam:ListAttachedUserPolicies",  # re-read after attaching the deny-unless-MFA policy
    "iam:ListMFADevices",  # enrolled since the report? then nothing to enforce
    "iam:ListUserTags",  # the exemption tag, offenders only
    "iam:UpdateAccessKey",  # set an old or unused key Inactive
)

# Attaching is limited (by an iam:PolicyARN condition in the role) to the stack's deny-unless-MFA policy.
ATTACH_ACTIONS: tuple[str, ...] = ("iam:AttachUserPolicy",)

IAM_ACTIONS: tuple[str, ...] = tuple(sorted(REPORT_ACTIONS + USER_ACTIONS + ATTACH_ACTIONS))

# The coverage self-check (sweep/coverage.py): trails (any region and account: a multi-region or organization
# trail may live elsewhere), the stack's own EventBridge rules and dead-letter queues (named after the stack).
COVERAGE_ACTIONS: tuple[str, ...] = (
    "cloudtrail:DescribeTrails",
    "cloudtrail:GetEventSelectors",
    "cloudtrail:GetTrailStatus",
    "events:DescribeRule",
    "events:ListTargetsByRule",
    "sqs:GetQueueAttributes",
)

# What is already exposed (sweep/exposure.py), read only: buckets (their policy, ACL and public access blocks, and
# the account's block), security groups, instances, internet-facing load balancers with their targets, the targets'
# Auto Scaling groups and the load balancers' WAF web ACL.
EXPOSURE_ACTIONS: tuple[str, ...] = (
    "autoscaling:DescribeAutoScalingInstances",
    "ec2:DescribeInstances",
    "ec2:DescribeSecurityGroups",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetHealth",
    "s3:GetAccountPublicAccessBlock",
    "s3:GetBucketAcl",
    "s3:GetBucketPolicy",
    "s3:GetBucketPublicAccessBlock",
    "s3:ListAllMyBuckets",
    "wafv2:GetWebACLForResource",
)

# The IAM action of an operation whose name differs from it ((service, operation) -> action): botocore names
# calls by operation, IAM by action.
ACTION_OF_OPERATION: dict[tuple[str, str], str] = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}

# What the role grants through the action -> resource table (remediator/permissions.py).
ROLE_ACTIONS: tuple[str, ...] = tuple(sorted(IAM_ACTIONS + COVERAGE_ACTIONS + EXPOSURE_ACTIONS))

# The findings table: open warnings through the open-by-rule index, the action budget (Query), warnings
# opened (PutItem, GetItem when an event function opened the same one first), outcomes (UpdateItem).
STORE_ACTIONS: tuple[str, ...] = ("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:UpdateItem")

# One message per action and one summary per run, on the findings topic.
PUBLISH_ACTIONS: tuple[str, ...] = ("sns:Publish",)

CALLED_ACTIONS: frozenset[str] = frozenset(ROLE_ACTIONS + STORE_ACTIONS + PUBLISH_ACTIONS)
