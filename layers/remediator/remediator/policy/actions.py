"""IAM wildcard matching and the catalogue of known privilege-escalation paths (data, not code).

IAM matches actions case-insensitively with `*` (any run) and `?` (one character); resource ARNs use the same
wildcards. Besides matching a value we need two questions about patterns: can two patterns match a common
string (a Deny that might touch an Allow), and does one pattern cover another (a Deny that removes it all).
"""

from __future__ import annotations

import re
from functools import lru_cache

WILDCARDS = frozenset("*?")


def has_wildcard(text: str) -> bool:
    return "*" in text or "?" in text


# Patterns with more stars than this are matched segment by segment, never by a backtracking regex: a value
# such as `*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b` in a policy would otherwise take minutes, and an analysis that
# times out reports nothing. Up to two stars the regex is safe on the short strings it is matched against.
_REGEX_STARS = 2
# globs_intersect needs a search only when one pattern has no star; it visits at most len(first) * len(second)
# states, and past this budget answers "they may intersect" (a Deny whose reach we cannot settle then takes
# nothing away). 300,000 keeps every comparison with a short resource-type pattern exact.
_INTERSECT_BUDGET = 300_000


@lru_cache(maxsize=8192)
def _glob_regex(patterns: tuple[str, ...]) -> re.Pattern[str]:
    """One case-insensitive regex for a whole list of glob patterns (fast on AWS managed policies)."""
    parts = []
    for pattern in patterns:
        parts.append("".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern))
    return re.compile("(?:" + "|".join(parts) + r")\Z", re.IGNORECASE | re.DOTALL)


@lru_cache(maxsize=4096)
def _segment_regex(segment: str) -> re.Pattern[str]:
    return re.compile("".join("." if c == "?" else re.escape(c) for c in segment), re.DOTALL)


def _segment_at(segment: str, text: str, at: int) -> bool:
    if "?" not in segment:
        return text.startswith(segment, at)
    return _segment_regex(segment).match(text, at, at + len(segment)) is not None


def _segment_find(segment: str, text: str, start: int, end: int) -> int:
    if "?" not in segment:
        return text.find(segment, start, end)
    found = _segment_regex(segment).search(text, start, end)
    return -1 if found is None else found.start()


def _wildcard_match(pattern: str, text: str) -> bool:
    """Glob match without backtracking: the parts between stars are placed leftmost, which is optimal, so the
    cost is one scan per part (both arguments lower-case)."""
    parts = pattern.split("*")
    if len(parts) == 1:
        return len(pattern) == len(text) and _segment_at(pattern, text, 0)
    first, middle, last = parts[0], parts[1:-1], parts[-1]
    end = len(text) - len(last)
    if end < len(first) or not _segment_at(first, text, 0) or not _segment_at(last, text, end):
        return False
    position = len(first)
    for segment in middle:
        if segment:
            found = _segment_find(segment, text, position, end)
            if found < 0:
                return False
            position = found + len(segment)
    return True


def glob_match(pattern: str, value: str, fold_case: bool = True) -> bool:
    """Does the IAM wildcard `pattern` match the literal `value` (case-insensitive unless fold_case=False)?"""
    if fold_case:
        pattern, value = pattern.lower(), value.lower()
    if not has_wildcard(pattern):
        return pattern == value
    return _wildcard_match(pattern, value)


class PatternSet:
    """Lower-case glob patterns split into exact names (a set lookup), simple wildcards (one regex) and
    many-star wildcards (matched part by part)."""

    __slots__ = ("exact", "many_stars", "regex")

    def __init__(self, patterns: tuple[str, ...]) -> None:
        lowered = tuple(p.lower() for p in patterns)
        self.exact = frozenset(p for p in lowered if not has_wildcard(p))
        wild = sorted({p for p in lowered if has_wildcard(p)})
        simple = tuple(p for p in wild if p.count("*") <= _REGEX_STARS)
        self.many_stars = tuple(p for p in wild if p.count("*") > _REGEX_STARS)
        self.regex = _glob_regex(simple) if simple else None

    def matches(self, value: str) -> bool:
        value = value.lower()
        if value in self.exact or (self.regex is not None and self.regex.match(value) is not None):
            return True
        return any(_wildcard_match(pattern, value) for pattern in self.many_stars)


def _collapse_stars(text: str) -> str:
    while "**" in text:
        text = text.replace("**", "*")
    return text


def _compatible(first: str, second: str) -> bool:
    """Two star-free texts of one length that some string matches (`?` matches any character)."""
    return all(x == y or x == "?" or y == "?" for x, y in zip(first, second, strict=True))


@lru_cache(maxsize=65536)
def globs_intersect(first: str, second: str) -> bool:
    """Can both wildcard patterns match one common string? (Exact.)

    When both hold a star, they intersect exactly when their texts before the first star agree as far as both
    go, and so do their texts after the last star: the string made of the longer prefix, every middle part of
    one, every middle part of the other and the longer suffix matches both. Otherwise dynamic programming."""
    a, b = _collapse_stars(first.lower()), _collapse_stars(second.lower())
    if "*" in a and "*" in b:
        prefix_a, prefix_b = a.split("*", 1)[0], b.split("*", 1)[0]
        suffix_a, suffix_b = a.rsplit("*", 1)[1], b.rsplit("*", 1)[1]
        n, m = min(len(prefix_a), len(prefix_b)), min(len(suffix_a), len(suffix_b))
        return _compatible(prefix_a[:n], prefix_b[:n]) and _compatible(
            suffix_a[len(suffix_a) - m :], suffix_b[len(suffix_b) - m :]
        )
    if "*" not in a and "*" not in b:
        return len(a) == len(b) and _compatible(a, b)
    if (len(a) + 1) * (len(b) + 1) > _INTERSECT_BUDGET:
        return True
    seen: set[tuple[int, int]] = set()
    stack = [(0, 0)]
    while stack:
        i, j = stack.pop()
        if (i, j) in seen:
            continue
        seen.add((i, j))
        if i == len(a) and j == len(b):
            return True
        if i < len(a) and a[i] == "*":
            stack.append((i + 1, j))
            if j < len(b):
                stack.append((i, j + 1))
            continue
        if j < len(b) and b[j] == "*":
            stack.append((i, j + 1))
            if i < len(a):
                stack.append((i + 1, j))
            continue
        if i < len(a) and j < len(b) and (a[i] == b[j] or a[i] == "?" or b[j] == "?"):
            stack.append((i + 1, j + 1))
    return False


def glob_covers(outer: str, inner: str, fold_case: bool = True) -> bool:
    """Does `outer` match everything `inner` matches? Approximated by matching inner's text literally.
    fold_case=False for resource names, which IAM compares case-sensitively."""
    if outer == "*":
        return True
    if fold_case:
        return _wildcard_match(outer.lower(), inner.lower())
    return _wildcard_match(outer, inner)


class EscalationPath:
    """Actions that together let a principal gain permissions it was not given (all must be allowed)."""

    __slots__ = ("actions", "name", "source")

    def __init__(self, actions: tuple[str, ...], source: str) -> None:
        self.actions = actions
        self.source = source  # where the path is documented
        self.name = "+".join(actions)

    def __repr__(self) -> str:
        return f"EscalationPath({self.name!r})"


_CS = "cloudsplaining PRIVILEGE_ESCALATION_METHODS"
_RH = "Rhino Security Labs"
_IV = "BishopFox iam-vulnerable"
_PR = "prowler privilege_escalation.py"
_PF = "pathfinding.cloud via cloudsplaining"
_AWS = "AWS documentation of the feature (role use, permissions boundaries, ABAC tags, federation)"
_SSO = "AWS IAM Identity Center User Guide, permission sets and account assignments"


def _path(source: str, *actions: str) -> EscalationPath:
    return EscalationPath(tuple(actions), source)


# Combinations that a single listed action already covers (e.g. CreateAccessKey+DeleteAccessKey) are left out.
ESCALATION_PATHS: tuple[EscalationPath, ...] = (
    # Permissions on other users
    _path(_RH, "iam:CreateAccessKey"),
    _path(_RH, "iam:CreateLoginProfile"),
    _path(_RH, "iam:UpdateLoginProfile"),
    _path(_RH, "iam:AddUserToGroup"),
    # A role assumable through a wildcard: any role whose trust lets this account in (cloudsplaining counts it)
    _path(_CS, "sts:AssumeRole"),
    # Permissions on policies
    _path(_RH, "iam:CreatePolicyVersion"),
    _path(_RH, "iam:SetDefaultPolicyVersion"),
    _path(_RH, "iam:AttachUserPolicy"),
    _path(_RH, "iam:AttachGroupPolicy"),
    _path(_RH, "iam:AttachRolePolicy"),
    _path(_RH, "iam:PutUserPolicy"),
    _path(_RH, "iam:PutGroupPolicy"),
    _path(_RH, "iam:PutRolePolicy"),
    # Trust updates (cloudsplaining counts the update alone; the role is then assumable by the updater)
    _path(_CS, "iam:UpdateAssumeRolePolicy"),
    # Permissions boundaries: removing or replacing one lifts the ceiling on what the principal's policies grant
    _path(_AWS, "iam:DeleteUserPermissionsBoundary"),
    _path(_AWS, "iam:DeleteRolePermissionsBoundary"),
    _path(_AWS, "iam:PutUserPermissionsBoundary"),
    _path(_AWS, "iam:PutRolePermissionsBoundary"),
    # Tags gate access (aws:PrincipalTag / iam:ResourceTag conditions) and exemptions: changing them unlocks both
    _path(_AWS, "iam:TagUser"),
    _path(_AWS, "iam:UntagUser"),
    _path(_AWS, "iam:TagRole"),
    _path(_AWS, "iam:UntagRole"),
    # Identity providers: whoever controls what a trusted provider accepts signs in to the roles that trust it
    _path(_AWS, "iam:UpdateSAMLProvider"),
    _path(_AWS, "iam:UpdateOpenIDConnectProviderThumbprint"),
    _path(_AWS, "iam:AddClientIDToOpenIDConnectProvider"),
    # Identity Center: assign oneself a permission set, or change what an assigned set grants and provision it
    _path(_SSO, "sso:CreateAccountAssignment"),
    _path(_SSO, "sso:AttachManagedPolicyToPermissionSet", "sso:ProvisionPermissionSet"),
    _path(_SSO, "sso:AttachCustomerManagedPolicyReferenceToPermissionSet", "sso:ProvisionPermissionSet"),
    _path(_SSO, "sso:PutInlinePolicyToPermissionSet", "sso:ProvisionPermissionSet"),
    _path(_SSO, "sso:DeletePermissionsBoundaryFromPermissionSet", "sso:ProvisionPermissionSet"),
    _path(_SSO, "sso:PutPermissionsBoundaryToPermissionSet", "sso:ProvisionPermissionSet"),
    # iam:PassRole to a compute or stack service
    _path(_RH, "iam:PassRole", "ec2:RunInstances"),
    _path(_PF, "iam:PassRole", "ec2:RequestSpotInstances"),
    _path(_RH, "iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"),
    _path(_RH, "iam:PassRole", "lambda:CreateFunction", "lambda:CreateEventSourceMapping"),
    _path(_PF, "iam:PassRole", "lambda:CreateFunction", "lambda:AddPermission"),
    _path(_RH, "iam:PassRole", "glue:CreateDevEndpoint"),
    _path(_PF, "iam:PassRole", "glue:CreateJob", "glue:StartJobRun"),
    _path(_PF, "iam:PassRole", "glue:CreateJob", "glue:CreateTrigger"),
    _path(_PF, "iam:PassRole", "glue:UpdateJob", "glue:StartJobRun"),
    _path(_PF, "iam:PassRole", "glue:UpdateJob", "glue:CreateTrigger"),
    _path(_RH, "iam:PassRole", "cloudformation:CreateStack"),
    _path(_PF, "iam:PassRole", "cloudformation:CreateStackSet", "cloudformation:CreateStackInstances"),
    _path(_PF, "iam:PassRole", "cloudformation:UpdateStackSet"),
    _path(_RH, "iam:PassRole", "datapipeline:CreatePipeline"),
    _path(_AWS, "iam:PassRole", "states:CreateStateMachine", "states:StartExecution"),
    _path(_AWS, "iam:PassRole", "states:UpdateStateMachine", "states:StartExecution"),
    _path(_AWS, "iam:PassRole", "elasticmapreduce:RunJobFlow"),
    _path(_RH, "iam:PassRole", "codestar:CreateProject"),
    _path(_IV, "iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuild"),
    _path(_PF, "iam:PassRole", "codebuild:CreateProject", "codebuild:StartBuildBatch"),
    _path(_PR, "iam:PassRole", "autoscaling:CreateAutoScalingGroup", "autoscaling:CreateLaunchConfiguration"),
    _path(_PR, "iam:PassRole", "autoscaling:UpdateAutoScalingGroup", "autoscaling:CreateLaunchConfiguration"),
    _path(_PF, "iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:CreateService"),
    _path(_PR, "iam:PassRole", "ecs:RunTask"),
    _path(_PF, "iam:PassRole", "ecs:RegisterTaskDefinition", "ecs:StartTask"),
    _path(
        _PR,
        "iam:PassRole",
        "ecs:StartTask",
        "ecs:RegisterContainerInstance",
        "ecs:DeregisterContainerInstance",
    ),
    _path(_RH, "iam:PassRole", "sagemaker:CreateNotebookInstance"),
    _path(_IV, "iam:PassRole", "sagemaker:CreateTrainingJob"),
    _path(_IV, "iam:PassRole", "sagemaker:CreateProcessingJob"),
    _path(_PF, "iam:PassRole", "apprunner:CreateService"),
    _path(
        _PR,
        "iam:PassRole",
        "bedrock-agentcore:CreateCodeInterpreter",
        "bedrock-agentcore:InvokeCodeInterpreter",
    ),
    # Existing resources that run with a role: change what they run, or get into them
    _path(_RH, "lambda:UpdateFunctionCode"),
    _path(_PR, "lambda:UpdateFunctionConfiguration"),
    _path(_RH, "glue:UpdateDevEndpoint"),
    _path(_IV, "cloudformation:UpdateStack"),
    _path(_PF, "cloudformation:CreateChangeSet", "cloudformation:ExecuteChangeSet"),
    _path(_PF, "ec2:ModifyInstanceAttribute", "ec2:StopInstances", "ec2:StartInstances"),
    _path(_PF, "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate"),
    _path(_IV, "ec2-instance-connect:SendSSHPublicKey"),
    _path(_PF, "ecs:ExecuteCommand"),
    _path(_IV, "sagemaker:CreatePresignedNotebookInstanceUrl"),
    _path(
        _PF,
        "sagemaker:CreateNotebookInstanceLifecycleConfig",
        "sagemaker:StopNotebookInstance",
        "sagemaker:UpdateNotebookInstance",
        "sagemaker:StartNotebookInstance",
    ),
    _path(_IV, "ssm:SendCommand"),
    _path(_IV, "ssm:StartSession"),
    _path(_AWS, "ssm:CreateAssociation"),
    _path(_PR, "codebuild:StartBuild"),
    _path(_PR, "codebuild:StartBuildBatch"),
    _path(_PR, "apprunner:UpdateService"),
    _path(_PF, "bedrock-agentcore:StartCodeInterpreterSession", "bedrock-agentcore:InvokeCodeInterpreter"),
    _path(_PR, "bedrock-agentcore:StartBrowserSession", "bedrock-agentcore:ConnectBrowserAutomationStream"),
    _path(_PR, "bedrock-agentcore:InvokeAgentRuntimeCommand"),
)

# What an action must be allowed on for the path to work. Actions not listed act on any resource.
#   other_user: users other than the caller (a self-service `user/${aws:username}` does not count)
#   user/group/role: any such principal, the caller included (attaching a policy to oneself escalates)
#   customer_policy: customer managed policies (AWS managed ones, account `aws`, cannot be edited)
#   passable_role: roles chosen by the caller: PassRole on one named role is not an escalation
#   assumable_role: the same for sts:AssumeRole: one named role is a deliberate grant, a wildcard is not
ACTION_TARGETS: dict[str, str] = {
    "iam:createaccesskey": "other_user",
    "iam:createloginprofile": "other_user",
    "iam:updateloginprofile": "other_user",
    "iam:attachuserpolicy": "user",
    "iam:putuserpolicy": "user",
    "iam:addusertogroup": "group",
    "iam:attachgrouppolicy": "group",
    "iam:putgrouppolicy": "group",
    "iam:attachrolepolicy": "role",
    "iam:putrolepolicy": "role",
    "iam:updateassumerolepolicy": "role",
    "iam:createpolicyversion": "customer_policy",
    "iam:setdefaultpolicyversion": "customer_policy",
    "iam:passrole": "passable_role",
    "sts:assumerole": "assumable_role",
    "iam:deleteuserpermissionsboundary": "user",
    "iam:putuserpermissionsboundary": "user",
    "iam:deleterolepermissionsboundary": "role",
    "iam:putrolepermissionsboundary": "role",
    "iam:taguser": "user",
    "iam:untaguser": "user",
    "iam:tagrole": "role",
    "iam:untagrole": "role",
    "iam:updatesamlprovider": "saml_provider",
    "iam:updateopenidconnectproviderthumbprint": "oidc_provider",
    "iam:addclientidtoopenidconnectprovider": "oidc_provider",
}

# The IAM writes with which a principal grants itself anything, and the kind of resource each acts on. A grant is
# admin-equivalent when, after Deny statements, every one of them is still allowed on every resource of its kind
# except at most a few named ones: then nothing else matters, since the holder can write its own permissions.
# (Every action on every resource except read-only ones includes all of them.) Read-only IAM actions, PassRole or
# CreateUser are not needed for that, so a Deny of those leaves the grant admin-equivalent.
ADMIN_IAM_ACTIONS: dict[str, str] = {
    "iam:attachuserpolicy": "user",
    "iam:putuserpolicy": "user",
    "iam:attachgrouppolicy": "group",
    "iam:putgrouppolicy": "group",
    "iam:addusertogroup": "group",
    "iam:attachrolepolicy": "role",
    "iam:putrolepolicy": "role",
    "iam:updateassumerolepolicy": "role",
    "iam:createpolicyversion": "customer_policy",
    "iam:setdefaultpolicyversion": "customer_policy",
}

# The resource type each target kind lives in, as an ARN pattern (partition and account already normalised).
TARGET_ARNS: dict[str, str] = {
    "other_user": "arn:aws:iam::*:user/*",
    "user": "arn:aws:iam::*:user/*",
    "group": "arn:aws:iam::*:group/*",
    "role": "arn:aws:iam::*:role/*",
    "customer_policy": "arn:aws:iam::*:policy/*",
    "passable_role": "arn:aws:iam::*:role/*",
    "assumable_role": "arn:aws:iam::*:role/*",
    "saml_provider": "arn:aws:iam::*:saml-provider/*",
    "oidc_provider": "arn:aws:iam::*:oidc-provider/*",
}

# Service principals a passed role goes to, by the service of the path's other actions (iam:PassedToService).
PASSROLE_SERVICES: dict[str, tuple[str, ...]] = {
    "ec2": ("ec2.amazonaws.com",),
    "autoscaling": ("ec2.amazonaws.com", "autoscaling.amazonaws.com"),
    "lambda": ("lambda.amazonaws.com",),
    "glue": ("glue.amazonaws.com",),
    "cloudformation": ("cloudformation.amazonaws.com",),
    "datapipeline": ("datapipeline.amazonaws.com", "elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"),
    "codestar": ("codestar.amazonaws.com",),
    "codebuild": ("codebuild.amazonaws.com",),
    "ecs": ("ecs-tasks.amazonaws.com", "ecs.amazonaws.com", "ec2.amazonaws.com"),
    "sagemaker": ("sagemaker.amazonaws.com",),
    "apprunner": ("tasks.apprunner.amazonaws.com", "build.apprunner.amazonaws.com"),
    "bedrock-agentcore": ("bedrock-agentcore.amazonaws.com",),
    "states": ("states.amazonaws.com",),
    "elasticmapreduce": ("elasticmapreduce.amazonaws.com", "ec2.amazonaws.com"),
}

ASSUME_ACTIONS: tuple[str, ...] = (
    "sts:assumerole",
    "sts:assumerolewithsaml",
    "sts:assumerolewithwebidentity",
)


def passrole_services(path: EscalationPath) -> tuple[str, ...]:
    """The services a PassRole path hands the role to; () when the path does not pass a role."""
    if "iam:PassRole" not in path.actions:
        return ()
    for action in path.actions:
        service = action.partition(":")[0].lower()
        if service != "iam" and service in PASSROLE_SERVICES:
            return PASSROLE_SERVICES[service]
    return ()
