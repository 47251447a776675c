"""The narrowest resource each AWS action a remediator may hold is granted on, as data.

A rule declares the actions it needs (RuleMeta.remediation_actions, state_actions); this table says what
each one is scoped to. scripts/generate.py writes every function's role from the two, and tests/template
checks the translated template against them. An action missing here cannot be granted: add it with its
resource type (Service Authorization Reference, the "Resource types" column of the action).
"""

from __future__ import annotations

from typing import Final

# What each resource kind's statement is granted on, as CloudFormation writes it (`!Sub`); "*" where the
# service defines no resource type for the action.
RESOURCE_ARNS: Final[dict[str, str]] = {
    "user": "arn:${AWS::Partition}:iam::${AWS::AccountId}:user/*",
    "group": "arn:${AWS::Partition}:iam::${AWS::AccountId}:group/*",
    "role": "arn:${AWS::Partition}:iam::${AWS::AccountId}:role/*",
    "policy": "arn:${AWS::Partition}:iam::${AWS::AccountId}:policy/*",
    "account": "*",
    # Roles Anywhere is regional and its events reach the hub from every region: any region, this account.
    "trust_anchor": "arn:${AWS::Partition}:rolesanywhere:*:${AWS::AccountId}:trust-anchor/*",
    "rolesanywhere_profile": "arn:${AWS::Partition}:rolesanywhere:*:${AWS::AccountId}:profile/*",
    # Identity Center ARNs name no account or region. Each action granted here is authorised against the
    # instance, the permission set and (assignments, provisioning) the target account together, all of them
    # `arn:aws:sso:::` ARNs; these actions act on no other sso resource type, so this grants what the list would.
    "identity_center": "arn:${AWS::Partition}:sso:::*",
}

ACTION_RESOURCE: Final[dict[str, str]] = {
    **dict.fromkeys((
        "iam:AttachUserPolicy", "iam:DeleteLoginProfile", "iam:DeleteUserPolicy", "iam:DetachUserPolicy",
        "iam:GetLoginProfile", "iam:GetUser", "iam:GetUserPolicy", "iam:ListAccessKeys",
        "iam:ListAttachedUserPolicies", "iam:ListGroupsForUser", "iam:ListMFADevices", "iam:ListUserPolicies",
        "iam:ListUserTags", "iam:UpdateAccessKey",
        "iam:ListServiceSpecificCredentials", "iam:ListSigningCertificates", "iam:ListSSHPublicKeys",
        "iam:PutUserPolicy", "iam:UpdateServiceSpecificCredential", "iam:UpdateSigningCertificate",
        "iam:UpdateSSHPublicKey",
    ), "user"),
    **dict.fromkeys((
        "iam:DeleteGroupPolicy", "iam:DetachGroupPolicy", "iam:GetGroup", "iam:GetGroupPolicy",
        "iam:ListAttachedGroupPolicies", "iam:ListGroupPolicies", "iam:RemoveUserFromGroup",
    ), "group"),
    **dict.fromkeys((
        "iam:DeleteRolePolicy", "iam:DetachRolePolicy", "iam:GetRole", "iam:GetRolePolicy",
        "iam:ListAttachedRolePolicies", "iam:ListRolePolicies", "iam:ListRoleTags", "iam:UpdateAssumeRolePolicy",
    ), "role"),
    **dict.fromkeys((
        "iam:DeletePolicyVersion", "iam:GetPolicy", "iam:GetPolicyVersion", "iam:ListPolicyVersions",
        "iam:SetDefaultPolicyVersion",
    ), "policy"),
    **dict.fromkeys(("rolesanywhere:DisableTrustAnchor", "rolesanywhere:GetTrustAnchor"), "trust_anchor"),
    **dict.fromkeys(("rolesanywhere:DisableProfile", "rolesanywhere:GetProfile"), "rolesanywhere_profile"),
    **dict.fromkeys((
        "sso:DeleteAccountAssignment", "sso:DeleteInlinePolicyFromPermissionSet",
        "sso:DescribeAccountAssignmentDeletionStatus", "sso:DetachCustomerManagedPolicyReferenceFromPermissionSet",
        "sso:DetachManagedPolicyFromPermissionSet", "sso:GetInlinePolicyForPermissionSet",
        "sso:GetPermissionsBoundaryForPermissionSet", "sso:ListAccountAssignments",
        "sso:ListCustomerManagedPolicyReferencesInPermissionSet", "sso:ListManagedPoliciesInPermissionSet",
        "sso:ProvisionPermissionSet",
    ), "identity_center"),
    # The credential report is account-level: IAM defines no resource type for it (the sweep only).
    **dict.fromkeys(("iam:GenerateCredentialReport", "iam:GetCredentialReport"), "account"),
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


def resource_arn(action: str, *, partition: str = "${AWS::Partition}", region: str = "${AWS::Region}",
                 account: str = "${AWS::AccountId}") -> str:
    """The ARN pattern `action` is granted on, with the stack's pseudo parameters or the values given."""
    pattern = RESOURCE_ARNS[resource_kind(action)]
    for name, value in (("Partition", partition), ("Region", region), ("AccountId", account)):
        pattern = pattern.replace("${AWS::" + name + "}", value)
    return pattern
