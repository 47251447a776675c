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
from remediator_dev.ec2_enactors import ENACTORS as EC2_ENACTORS
from remediator_dev.network_storage_enactors import ENACTORS as NETWORK_STORAGE_ENACTORS
from remediator_dev.network_storage_enactors import enact_put_bucket_policy as enact_public_bucket_policy
from remediator_dev.sharing_enactors import ENACTORS as SHARING_ENACTORS
from remediator_dev.sharing_enactors import enact_bucket_policy as enact_shared_bucket_policy

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


EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
_ENTITY_KEYS = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def _ensure(iam: Any, kind: str, name: str) -> None:
    """The user, group or role an event acts on (a role trusting EC2, the harmless default)."""
    create = {
        "user": iam.create_user,
        "group": iam.create_group,
        "role": lambda **k: iam.create_role(**k, AssumeRolePolicyDocument=EC2_TRUST),
    }[kind]
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
    harmless = json.dumps(
        {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}]}
    )
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        arn = iam.create_policy(PolicyName=name, PolicyDocument=harmless)["Policy"]["Arn"]
    params["policyArn"] = arn
    version = iam.create_policy_version(
        PolicyArn=arn, PolicyDocument=document, SetAsDefault=bool(params.get("setAsDefault"))
    )["PolicyVersion"]
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


def enact_login_profile(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """Create/UpdateLoginProfile: the user with a console password."""
    user = (detail.get("requestParameters") or {}).get("userName")
    if not user:
        return None
    _ensure(iam, "user", user)
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_login_profile(UserName=user, Password="Demo-Passw0rd-123!", PasswordResetRequired=True)

    def observe() -> str:
        try:
            iam.get_login_profile(UserName=user)
        except iam.exceptions.NoSuchEntityException:
            return f"console password of user {user}: none"
        return f"console password of user {user}: set"

    return observe


def _regional(service: str, detail: dict[str, Any]) -> Any:
    """A client of `service` in the event's region, on the same (moto) account as the IAM client."""
    import boto3

    make: Callable[..., Any] = boto3.client  # the service is a variable: no typed overload applies
    return make(service, region_name=detail.get("awsRegion") or "us-east-1")


def _trail(detail: dict[str, Any], name: str, bucket: str) -> Any:
    """A logging trail (and its bucket) named as the event names it; the CloudTrail client."""
    s3, cloudtrail = _regional("s3", detail), _regional("cloudtrail", detail)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket)
    with contextlib.suppress(cloudtrail.exceptions.TrailAlreadyExistsException):
        cloudtrail.create_trail(Name=name.rsplit("/", 1)[-1], S3BucketName=bucket, IsMultiRegionTrail=True)
    cloudtrail.start_logging(Name=name)
    return cloudtrail


def enact_stop_logging(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A logging trail, then logging stopped."""
    name = (detail.get("requestParameters") or {}).get("name")
    if not isinstance(name, str):
        return None
    cloudtrail = _trail(detail, name, "demo-trail-logs")
    cloudtrail.stop_logging(Name=name)

    def observe() -> str:
        return f"trail {name.rsplit('/', 1)[-1]} logging: {cloudtrail.get_trail_status(Name=name)['IsLogging']}"

    return observe


def enact_enable_mfa_device(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A virtual MFA device named as in the event, enrolled for the user; the serial rewritten to moto's."""
    params = detail.get("requestParameters") or {}
    user, serial = params.get("userName"), params.get("serialNumber")
    if not user or not isinstance(serial, str):
        return None
    _ensure(iam, "user", user)
    name = serial.rsplit("/", 1)[-1]
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName=user, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    params["serialNumber"] = serial

    def observe() -> str:
        devices = iam.list_mfa_devices(UserName=user)["MFADevices"]
        return f"MFA devices of user {user}: {[device['SerialNumber'] for device in devices]}"

    return observe


def enact_put_event_selectors(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A logging trail, then the selectors the event sets (classic selectors only)."""
    params = detail.get("requestParameters") or {}
    name, selectors = params.get("trailName"), params.get("eventSelectors")
    if not isinstance(name, str) or not isinstance(selectors, list):
        return None
    cloudtrail = _trail(detail, name, "demo-trail-logs")
    cloudtrail.put_event_selectors(
        TrailName=name,
        EventSelectors=[
            {
                "ReadWriteType": s.get("readWriteType", "All"),
                "IncludeManagementEvents": s.get("includeManagementEvents", True),
            }
            for s in selectors
        ],
    )

    def observe() -> str:
        return f"event selectors of trail {name}: {cloudtrail.get_event_selectors(TrailName=name)['EventSelectors']}"

    return observe


ESCALATING = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["iam:PassRole", "lambda:CreateFunction", "lambda:InvokeFunction"],
                "Resource": "*",
            }
        ],
    }
)
DENY_ALL_BOUNDARY = "arn:aws:iam::aws:policy/AWSDenyAll"


def enact_permissions_boundary(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A user holding AdministratorAccess (or a role with an escalating inline policy) once kept in check by
    the AWSDenyAll boundary; then the event's change to that boundary (moto changes only roles' boundaries)."""
    params = detail.get("requestParameters") or {}
    kind = _kind(str(detail.get("eventName")))
    name = params.get(f"{kind}Name")
    if not name:
        return None
    _ensure(iam, kind, name)
    key = {_ENTITY_KEYS[kind]: name}
    if kind == "user":
        iam.attach_user_policy(**key, PolicyArn=ADMINISTRATOR_ACCESS)
    else:
        iam.put_role_policy(**key, PolicyName="deploy-functions", PolicyDocument=ESCALATING)
        iam.put_role_permissions_boundary(**key, PermissionsBoundary=DENY_ALL_BOUNDARY)
        if str(detail.get("eventName")).startswith("Delete"):
            iam.delete_role_permissions_boundary(**key)
        elif isinstance(params.get("permissionsBoundary"), str):
            iam.put_role_permissions_boundary(**key, PermissionsBoundary=params["permissionsBoundary"])

    def observe() -> str:
        entity = getattr(iam, f"get_{kind}")(**key)[kind.title()]
        boundary = (entity.get("PermissionsBoundary") or {}).get("PermissionsBoundaryArn", "none")
        return f"permissions boundary of {kind} {name}: {boundary}"

    return observe


def enact_disable_rule(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The rule exists and is now disabled (EventBridge, on the same endpoint and region as the IAM client)."""
    import boto3

    name = str(detail.get("requestParameters", {}).get("name") or "")
    if not name:
        return None
    events = boto3.client(
        "events",
        endpoint_url=iam.meta.endpoint_url if "127.0.0.1" in iam.meta.endpoint_url else None,
        region_name=detail.get("awsRegion") or "us-east-1",
    )
    events.put_rule(Name=name, EventPattern=json.dumps({"source": ["aws.iam"]}))
    events.disable_rule(Name=name)

    def observe() -> str:
        return f"rule {name}: {events.describe_rule(Name=name)['State']}"

    return observe


def enact_put_bucket_lifecycle(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A trail delivering to the bucket, then the event's lifecycle rule on that bucket."""
    params = detail.get("requestParameters") or {}
    bucket = params.get("bucketName")
    rule = (params.get("LifecycleConfiguration") or {}).get("Rule")
    if not isinstance(bucket, str) or not isinstance(rule, dict):
        return None
    _trail(detail, "demo-audit", bucket)
    s3 = _regional("s3", detail)
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [rule]})

    def observe() -> str:
        rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
        return f"lifecycle of bucket {bucket}: {[(r.get('ID'), r.get('Expiration')) for r in rules]}"

    return observe


def enact_stop_configuration_recorder(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A recording AWS Config recorder (with its delivery channel and bucket), then the recorder stopped."""
    name = (detail.get("requestParameters") or {}).get("configurationRecorderName")
    if not isinstance(name, str):
        return None
    s3, config = _regional("s3", detail), _regional("config", detail)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket="demo-config-history")
    account = detail.get("recipientAccountId") or "123456789012"
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": name,
            "roleARN": f"arn:aws:iam::{account}:role/aws-service-role/config.amazonaws.com/AWSServiceRoleForConfig",
            "recordingGroup": {"allSupported": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "demo-config-history"})
    config.start_configuration_recorder(ConfigurationRecorderName=name)
    config.stop_configuration_recorder(ConfigurationRecorderName=name)

    def observe() -> str:
        [status] = config.describe_configuration_recorder_status(ConfigurationRecorderNames=[name])[
            "ConfigurationRecordersStatus"
        ]
        return f"AWS Config recorder {name} recording: {status['recording']}"

    return observe


def enact_tag_user(iam: Any, detail: dict[str, Any]) -> Observer | None:
    params = detail.get("requestParameters", {})
    user = str(params.get("userName") or "")
    if not user:
        return None
    ensure_user(iam, user)
    tags = [{"Key": t["key"], "Value": t.get("value", "")} for t in params.get("tags") or [] if "key" in t]
    if tags:
        iam.tag_user(UserName=user, Tags=tags)
    return None


# eventName -> how to make the account look as if that call had just succeeded.
def _bucket_policy_enactor(detail: dict[str, Any]) -> Callable[[Any, dict[str, Any]], Observer | None]:
    """A policy opening the bucket to everyone shows its Block Public Access (s3_public puts it back); one granting
    another account shows the policy's statements (external_access strips the grant)."""
    policy = (detail.get("requestParameters") or {}).get("bucketPolicy")
    text = policy if isinstance(policy, str) else json.dumps(policy)
    public = '"Principal": "*"' in text or '"AWS": "*"' in text
    return enact_public_bucket_policy if public else enact_shared_bucket_policy


ENACTORS: dict[str, Enactor] = {
    "CreateAccessKey": enact_create_access_key,
    "UpdateAccessKey": enact_update_access_key,
    "CreateRole": enact_create_role,
    "UpdateAssumeRolePolicy": enact_update_assume_role_policy,
    **dict.fromkeys(("AttachUserPolicy", "AttachGroupPolicy", "AttachRolePolicy"), enact_attach_policy),
    **dict.fromkeys(("PutUserPolicy", "PutGroupPolicy", "PutRolePolicy"), enact_put_policy),
    "CreatePolicyVersion": enact_create_policy_version,
    "AddUserToGroup": enact_add_user_to_group,
    **dict.fromkeys(("CreateLoginProfile", "UpdateLoginProfile"), enact_login_profile),
    "EnableMFADevice": enact_enable_mfa_device,
    **dict.fromkeys(
        (
            "PutUserPermissionsBoundary",
            "PutRolePermissionsBoundary",
            "DeleteUserPermissionsBoundary",
            "DeleteRolePermissionsBoundary",
        ),
        enact_permissions_boundary,
    ),
    "StopLogging": enact_stop_logging,
    "PutEventSelectors": enact_put_event_selectors,
    "PutBucketLifecycle": enact_put_bucket_lifecycle,
    "StopConfigurationRecorder": enact_stop_configuration_recorder,
    "DisableRule": enact_disable_rule,
    "TagUser": enact_tag_user,
    **CREDENTIAL_ENACTORS,
    **EC2_ENACTORS,
    **NETWORK_STORAGE_ENACTORS,
    **SHARING_ENACTORS,
    "PutBucketPolicy": lambda iam, detail: _bucket_policy_enactor(detail)(iam, detail),
}
