"""Enactors: make a moto account look as if an event's call had just succeeded.

moto emits no CloudTrail, so the demo (and the integration tests) first enact each event (create the
key, set the trust policy, attach the policy), rewrite the event with the ids moto made, and return an
observer that re-reads the resource so a report can show it before and after the handler acted.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

from remediator_dev.credential_enactors import ENACTORS as CREDENTIAL_ENACTORS

Observer = Callable[[], str]
Enactor = Callable[[Any, dict[str, Any]], Observer | None]


def _key_state(iam: Any, user: str, key_id: str) -> Observer:
    def observe() -> str:
        keys = iam.list_access_keys(UserName=user)["AccessKeyMetadata"]
        status = next((k["Status"] for k in keys if k["AccessKeyId"] == key_id), "deleted")
        return f"key {key_id} of {user}: {status}"

    return observe


def ensure_user(iam: Any, user: str) -> None:
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_user(UserName=user)


def enact_create_access_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Create the key the event reports, and point the event at moto's key id."""
    key = (detail.get("responseElements") or {}).get("accessKey") or {}
    user = (detail.get("requestParameters") or {}).get("userName") or key.get("userName")
    if not user:
        return None  # a root key: moto has no root credentials to create
    ensure_user(iam, user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    key["accessKeyId"] = key_id
    return _key_state(iam, user, key_id)


def enact_update_access_key(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Make an inactive key, then re-activate it as the event says."""
    params = detail.get("requestParameters") or {}
    user = params.get("userName")
    if not user:
        return None
    ensure_user(iam, user)
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    iam.update_access_key(UserName=user, AccessKeyId=key_id, Status=params.get("status", "Active"))
    params["accessKeyId"] = key_id
    return _key_state(iam, user, key_id)


EC2_TRUST = json.dumps({"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]})
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
_ENTITY_KEYS = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def _ensure(iam: Any, kind: str, name: str) -> None:
    """The user, group or role an event acts on (a role trusting EC2, the harmless default)."""
    create = {"user": iam.create_user, "group": iam.create_group,
              "role": lambda **k: iam.create_role(**k, AssumeRolePolicyDocument=EC2_TRUST)}[kind]
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        create(**{_ENTITY_KEYS[kind]: name})


def _trust_state(iam: Any, role: str) -> Observer:
    def observe() -> str:
        document = iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]
        return f"trust policy of role {role}: {json.dumps(document, separators=(',', ':'))}"

    return observe


def enact_create_role(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Create the role with the trust policy the event carries."""
    params = detail.get("requestParameters") or {}
    role, document = params.get("roleName"), params.get("assumeRolePolicyDocument")
    if not role or not isinstance(document, str):
        return None
    iam.create_role(RoleName=role, AssumeRolePolicyDocument=document)
    return _trust_state(iam, role)


def enact_update_assume_role_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A role trusting EC2, then the trust policy the event sets."""
    params = detail.get("requestParameters") or {}
    role, document = params.get("roleName"), params.get("policyDocument")
    if not role or not isinstance(document, str):
        return None
    _ensure(iam, "role", role)
    iam.update_assume_role_policy(RoleName=role, PolicyDocument=document)
    return _trust_state(iam, role)


def _kind(event_name: str) -> str:
    return next(kind for kind in _ENTITY_KEYS if kind.title() in event_name)


def enact_attach_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Attach{User,Group,Role}Policy: the entity, then the attachment."""
    params = detail.get("requestParameters") or {}
    kind = _kind(str(detail.get("eventName")))
    name, arn = params.get(f"{kind}Name"), params.get("policyArn")
    if not name or not arn:
        return None
    _ensure(iam, kind, name)
    getattr(iam, f"attach_{kind}_policy")(**{_ENTITY_KEYS[kind]: name}, PolicyArn=arn)

    def observe() -> str:
        attached = getattr(iam, f"list_attached_{kind}_policies")(**{_ENTITY_KEYS[kind]: name})["AttachedPolicies"]
        return f"policies attached to {kind} {name}: {[policy['PolicyName'] for policy in attached]}"

    return observe


def enact_put_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Put{User,Group,Role}Policy: the entity, then the inline policy."""
    params = detail.get("requestParameters") or {}
    kind = _kind(str(detail.get("eventName")))
    name, policy, document = params.get(f"{kind}Name"), params.get("policyName"), params.get("policyDocument")
    if not name or not policy or not isinstance(document, str):
        return None
    _ensure(iam, kind, name)
    key = {_ENTITY_KEYS[kind]: name}
    getattr(iam, f"put_{kind}_policy")(**key, PolicyName=policy, PolicyDocument=document)

    def observe() -> str:
        return f"inline policies of {kind} {name}: {getattr(iam, f'list_{kind}_policies')(**key)['PolicyNames']}"

    return observe


def enact_create_policy_version(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A customer-managed policy with a harmless v1, then the event's version; ids rewritten to moto's."""
    params = detail.get("requestParameters") or {}
    arn, document = params.get("policyArn"), params.get("policyDocument")
    if not isinstance(arn, str) or not isinstance(document, str):
        return None
    name = arn.rsplit("/", 1)[-1]
    harmless = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}]})
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        arn = iam.create_policy(PolicyName=name, PolicyDocument=harmless)["Policy"]["Arn"]
    params["policyArn"] = arn
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=document,
                                        SetAsDefault=bool(params.get("setAsDefault")))["PolicyVersion"]
    response = detail.get("responseElements") or {}
    if isinstance(response.get("policyVersion"), dict):
        response["policyVersion"]["versionId"] = version["VersionId"]

    def observe() -> str:
        return f"default version of policy {name}: {iam.get_policy(PolicyArn=arn)['Policy']['DefaultVersionId']}"

    return observe


def enact_add_user_to_group(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The group (a new one is the account's admins group: AdministratorAccess attached), the user, the membership."""
    params = detail.get("requestParameters") or {}
    group, user = params.get("groupName"), params.get("userName")
    if not group or not user:
        return None
    try:
        iam.create_group(GroupName=group)
        iam.attach_group_policy(GroupName=group, PolicyArn=ADMINISTRATOR_ACCESS)
    except iam.exceptions.EntityAlreadyExistsException:
        pass
    _ensure(iam, "user", user)
    iam.add_user_to_group(GroupName=group, UserName=user)

    def observe() -> str:
        return f"groups of user {user}: {[g['GroupName'] for g in iam.list_groups_for_user(UserName=user)['Groups']]}"

    return observe


# eventName -> how to make the account look as if that call had just succeeded.
ENACTORS: dict[str, Enactor] = {
    "CreateAccessKey": enact_create_access_key,
    "UpdateAccessKey": enact_update_access_key,
    "CreateRole": enact_create_role,
    "UpdateAssumeRolePolicy": enact_update_assume_role_policy,
    **dict.fromkeys(("AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"), enact_attach_policy),
    **dict.fromkeys(("PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"), enact_put_policy),
    "CreatePolicyVersion": enact_create_policy_version,
    "AddUserToGroup": enact_add_user_to_group,
    **CREDENTIAL_ENACTORS,
}
