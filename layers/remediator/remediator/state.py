"""Account state a decision needs (exemption tags, MFA devices, documents).

`LiveState` reads it from AWS; `AssumedState` is the dry run (docs/decisions.md): the entity exists, has
no exemption tag and no MFA device, and the reason says "assumed". A policy document is never
assumed: without an account it is unreadable, and the rule reports that instead of guessing.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

import boto3
from botocore.exceptions import ClientError

from remediator.aws import error_code
from remediator.config import EXEMPT_TAG

if TYPE_CHECKING:
    from mypy_boto3_iam import IAMClient

    from remediator.aws import AwsClients


DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation"})


class StateUnreadable(Exception):
    """AWS would not tell us something a decision needs: report it, never act on a guess."""


class AccountState(Protocol):
    live: bool

    def exemption_tag(self, kind: str, name: str) -> str | None:
        """The `remediator:exempt` tag's value on a user or role ("" counts as exempt), else None."""
        ...

    def mfa_devices(self, user: str) -> list[str]:
        """Serial numbers of the user's MFA devices (console_mfa: "lower severity when the user has MFA")."""
        ...

    def has_login_profile(self, user: str) -> bool:
        """Whether the user has a console password (MFA removed from such a user is high severity)."""
        ...

    def trust_policy(self, role: str) -> dict[str, Any]:
        """The role's current trust policy (role_trust, when the event does not carry a readable one)."""
        ...

    def policy_document(self, arn: str, version_id: str | None = None) -> dict[str, Any]:
        """A customer-managed policy's document: the given version, or the default one."""
        ...

    def policy_versions(self, arn: str) -> list[dict[str, Any]]:
        """The policy's versions (VersionId, IsDefaultVersion): is the previous default known?"""
        ...

    def inline_policy(self, kind: str, entity: str, name: str) -> dict[str, Any]:
        """An inline policy of a user, group or role."""
        ...

    def group_policies(self, group: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
        """What a group grants its members: attached policy ARNs and inline documents by name."""
        ...

    def principal_policies(self, kind: str, name: str) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
        """What a user or role holds: attached policy ARNs, inline documents by name, and (users) its groups."""
        ...

    def permissions_boundary(self, kind: str, name: str) -> str | None:
        """The ARN of a user's or role's permissions boundary, None when it has none."""
        ...

    def organization_id(self) -> str | None:
        """The account's own AWS Organization (its members are not outsiders), None outside an organization."""
        ...

    def trail_buckets(self, region: str | None) -> frozenset[str]:
        """The S3 buckets the account's trails deliver to, as seen from `region` and from our own region."""
        ...

    def permission_set(self, instance_arn: str, permission_set_arn: str, region: str | None) -> PermissionSetPolicies:
        """What an Identity Center permission set grants (identity_center), read in its instance's home region."""
        ...

    def permission_set_boundary(
        self, instance_arn: str, permission_set_arn: str, region: str | None
    ) -> dict[str, Any] | None:
        """The permission set's permissions boundary as Identity Center returns it, or None when it has none."""
        ...

    def instances(self, region: str | None, instance_ids: list[str]) -> list[dict[str, Any]]:
        """EC2 instances as DescribeInstances returns them (ec2_without_role: a profile from a launch template)."""

    def security_group_rule(self, rule_id: str, region: str | None) -> dict[str, Any]:
        """A security group rule as DescribeSecurityGroupRules returns it (is it ingress or egress?)."""

    def regional_read(self, service: str, region: str | None, what: str, call: Callable[[Any], Any]) -> Any:
        """`call(client)` on a regional service in the event's region (a resource policy, external_access);
        StateUnreadable when the resource is gone or the read is denied."""
        ...


@dataclass
class PermissionSetPolicies:
    """The policies of an Identity Center permission set: AWS and customer managed (name, path), inline."""

    managed_arns: list[str] = field(default_factory=list)
    customer_managed: list[tuple[str, str]] = field(default_factory=list)
    inline: Any = None  # the document as Identity Center returns it (JSON text), None when there is none


def _no_account(what: str) -> StateUnreadable:
    return StateUnreadable(f"{what} (dry run: no account to read it from)")


class AssumedState:
    """No account: assume no exemption tag (docs/decisions.md)."""

    live = False

    def exemption_tag(self, kind: str, name: str) -> str | None:
        return None

    def mfa_devices(self, user: str) -> list[str]:
        return []

    def has_login_profile(self, user: str) -> bool:
        """Assumed: the user has the console password the event is about (the case the rule guards)."""
        return True

    def trust_policy(self, role: str) -> dict[str, Any]:
        raise _no_account(f"the trust policy of role {role}")

    def policy_document(self, arn: str, version_id: str | None = None) -> dict[str, Any]:
        raise _no_account(f"version {version_id} of policy {arn}" if version_id else f"the default version of {arn}")

    def policy_versions(self, arn: str) -> list[dict[str, Any]]:
        raise _no_account(f"the versions of policy {arn}")

    def inline_policy(self, kind: str, entity: str, name: str) -> dict[str, Any]:
        raise _no_account(f"inline policy {name} of {kind} {entity}")

    def group_policies(self, group: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
        raise _no_account(f"the policies of group {group}")

    def principal_policies(self, kind: str, name: str) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
        raise _no_account(f"the policies of {kind} {name}")

    def permissions_boundary(self, kind: str, name: str) -> str | None:
        raise _no_account(f"the permissions boundary of {kind} {name}")

    def organization_id(self) -> str | None:
        raise _no_account("the account's organization")

    def trail_buckets(self, region: str | None) -> frozenset[str]:
        raise _no_account("the account's trails")

    def permission_set(self, instance_arn: str, permission_set_arn: str, region: str | None) -> PermissionSetPolicies:
        raise _no_account(f"the policies of permission set {permission_set_arn}")

    def permission_set_boundary(
        self, instance_arn: str, permission_set_arn: str, region: str | None
    ) -> dict[str, Any] | None:
        raise _no_account(f"the permissions boundary of permission set {permission_set_arn}")

    def instances(self, region: str | None, instance_ids: list[str]) -> list[dict[str, Any]]:
        raise _no_account(f"instances {', '.join(instance_ids)}")

    def security_group_rule(self, rule_id: str, region: str | None) -> dict[str, Any]:
        raise _no_account(f"security group rule {rule_id}")

    def regional_read(self, service: str, region: str | None, what: str, call: Callable[[Any], Any]) -> Any:
        raise _no_account(what)


class LiveState:
    """Reads state through an IAM client; each answer is cached for the event being handled."""

    live = True

    def __init__(
        self,
        iam: IAMClient,
        aws: AwsClients | None = None,
        organization: Callable[[], str | None] | None = None,
        regional: Callable[[str, str | None], Any] | None = None,
    ) -> None:
        self._iam = iam
        self._aws = aws  # other services' state (the account's trails); None: IAM only
        self._organization = organization
        # Identity Center lives in one home region: its client is made for the event's region.
        self._regional = regional or (aws.regional if aws is not None else _default_client)
        self._tags: dict[tuple[str, str], str | None] = {}
        self._mfa: dict[str, list[str]] = {}
        self._profiles: dict[str, bool] = {}

    def organization_id(self) -> str | None:
        if self._organization is None:
            raise StateUnreadable("the account's organization (no Organizations client)")
        organization: str | None = _read("the account's organization", self._organization)
        return organization

    def exemption_tag(self, kind: str, name: str) -> str | None:
        if (kind, name) not in self._tags:
            self._tags[kind, name] = self._read_exemption_tag(kind, name)
        return self._tags[kind, name]

    def _read_exemption_tag(self, kind: str, name: str) -> str | None:
        try:
            if kind == "user":
                tags = self._iam.list_user_tags(UserName=name)["Tags"]
            elif kind == "role":
                tags = self._iam.list_role_tags(RoleName=name)["Tags"]
            else:
                return None
        except ClientError as error:
            _unreadable_or_empty(error, f"the tags of {kind} {name}")  # gone: no tag
            return None
        return next((tag["Value"] for tag in tags if tag["Key"] == EXEMPT_TAG), None)

    def mfa_devices(self, user: str) -> list[str]:
        if user not in self._mfa:
            try:
                devices = self._iam.list_mfa_devices(UserName=user)["MFADevices"]
            except ClientError as error:
                self._mfa[user] = _unreadable_or_empty(error, f"the MFA devices of user {user}")
            else:
                self._mfa[user] = [device["SerialNumber"] for device in devices]
        return self._mfa[user]

    def has_login_profile(self, user: str) -> bool:
        if user not in self._profiles:
            try:
                self._iam.get_login_profile(UserName=user)
            except ClientError as error:
                _unreadable_or_empty(error, f"the login profile of user {user}")
                self._profiles[user] = False
            else:
                self._profiles[user] = True
        return self._profiles[user]

    def trust_policy(self, role: str) -> dict[str, Any]:
        document: dict[str, Any] = _read(
            f"the trust policy of role {role}",
            lambda: self._iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"],
        )
        return document

    def policy_document(self, arn: str, version_id: str | None = None) -> dict[str, Any]:
        what = f"version {version_id} of policy {arn}" if version_id else f"the default version of {arn}"

        def read() -> Any:
            version = version_id or self._iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
            return self._iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]["Document"]

        document: dict[str, Any] = _read(what, read)
        return document

    def policy_versions(self, arn: str) -> list[dict[str, Any]]:
        versions: list[dict[str, Any]] = _read(
            f"the versions of policy {arn}", lambda: self._iam.list_policy_versions(PolicyArn=arn)["Versions"]
        )
        return versions

    def inline_policy(self, kind: str, entity: str, name: str) -> dict[str, Any]:
        getters: dict[str, Callable[..., Any]] = {
            "user": self._iam.get_user_policy,
            "group": self._iam.get_group_policy,
            "role": self._iam.get_role_policy,
        }
        key = {f"{kind.title()}Name": entity, "PolicyName": name}
        document: dict[str, Any] = _read(
            f"inline policy {name} of {kind} {entity}", lambda: getters[kind](**key)["PolicyDocument"]
        )
        return document

    def group_policies(self, group: str) -> tuple[list[str], dict[str, dict[str, Any]]]:
        def read() -> tuple[list[str], dict[str, Any]]:
            attached = [
                policy["PolicyArn"]
                for page in self._iam.get_paginator("list_attached_group_policies").paginate(GroupName=group)
                for policy in page["AttachedPolicies"]
            ]
            names = [
                name
                for page in self._iam.get_paginator("list_group_policies").paginate(GroupName=group)
                for name in page["PolicyNames"]
            ]
            inline = {
                name: self._iam.get_group_policy(GroupName=group, PolicyName=name)["PolicyDocument"] for name in names
            }
            return attached, inline

        policies: tuple[list[str], dict[str, dict[str, Any]]] = _read(f"the policies of group {group}", read)
        return policies

    def principal_policies(self, kind: str, name: str) -> tuple[list[str], dict[str, dict[str, Any]], list[str]]:
        policies: tuple[list[str], dict[str, dict[str, Any]], list[str]] = _read(
            f"the policies of {kind} {name}", lambda: self._policies_of("user" if kind == "user" else "role", name)
        )
        return policies

    def _policies_of(self, noun: str, name: str) -> tuple[list[str], dict[str, Any], list[str]]:
        """A user's or a role's attached and inline policies (and a user's groups): the same calls, named per noun."""
        iam: Any = self._iam
        entity = {f"{noun.title()}Name": name}
        attached = [
            policy["PolicyArn"]
            for page in iam.get_paginator(f"list_attached_{noun}_policies").paginate(**entity)
            for policy in page["AttachedPolicies"]
        ]
        inline = {
            policy: getattr(iam, f"get_{noun}_policy")(**entity, PolicyName=policy)["PolicyDocument"]
            for page in iam.get_paginator(f"list_{noun}_policies").paginate(**entity)
            for policy in page["PolicyNames"]
        }
        groups = (
            [
                group["GroupName"]
                for page in iam.get_paginator("list_groups_for_user").paginate(UserName=name)
                for group in page["Groups"]
            ]
            if noun == "user"
            else []
        )
        return attached, inline, groups

    def permissions_boundary(self, kind: str, name: str) -> str | None:
        def read() -> str | None:
            if kind == "user":
                entity: Any = self._iam.get_user(UserName=name)["User"]
            else:
                entity = self._iam.get_role(RoleName=name)["Role"]
            boundary = entity.get("PermissionsBoundary") or {}
            arn = boundary.get("PermissionsBoundaryArn")
            return arn if isinstance(arn, str) else None

        boundary: str | None = _read(f"the permissions boundary of {kind} {name}", read)
        return boundary

    def regional_read(self, service: str, region: str | None, what: str, call: Callable[[Any], Any]) -> Any:
        return _read(what, lambda: call(self._regional(service, region)))

    def trail_buckets(self, region: str | None) -> frozenset[str]:
        if self._aws is None:
            raise StateUnreadable("the account's trails (no CloudTrail client)")
        buckets: set[str] = set()
        for where in dict.fromkeys((region, None)):  # the event's region, then ours (shadow trails included)
            buckets |= _trail_buckets(self._aws, where)
        return frozenset(buckets)

    def permission_set(self, instance_arn: str, permission_set_arn: str, region: str | None) -> PermissionSetPolicies:
        sso = self._regional("sso-admin", region)
        key = {"InstanceArn": instance_arn, "PermissionSetArn": permission_set_arn}

        def read() -> PermissionSetPolicies:
            managed = [
                p["Arn"]
                for page in sso.get_paginator("list_managed_policies_in_permission_set").paginate(**key)
                for p in page["AttachedManagedPolicies"]
            ]
            customer = [
                (p["Name"], p.get("Path") or "/")
                for page in sso.get_paginator("list_customer_managed_policy_references_in_permission_set").paginate(
                    **key
                )
                for p in page["CustomerManagedPolicyReferences"]
            ]
            inline = sso.get_inline_policy_for_permission_set(**key).get("InlinePolicy") or None
            return PermissionSetPolicies(managed, customer, inline)

        policies: PermissionSetPolicies = _read(f"the policies of permission set {permission_set_arn}", read)
        return policies

    def permission_set_boundary(
        self, instance_arn: str, permission_set_arn: str, region: str | None
    ) -> dict[str, Any] | None:
        sso = self._regional("sso-admin", region)

        def read() -> dict[str, Any] | None:
            try:
                boundary: dict[str, Any] = sso.get_permissions_boundary_for_permission_set(
                    InstanceArn=instance_arn, PermissionSetArn=permission_set_arn
                )["PermissionsBoundary"]
            except ClientError as error:
                if error_code(error) == "ResourceNotFoundException":
                    return None  # no boundary
                raise
            return boundary

        found: dict[str, Any] | None = _read(f"the permissions boundary of permission set {permission_set_arn}", read)
        return found

    def instances(self, region: str | None, instance_ids: list[str]) -> list[dict[str, Any]]:
        ec2 = self._regional("ec2", region)

        def read() -> list[dict[str, Any]]:
            pages = ec2.get_paginator("describe_instances").paginate(InstanceIds=instance_ids)
            return [i for page in pages for reservation in page["Reservations"] for i in reservation["Instances"]]

        found: list[dict[str, Any]] = _read(f"instances {', '.join(instance_ids)}", read)
        return found

    def security_group_rule(self, rule_id: str, region: str | None) -> dict[str, Any]:
        ec2 = self._regional("ec2", region)
        rule: dict[str, Any] = _read(f"security group rule {rule_id}", lambda: _security_group_rule(ec2, rule_id))
        return rule


TRAILS_CACHE_SECONDS = 300


def _trail_buckets(aws: AwsClients, region: str | None) -> frozenset[str]:
    """DescribeTrails, kept for a few minutes per container (AwsClients lives as long as it): a trail created
    since is known soon after."""
    key = f"trail-buckets:{region}"
    cached = aws.cache.get(key)
    if cached and time.monotonic() - cached[0] < TRAILS_CACHE_SECONDS:
        buckets: frozenset[str] = cached[1]
        return buckets
    trails = _read(
        "the account's trails", lambda: aws.cloudtrail(region).describe_trails(includeShadowTrails=True)["trailList"]
    )
    buckets = frozenset(trail["S3BucketName"] for trail in trails if trail.get("S3BucketName"))
    aws.cache[key] = (time.monotonic(), buckets)
    return buckets


def _default_client(service: str, region: str | None) -> Any:
    return boto3.client(service, region_name=region)  # type: ignore[call-overload]


def _security_group_rule(ec2: Any, rule_id: str) -> dict[str, Any]:
    rules: list[dict[str, Any]] = ec2.describe_security_group_rules(SecurityGroupRuleIds=[rule_id])[
        "SecurityGroupRules"
    ]
    if not rules:
        raise StateUnreadable(f"security group rule {rule_id} (it no longer exists)")
    return rules[0]


def _read(what: str, call: Callable[[], Any]) -> Any:
    """A document read: gone or denied is StateUnreadable (report, do not act); anything else raises (retry)."""
    try:
        return call()
    except ClientError as error:
        code = error_code(error)
        if code in (
            "NoSuchEntity",
            "ResourceNotFoundException",
            "InvalidInstanceID.NotFound",
            "InvalidSecurityGroupRuleId.NotFound",
        ):
            raise StateUnreadable(f"{what} (it no longer exists)") from error
        if code in DENIED:
            raise StateUnreadable(f"{what} ({code})") from error
        raise


def _unreadable_or_empty(error: ClientError, what: str) -> list[str]:
    """NoSuchEntity means "none"; a denied read is StateUnreadable; anything else raises (retry)."""
    code = error_code(error)
    if code == "NoSuchEntity":
        return []
    if code in DENIED:
        raise StateUnreadable(f"{what} ({code})") from error
    raise error


# The account's organization, read once per container (it does not change under a running function).
_ORGANIZATIONS: dict[str, str | None] = {}


def own_organization(aws: Any) -> Callable[[], str | None]:
    """A reader of the account's organization id through `organizations:DescribeOrganization`, cached for the
    container's life; None when the account belongs to no organization."""

    def read() -> str | None:
        if "id" not in _ORGANIZATIONS:
            try:
                described = aws.client("organizations").describe_organization()
            except ClientError as error:
                if error_code(error) != "AWSOrganizationsNotInUseException":
                    raise
                _ORGANIZATIONS["id"] = None
            else:
                _ORGANIZATIONS["id"] = described["Organization"]["Id"]
        return _ORGANIZATIONS["id"]

    return read
