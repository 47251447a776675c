"""Each rule's remediation calls only the IAM actions its META.remediation_actions declares, and uses them all.

Every scenario decides a record on moto (in process; botocore's Stubber for the APIs moto lacks) the way Lambda
does, then records each AWS operation while the finding is acted on (`engine.act`) or, for an event that resolves a
finding, while the rule's `resolve` runs.
An undeclared operation would fail in AWS with AccessDenied (the function's role grants what META declares); a
declared action no scenario calls is a permission the role holds for nothing.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest
from botocore.client import BaseClient
from botocore.stub import Stubber
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import parse_record
from remediator.findings import Mode, Outcome
from remediator.permissions import DEPENDENT_ACTIONS
from remediator.rule_ids import RULE_IDS
from remediator.rules import RULES
from remediator.rules.base import EvalContext
from remediator.rules.console_mfa import deny_without_mfa_document
from remediator.state import AssumedState, LiveState
from remediator_dev.credential_enactors import self_signed_certificate
from remediator_dev.sharing_enactors import ENACTORS as SHARING_ENACTORS
from tests.conftest import load_event
from tests.unit.rules.test_identity_center import REGION as SSO_REGION
from tests.unit.rules.test_other_credentials import StubbedClients

ACCOUNT = "123456789012"
ADMIN = json.dumps({"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]})
HARMLESS = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "lambda:GetFunction", "Resource": "*"}]}
)
EVERYONE = json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}]}
)
KEYS = {"user": "UserName", "group": "GroupName", "role": "RoleName"}


def record(
    event_name: str, params: dict[str, Any], response: dict[str, Any] | None = None, caller: str = "alice"
) -> dict[str, Any]:
    """A successful IAM call by an IAM user (default: an administrator, alice)."""
    return {
        "eventName": event_name,
        "eventSource": "iam.amazonaws.com",
        "eventID": f"perm-{event_name}",
        "recipientAccountId": ACCOUNT,
        "requestParameters": params,
        "responseElements": response,
        "userIdentity": {
            "type": "IAMUser",
            "userName": caller,
            "accountId": ACCOUNT,
            "arn": f"arn:aws:iam::{ACCOUNT}:user/{caller}",
        },
    }


def _entity(iam: Any, kind: str, name: str) -> None:
    create = {
        "user": iam.create_user,
        "group": iam.create_group,
        "role": lambda **key: iam.create_role(**key, AssumeRolePolicyDocument=HARMLESS),
    }[kind]
    create(**{KEYS[kind]: name})


def attach_admin_policy(kind: str) -> Callable[[Any, Settings], dict[str, Any]]:
    def enact(iam: Any, settings: Settings) -> dict[str, Any]:
        _entity(iam, kind, "target")
        arn = iam.create_policy(PolicyName="everything", PolicyDocument=ADMIN)["Policy"]["Arn"]
        getattr(iam, f"attach_{kind}_policy")(**{KEYS[kind]: "target"}, PolicyArn=arn)
        return record(f"Attach{kind.title()}Policy", {f"{kind}Name": "target", "policyArn": arn})

    return enact


def put_admin_policy(kind: str) -> Callable[[Any, Settings], dict[str, Any]]:
    def enact(iam: Any, settings: Settings) -> dict[str, Any]:
        _entity(iam, kind, "target")
        getattr(iam, f"put_{kind}_policy")(**{KEYS[kind]: "target"}, PolicyName="everything", PolicyDocument=ADMIN)
        return record(
            f"Put{kind.title()}Policy", {f"{kind}Name": "target", "policyName": "everything", "policyDocument": ADMIN}
        )

    return enact


def admin_default_version(iam: Any, settings: Settings) -> dict[str, Any]:
    arn = iam.create_policy(PolicyName="app", PolicyDocument=HARMLESS)["Policy"]["Arn"]
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=ADMIN, SetAsDefault=True)["PolicyVersion"]
    return record(
        "CreatePolicyVersion",
        {"policyArn": arn, "policyDocument": ADMIN, "setAsDefault": True},
        {"policyVersion": {"versionId": version["VersionId"], "isDefaultVersion": True}},
    )


def admin_default_version_over_several(iam: Any, settings: Settings) -> dict[str, Any]:
    """Several older versions: the newest one the analysis finds harmless is read and made the default."""
    arn = iam.create_policy(PolicyName="app", PolicyDocument=HARMLESS)["Policy"]["Arn"]
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=ADMIN, SetAsDefault=False)
    iam.create_policy_version(PolicyArn=arn, PolicyDocument=HARMLESS, SetAsDefault=False)
    version = iam.create_policy_version(PolicyArn=arn, PolicyDocument=ADMIN, SetAsDefault=True)["PolicyVersion"]
    return record(
        "CreatePolicyVersion",
        {"policyArn": arn, "policyDocument": ADMIN, "setAsDefault": True},
        {"policyVersion": {"versionId": version["VersionId"], "isDefaultVersion": True}},
    )


def join_admins_group(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_group(GroupName="admins")
    iam.put_group_policy(GroupName="admins", PolicyName="everything", PolicyDocument=ADMIN)
    iam.create_user(UserName="bob")
    iam.add_user_to_group(GroupName="admins", UserName="bob")
    return record("AddUserToGroup", {"groupName": "admins", "userName": "bob"})


def key_for_another_user(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_user(UserName="bob")
    key = iam.create_access_key(UserName="bob")["AccessKey"]
    return record(
        "CreateAccessKey",
        {"userName": "bob"},
        {"accessKey": {"accessKeyId": key["AccessKeyId"], "userName": "bob", "status": "Active"}},
    )


def console_password(iam: Any, settings: Settings) -> dict[str, Any]:
    """bob gives himself a console password and has no MFA device."""
    iam.create_user(UserName="bob")
    iam.create_login_profile(UserName="bob", Password="Example-Passw0rd!")
    return record("CreateLoginProfile", {"userName": "bob"}, caller="bob")


def password_for_an_admin(iam: Any, settings: Settings) -> dict[str, Any]:
    """alice sets a password for bob, who is admin: account takeover, undone at once."""
    iam.create_user(UserName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="everything", PolicyDocument=ADMIN)
    iam.create_login_profile(UserName="bob", Password="Example-Passw0rd!")
    return record("CreateLoginProfile", {"userName": "bob", "passwordResetRequired": True})


def mfa_enrolled_for_an_admin(iam: Any, settings: Settings) -> dict[str, Any]:
    """alice enrols her own MFA device for bob, who is admin: account takeover, the device deactivated."""
    iam.create_user(UserName="bob")
    iam.put_user_policy(UserName="bob", PolicyName="everything", PolicyDocument=ADMIN)
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="alice-token")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="bob", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    return record("EnableMFADevice", {"userName": "bob", "serialNumber": serial})


def mfa_enrolled_after_the_deny_policy(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_user(UserName="bob")
    iam.attach_user_policy(UserName="bob", PolicyArn=settings.deny_without_mfa_policy_arn)
    return record(
        "EnableMFADevice", {"userName": "bob", "serialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/bob"}, caller="bob"
    )


def role_trusting_everyone(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_role(RoleName="open", AssumeRolePolicyDocument=EVERYONE)
    return record("CreateRole", {"roleName": "open", "assumeRolePolicyDocument": EVERYONE})


def _service_record(source: str, event_name: str, params: dict[str, Any]) -> dict[str, Any]:
    return {**record(event_name, params), "eventSource": source, "awsRegion": "us-east-1"}


def stopped_trail(iam: Any, settings: Settings) -> dict[str, Any]:
    boto3.client("s3").create_bucket(Bucket="trail-logs")
    cloudtrail = boto3.client("cloudtrail")
    cloudtrail.create_trail(Name="main", S3BucketName="trail-logs")
    cloudtrail.start_logging(Name="main")
    cloudtrail.stop_logging(Name="main")
    return _service_record("cloudtrail.amazonaws.com", "StopLogging", {"name": "main"})


def disabled_detector(iam: Any, settings: Settings) -> dict[str, Any]:
    guardduty = boto3.client("guardduty")
    detector = guardduty.create_detector(Enable=True)["DetectorId"]
    guardduty.update_detector(DetectorId=detector, Enable=False)
    return _service_record("guardduty.amazonaws.com", "UpdateDetector", {"detectorId": detector, "enable": False})


def stopped_recorder(iam: Any, settings: Settings) -> dict[str, Any]:
    boto3.client("s3").create_bucket(Bucket="config-history")
    config = boto3.client("config")
    config.put_configuration_recorder(
        ConfigurationRecorder={
            "name": "default",
            "roleARN": f"arn:aws:iam::{ACCOUNT}:role/config",
            "recordingGroup": {"allSupported": True},
        }
    )
    config.put_delivery_channel(DeliveryChannel={"name": "default", "s3BucketName": "config-history"})
    config.start_configuration_recorder(ConfigurationRecorderName="default")
    config.stop_configuration_recorder(ConfigurationRecorderName="default")
    return _service_record(
        "config.amazonaws.com", "StopConfigurationRecorder", {"configurationRecorderName": "default"}
    )


def rule_disabled(iam: Any, settings: Settings) -> dict[str, Any]:
    """Someone disables one of the stack's EventBridge rules (settings name it as ours)."""
    events = boto3.client("events")
    events.put_rule(Name="remediator-access_keys-1", EventPattern=json.dumps({"source": ["aws.iam"]}))
    events.disable_rule(Name="remediator-access_keys-1")
    return {**record("DisableRule", {"name": "remediator-access_keys-1"}), "eventSource": "events.amazonaws.com"}


def ssh_key_for_another_user(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_user(UserName="bob")
    key = iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]["SSHPublicKeyId"]
    return record(
        "UploadSSHPublicKey", {"userName": "bob"}, {"sSHPublicKey": {"sSHPublicKeyId": key, "userName": "bob"}}
    )


def signing_certificate_for_another_user(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_user(UserName="bob")
    certificate = iam.upload_signing_certificate(UserName="bob", CertificateBody=self_signed_certificate("bob"))
    return record(
        "UploadSigningCertificate",
        {"userName": "bob"},
        {"certificate": {"certificateId": certificate["Certificate"]["CertificateId"], "userName": "bob"}},
    )


def federation_token(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_user(UserName="alice")
    return {**record("GetFederationToken", {"name": "persist"}), "eventSource": "sts.amazonaws.com"}


def _permission_set(policy: str | None = None) -> tuple[Any, dict[str, str]]:
    sso = boto3.client("sso-admin", region_name=SSO_REGION)
    instance = sso.list_instances()["Instances"][0]["InstanceArn"]
    arn = sso.create_permission_set(InstanceArn=instance, Name="Operators")["PermissionSet"]["PermissionSetArn"]
    key = {"InstanceArn": instance, "PermissionSetArn": arn}
    if policy:
        sso.attach_managed_policy_to_permission_set(**key, ManagedPolicyArn=policy)
    return sso, key


def sso_record(event_name: str, key: dict[str, str], params: dict[str, Any]) -> dict[str, Any]:
    return {
        **record(
            event_name, {"instanceArn": key["InstanceArn"], "permissionSetArn": key["PermissionSetArn"], **params}
        ),
        "eventSource": "sso.amazonaws.com",
        "awsRegion": SSO_REGION,
    }


def admin_permission_set_assigned(iam: Any, settings: Settings) -> dict[str, Any]:
    sso, key = _permission_set(ADMINISTRATOR_ACCESS)
    sso.create_account_assignment(
        **key, TargetId="210987654321", TargetType="AWS_ACCOUNT", PrincipalType="GROUP", PrincipalId="admins-group-1"
    )
    return sso_record(
        "CreateAccountAssignment",
        key,
        {
            "targetId": "210987654321",
            "targetType": "AWS_ACCOUNT",
            "principalType": "GROUP",
            "principalId": "admins-group-1",
        },
    )


def administrator_access_on_a_permission_set(iam: Any, settings: Settings) -> dict[str, Any]:
    _, key = _permission_set(ADMINISTRATOR_ACCESS)
    return sso_record("AttachManagedPolicyToPermissionSet", key, {"managedPolicyArn": ADMINISTRATOR_ACCESS})


def admin_customer_policy_on_a_permission_set(iam: Any, settings: Settings) -> dict[str, Any]:
    iam.create_policy(PolicyName="operator", PolicyDocument=ADMIN)
    sso, key = _permission_set()
    sso.attach_customer_managed_policy_reference_to_permission_set(
        **key, CustomerManagedPolicyReference={"Name": "operator", "Path": "/"}
    )
    return sso_record(
        "AttachCustomerManagedPolicyReferenceToPermissionSet",
        key,
        {"customerManagedPolicyReference": {"name": "operator", "path": "/"}},
    )


def admin_inline_policy_on_a_permission_set(iam: Any, settings: Settings) -> dict[str, Any]:
    sso, key = _permission_set()
    sso.put_inline_policy_to_permission_set(**key, InlinePolicy=ADMIN)
    return sso_record("PutInlinePolicyToPermissionSet", key, {"inlinePolicy": ADMIN})


BASELINE_PROFILE = "remediator-ec2-baseline"


def instance_without_role(iam: Any, settings: Settings) -> dict[str, Any]:
    """An instance launched without a profile and with IMDSv1, and the stack's baseline profile to attach."""
    iam.create_role(RoleName=BASELINE_PROFILE, AssumeRolePolicyDocument=HARMLESS)
    iam.create_instance_profile(InstanceProfileName=BASELINE_PROFILE)
    iam.add_role_to_instance_profile(InstanceProfileName=BASELINE_PROFILE, RoleName=BASELINE_PROFILE)
    ec2 = boto3.client("ec2")
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    return {
        **record("RunInstances", {"instanceType": "t3.micro"}),
        "eventSource": "ec2.amazonaws.com",
        "awsRegion": "us-east-1",
        "responseElements": {
            "instancesSet": {"items": [{"instanceId": instance, "metadataOptions": {"httpTokens": "optional"}}]}
        },
    }


ALL_OFF = {
    "BlockPublicAcls": False,
    "IgnorePublicAcls": False,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


def public_bucket_policy(iam: Any, settings: Settings) -> dict[str, Any]:
    s3 = boto3.client("s3")
    s3.create_bucket(Bucket="acme-reports")
    s3.put_public_access_block(Bucket="acme-reports", PublicAccessBlockConfiguration=ALL_OFF)
    document = {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::acme-reports/*"}
        ],
    }
    s3.put_bucket_policy(Bucket="acme-reports", Policy=json.dumps(document))
    return _service_record(
        "s3.amazonaws.com", "PutBucketPolicy", {"bucketName": "acme-reports", "bucketPolicy": document}
    )


def account_block_turned_off(iam: Any, settings: Settings) -> dict[str, Any]:
    boto3.client("s3control").put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_OFF)
    return _service_record(
        "s3.amazonaws.com", "PutAccountPublicAccessBlock", {"PublicAccessBlockConfiguration": ALL_OFF}
    )


def _open_ssh(params: dict[str, Any], with_id: bool) -> dict[str, Any]:
    ec2 = boto3.client("ec2", region_name="us-east-1")
    group = ec2.create_security_group(GroupName="web", Description="web")["GroupId"]
    rule = ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )["SecurityGroupRules"][0]
    item = {
        "groupId": group,
        "securityGroupRuleId": rule["SecurityGroupRuleId"],
        "isEgress": False,
        "ipProtocol": "tcp",
        "fromPort": 22,
        "toPort": 22,
        "cidrIpv4": "0.0.0.0/0",
    }
    response = {"securityGroupRuleSet": {"items": [item]}} if with_id else {"_return": True}
    return {
        **_service_record("ec2.amazonaws.com", "AuthorizeSecurityGroupIngress", {"groupId": group, **params}),
        "responseElements": response,
    }


def ssh_opened_with_rule_id(iam: Any, settings: Settings) -> dict[str, Any]:
    return _open_ssh({}, with_id=True)


def ssh_opened_without_rule_id(iam: Any, settings: Settings) -> dict[str, Any]:
    return _open_ssh({"cidrIp": "0.0.0.0/0", "fromPort": 22, "toPort": 22, "ipProtocol": "tcp"}, with_id=False)


# rule id -> scenario -> (how the account and the record come about, settings beyond remediate mode)
def shared(event: str, **params: Any) -> Callable[[Any, Settings], dict[str, Any]]:
    """A demo event of a shared resource, enacted in moto as the demo does (its parameters changed by `params`)."""

    def enact(iam: Any, settings: Settings) -> dict[str, Any]:
        detail: dict[str, Any] = copy.deepcopy(load_event(event))["detail"]
        detail["requestParameters"].update(params)
        SHARING_ENACTORS[detail["eventName"]](iam, detail)
        return detail

    return enact


OWN_READ = {"Sid": "own", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "*"}
PUBLIC_READ = {"Sid": "public", "Effect": "Allow", "Principal": "*", "Action": "secretsmanager:GetSecretValue"}
PARTNER_READ = {"Sid": "partner", "Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::846424999548:root"}}
BUCKET = "arn:aws:s3:::acme-exports/*"


def beside_own(event: str, field: str, action: str) -> dict[str, Any]:
    """The event's policy parameter with a grant to this account before the offending statement (kept)."""
    params = load_event(event)["detail"]["requestParameters"]
    document = json.loads(params["attributes"]["Policy"] if field == "attributes" else params[field])
    document["Statement"].insert(0, {**OWN_READ, "Action": action})
    return {field: {"Policy": json.dumps(document)} if field == "attributes" else json.dumps(document)}


SCENARIOS: dict[str, dict[str, tuple[Callable[[Any, Settings], dict[str, Any]], dict[str, Any]]]] = {
    "access_keys": {"a key for another user": (key_for_another_user, {})},
    "console_mfa": {
        "a console password without MFA (deny policy)": (console_password, {}),
        "a console password without MFA (delete the password)": (
            console_password,
            {"console_mfa_remediation": "delete-login-profile"},
        ),
        "MFA enrolled: the deny policy comes off": (mfa_enrolled_after_the_deny_policy, {}),
        "a password set by someone else for an admin": (password_for_an_admin, {}),
        "an MFA device enrolled by someone else for an admin": (mfa_enrolled_for_an_admin, {}),
    },
    "role_trust": {"a role anyone can assume": (role_trusting_everyone, {})},
    "ec2_without_role": {
        "an instance without a role, with IMDSv1": (
            instance_without_role,
            {"ec2_baseline_instance_profile": BASELINE_PROFILE},
        )
    },
    "remediator_tampering": {
        "a rule of the stack disabled": (
            rule_disabled,
            {
                "own_functions": {
                    "remediator-access_keys": (
                        f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/remediator-access_keys"
                    )
                }
            },
        ),
    },
    "admin_grants": {
        **{f"an admin policy attached to a {kind}": (attach_admin_policy(kind), {}) for kind in KEYS},
        **{f"an admin inline policy put on a {kind}": (put_admin_policy(kind), {}) for kind in KEYS},
        "an admin default version": (admin_default_version, {}),
        "an admin default version over several": (admin_default_version_over_several, {}),
        "a user added to an admin group": (join_admins_group, {}),
    },
    "guardrail_tampering": {
        "a trail's logging stopped": (stopped_trail, {}),
        "a GuardDuty detector disabled": (disabled_detector, {}),
        "a Config recorder stopped": (stopped_recorder, {}),
    },
    "other_credentials": {
        "an SSH key for another user": (ssh_key_for_another_user, {}),
        "a signing certificate for another user": (signing_certificate_for_another_user, {}),
        "a federation token": (federation_token, {}),
    },
    "s3_public": {
        "a public bucket policy": (public_bucket_policy, {}),
        "the account's Block Public Access turned off": (account_block_turned_off, {}),
    },
    "open_security_group": {
        "SSH opened to anywhere, rule id in the response": (ssh_opened_with_rule_id, {}),
        "SSH opened to anywhere, no rule id": (ssh_opened_without_rule_id, {}),
    },
    "external_access": {
        "an AMI shared": (shared("share-ami-with-another-account.json"), {}),
        "an EBS snapshot made public": (shared("share-ebs-snapshot-publicly.json"), {}),
        "an RDS snapshot shared": (shared("share-rds-snapshot-with-another-account.json"), {}),
        "an RDS cluster snapshot made public": (shared("share-rds-cluster-snapshot-publicly.json"), {}),
        "a function opened to everyone": (shared("lambda-add-permission-everyone.json"), {}),
        "a topic permission for another account": (shared("sns-add-permission-for-another-account.json"), {}),
        "a topic policy for another account": (shared("set-topic-policy-for-another-account.json"), {}),
        "a key grant for another account": (shared("create-kms-grant-for-another-account.json"), {}),
        "a key policy for another account": (shared("put-key-policy-for-another-account.json"), {}),
        "a secret policy open to everyone": (shared("put-secret-resource-policy-everyone.json"), {}),
        "a secret policy open to everyone beside our own grant": (
            shared(
                "put-secret-resource-policy-everyone.json",
                resourcePolicy=json.dumps({"Version": "2012-10-17", "Statement": [OWN_READ, PUBLIC_READ]}),
            ),
            {},
        ),
        "a bucket policy for another account": (shared("put-bucket-policy-for-another-account.json"), {}),
        "a bucket policy for another account beside our own grant": (
            shared(
                "put-bucket-policy-for-another-account.json",
                bucketPolicy={
                    "Version": "2012-10-17",
                    "Statement": [
                        {**OWN_READ, "Action": "s3:GetObject", "Resource": BUCKET},
                        {**PARTNER_READ, "Action": "s3:GetObject", "Resource": BUCKET},
                    ],
                },
            ),
            {},
        ),
        "a queue permission for another account": (shared("sqs-add-permission-for-another-account.json"), {}),
        "a queue policy open to everyone": (shared("set-queue-policy-everyone.json"), {}),
        "a queue policy open to everyone beside our own grant": (
            shared(
                "set-queue-policy-everyone.json",
                **beside_own("set-queue-policy-everyone.json", "attributes", "sqs:SendMessage"),
            ),
            {},
        ),
        "a repository policy open to everyone": (shared("set-ecr-repository-policy-public.json"), {}),
        "a repository policy open to everyone beside our own grant": (
            shared(
                "set-ecr-repository-policy-public.json",
                **beside_own("set-ecr-repository-policy-public.json", "policyText", "ecr:BatchGetImage"),
            ),
            {},
        ),
        "a file system policy open to everyone beside our own grant": (
            shared(
                "put-efs-file-system-policy-everyone.json",
                **beside_own("put-efs-file-system-policy-everyone.json", "policy", "elasticfilesystem:ClientMount"),
            ),
            {},
        ),
    },
    "identity_center": {
        "an admin permission set assigned": (admin_permission_set_assigned, {}),
        "AdministratorAccess attached to a permission set": (administrator_access_on_a_permission_set, {}),
        "an admin customer managed policy attached to a permission set": (
            admin_customer_policy_on_a_permission_set,
            {},
        ),
        "an admin inline policy put on a permission set": (admin_inline_policy_on_a_permission_set, {}),
    },
}
ADMINISTRATOR_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
SSH_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDlZ1wr2dbvKvu4JKqBXq6WApz3Pe1OjUm1LbhXvoiqdeWZhqu4g27WcvDSp7Y7J9LJ"
    "xIBkVjfXGk3e2wQ+2GjfVRyR2YsUtGJvJGdEwVNyo5fSLtCmXc4GyK3PNQRlJ1zSL/QR5ZzpEB5uu9VQ+wxMkxmJYfCl3FNnO5zR5ZQj4"
    "y0A2XZL0u4ZSJt0kIg7I8xfQ8jdTc76Rf4QRgGk2zD3H3Bt9wAw1lU6z3jUDP5yT4Ar6QjI0GtTvq3Ao1i4Lq7Q4u4o4I1D3u1lWg5Z8"
    "rO2Nh7mhtlT0hNQ/O0dR1xzhZ7ZOQD7kB3F0bqzM9sk7u8L3OPjZCPD8Qbc5 test@example"
)


def _stubbed_service_specific_credential() -> Any:
    """moto has no service-specific credentials: their calls answer from a Stubber."""
    aws = StubbedClients()
    key = {"UserName": "bob", "ServiceSpecificCredentialId": "ACCAZ3EXAMPLEBOB0001"}
    aws.iam_stub.add_response("update_service_specific_credential", {}, {**key, "Status": "Inactive"})
    aws.iam_stub.add_response(
        "list_service_specific_credentials",
        {
            "ServiceSpecificCredentials": [
                {
                    **key,
                    "Status": "Inactive",
                    "ServiceUserName": "bob-at-1",
                    "CreateDate": "2026-11-24T09:15:42Z",
                    "ServiceName": "codecommit.amazonaws.com",
                }
            ]
        },
        {"UserName": "bob"},
    )
    raw = record(
        "CreateServiceSpecificCredential",
        {"userName": "bob"},
        {"serviceSpecificCredential": {"serviceSpecificCredentialId": key["ServiceSpecificCredentialId"]}},
    )
    return aws, aws.iam_stub, raw


def _stubbed_roles_anywhere(kind: str) -> Any:
    """moto has no Roles Anywhere: its calls answer from a Stubber, in the event's region."""
    aws = StubbedClients()
    ident = "4d07f6a0-1c50-44d3-951b-b68b783daa0a"
    disable, get = (
        ("disable_trust_anchor", "get_trust_anchor") if kind == "trustAnchor" else ("disable_profile", "get_profile")
    )
    for operation in (disable, get):
        aws.anywhere_stub.add_response(operation, {kind: {f"{kind}Id": ident, "enabled": False}}, {f"{kind}Id": ident})
    event = "CreateTrustAnchor" if kind == "trustAnchor" else "CreateProfile"
    raw = {
        **record(event, {"name": "ca"}, {kind: {f"{kind}Id": ident, "name": "ca"}}),
        "eventSource": "rolesanywhere.amazonaws.com",
        "awsRegion": "eu-west-1",
    }
    return aws, aws.anywhere_stub, raw


class StubbedFileSystems(AwsClients):
    """AwsClients whose EFS client answers from a Stubber (moto cannot delete a file system policy)."""

    def __init__(self) -> None:
        super().__init__(region="eu-west-1")
        self.efs = boto3.client("efs", region_name="eu-west-1")
        self.stub = Stubber(self.efs)

    def regional(self, service: str, region: str | None) -> Any:
        assert (service, region) == ("efs", "eu-west-1")
        return self.efs


def _stubbed_file_system_policy_deleted() -> Any:
    """A file system policy whose every statement is offending: deleted, then re-read as absent."""
    raw = load_event("put-efs-file-system-policy-everyone.json")["detail"]
    system = {"FileSystemId": raw["requestParameters"]["fileSystemId"]}
    aws = StubbedFileSystems()
    aws.stub.add_response(
        "describe_file_system_policy", {**system, "Policy": raw["requestParameters"]["policy"]}, system
    )
    aws.stub.add_response("delete_file_system_policy", {}, system)
    aws.stub.add_client_error("describe_file_system_policy", "PolicyNotFound", http_status_code=404)
    return aws, aws.stub, raw


# rule id -> scenario -> (the clients, their Stubber, the record): APIs moto does not model
STUBBED: dict[str, dict[str, Callable[[], Any]]] = {
    "other_credentials": {
        "a service-specific credential": _stubbed_service_specific_credential,
        "a Roles Anywhere trust anchor": lambda: _stubbed_roles_anywhere("trustAnchor"),
        "a Roles Anywhere profile": lambda: _stubbed_roles_anywhere("profile"),
    },
    "external_access": {"a file system policy open to everyone, deleted": _stubbed_file_system_policy_deleted},
}


# Where an API operation's name is not its IAM action's (S3 names Block Public Access per bucket and per account).
IAM_ACTIONS = {
    ("s3", "PutPublicAccessBlock"): "s3:PutBucketPublicAccessBlock",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "PutPublicAccessBlock"): "s3:PutAccountPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
}


class Recorder:
    """Every operation a boto3 client makes while `calls` is a set, as the IAM action that authorises it
    ("<signing name>:<Operation>", or IAM_ACTIONS where the two differ)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls: set[str] | None = None
        original = BaseClient._make_api_call
        recorder = self

        def recording(client: BaseClient, operation_name: str, api_params: dict[str, Any]) -> Any:
            if recorder.calls is not None:
                model = client.meta.service_model
                action = IAM_ACTIONS.get((model.service_name, operation_name), f"{model.signing_name}:{operation_name}")
                # What AWS also checks on that call (attaching an instance profile passes its role).
                recorder.calls |= {action, *DEPENDENT_ACTIONS.get(action, ())}
            return original(client, operation_name, api_params)

        monkeypatch.setattr(BaseClient, "_make_api_call", recording)


def _run(
    recorder: Recorder, rule_id: str, enact: Callable[[Any, Settings], dict[str, Any]], overrides: dict[str, Any]
) -> set[str]:
    """Decide the scenario's record (state reads not recorded), then record acting on it or resolving."""
    iam = boto3.client("iam")
    policy = iam.create_policy(PolicyName="deny-without-mfa", PolicyDocument=json.dumps(deny_without_mfa_document()))[
        "Policy"
    ]["Arn"]
    settings = Settings(
        modes=dict.fromkeys(RULE_IDS, Mode.REMEDIATE),
        live=True,
        mfa_grace_period_hours=0,
        deny_without_mfa_policy_arn=policy,
        admin_grants_escalation_mode=Mode.REMEDIATE,
        **overrides,
    )
    aws = AwsClients()
    raw = parse_record(enact(iam, settings))
    decision = decide(raw, EvalContext(settings, LiveState(aws.iam)), (rule_id,))
    recorder.calls = set()
    if rule_id in decision.resolves:
        done = RULES[rule_id].resolve(raw, aws, settings, None)
        assert "detached" in done, done
    else:
        [finding] = decision.findings
        assert finding.action, finding.reason
        result = act(finding, aws)
        assert result.outcome == Outcome.VERIFIED, result
    calls, recorder.calls = recorder.calls, None
    return calls


@pytest.fixture(scope="module")
def called() -> Iterator[dict[tuple[str, str], set[str]]]:
    """(rule id, scenario) -> the operations its remediation called."""
    found: dict[tuple[str, str], set[str]] = {}
    with pytest.MonkeyPatch.context() as patch:
        # moto has no permissions-boundary API for permission sets: none is read here.
        patch.setattr(LiveState, "permission_set_boundary", lambda *args: None)
        recorder = Recorder(patch)
        for rule_id, scenarios in SCENARIOS.items():
            for name, (enact, overrides) in scenarios.items():
                with mock_aws():
                    found[rule_id, name] = _run(recorder, rule_id, enact, overrides)
        for rule_id, stubbed in STUBBED.items():
            for name, prepare in stubbed.items():
                found[rule_id, name] = _run_stubbed(recorder, rule_id, prepare)
    yield found


def _run_stubbed(recorder: Recorder, rule_id: str, prepare: Callable[[], Any]) -> set[str]:
    aws, stubber, raw = prepare()
    settings = Settings(modes=dict.fromkeys(RULE_IDS, Mode.REMEDIATE), live=False)
    [finding] = decide(parse_record(raw), EvalContext(settings, AssumedState()), (rule_id,)).findings
    recorder.calls = set()
    with stubber:
        result = act(finding, aws)
    assert result.outcome == Outcome.VERIFIED, result
    calls, recorder.calls = recorder.calls, None
    return calls


@pytest.mark.parametrize(
    ("rule_id", "scenario"), [(r, s) for r, scenarios in (*SCENARIOS.items(), *STUBBED.items()) for s in scenarios]
)
def test_a_remediation_calls_only_what_its_rule_declares(called, rule_id: str, scenario: str) -> None:
    calls = called[rule_id, scenario]
    assert calls, "nothing was called: the scenario did not reach the remediation"
    undeclared = calls - set(RULES[rule_id].META.remediation_actions)
    assert not undeclared, f"add {sorted(undeclared)} to the remediation_actions of {rule_id}"


@pytest.mark.parametrize("rule_id", RULE_IDS)
def test_every_declared_remediation_action_is_called(called, rule_id: str) -> None:
    declared = set(RULES[rule_id].META.remediation_actions)
    used = set().union(set(), *(calls for (rule, _), calls in called.items() if rule == rule_id))
    assert used == declared, f"declared but never called: {sorted(declared - used)}"


def test_rules_that_change_nothing_declare_nothing() -> None:
    assert {rule_id for rule_id in RULE_IDS if not RULES[rule_id].META.remediation_actions} == (
        set(RULE_IDS) - set(SCENARIOS)
    )
