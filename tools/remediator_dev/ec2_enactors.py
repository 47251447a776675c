"""Enactors for ec2_without_role's events: the instance the event names, in the state the call left it.

moto does not apply a launch template's instance profile when it launches from the template (EC2 does), so the
launch-template enactor attaches it as EC2 would have.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

# The stack's baseline instance profile, as the template names it for the stack "compliance-remediator".
BASELINE_PROFILE = "compliance-remediator-ec2-baseline"
APP_PROFILE = "app-server"
_EC2_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }
)


def ensure_instance_profile(iam: Any, name: str) -> None:
    """An instance profile and its role, both called `name`, under the stack's path."""
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=_EC2_TRUST, Path="/compliance-remediator/")
    with contextlib.suppress(iam.exceptions.EntityAlreadyExistsException):
        iam.create_instance_profile(InstanceProfileName=name, Path="/compliance-remediator/")
        iam.add_role_to_instance_profile(InstanceProfileName=name, RoleName=name)


def _ec2(detail: dict[str, Any]) -> Any:
    import boto3

    return boto3.client("ec2", region_name=detail.get("awsRegion") or "us-east-1")


def _launch(ec2: Any, tokens: str, **extra: Any) -> str:
    image = ec2.describe_images()["Images"][0]["ImageId"]
    instance: str = ec2.run_instances(
        ImageId=image, MinCount=1, MaxCount=1, MetadataOptions={"HttpTokens": tokens}, **extra
    )["Instances"][0]["InstanceId"]
    return instance


def _state(ec2: Any, instance: str) -> Callable[[], str]:
    def observe() -> str:
        found = ec2.describe_instances(InstanceIds=[instance])["Reservations"][0]["Instances"][0]
        arn = (found.get("IamInstanceProfile") or {}).get("Arn")
        profile = arn.rsplit("/", 1)[-1] if arn else "none"
        return f"instance {instance}: profile {profile}, httpTokens {found['MetadataOptions']['HttpTokens']}"

    return observe


def _request(params: dict[str, Any], name: str) -> dict[str, Any]:
    wrapped = params.get(f"{name}Request")
    return wrapped if isinstance(wrapped, dict) else params


def enact_run_instances(iam: Any, detail: dict[str, Any]) -> Callable[[], str] | None:
    """Launch what the event launched (from a launch template carrying the app profile, when it names one)."""
    ensure_instance_profile(iam, BASELINE_PROFILE)
    items = ((detail.get("responseElements") or {}).get("instancesSet") or {}).get("items") or []
    if not items:
        return None
    ec2 = _ec2(detail)
    tokens = (items[0].get("metadataOptions") or {}).get("httpTokens", "optional")
    if (detail.get("requestParameters") or {}).get("launchTemplate"):
        ensure_instance_profile(iam, APP_PROFILE)
        image = ec2.describe_images()["Images"][0]["ImageId"]
        template = ec2.create_launch_template(
            LaunchTemplateName=f"demo-{detail.get('eventID', 'template')}",
            LaunchTemplateData={"ImageId": image, "IamInstanceProfile": {"Name": APP_PROFILE}},
        )["LaunchTemplate"]["LaunchTemplateId"]
        instance = _launch(ec2, tokens, LaunchTemplate={"LaunchTemplateId": template})
        ec2.associate_iam_instance_profile(InstanceId=instance, IamInstanceProfile={"Name": APP_PROFILE})
        detail["requestParameters"]["launchTemplate"]["launchTemplateId"] = template
    else:
        instance = _launch(ec2, tokens)
    items[0]["instanceId"] = instance
    return _state(ec2, instance)


def enact_disassociate(iam: Any, detail: dict[str, Any]) -> Callable[[], str] | None:
    """An instance with the app profile, then the profile removed."""
    ensure_instance_profile(iam, BASELINE_PROFILE)
    ensure_instance_profile(iam, APP_PROFILE)
    ec2 = _ec2(detail)
    instance = _launch(ec2, "required", IamInstanceProfile={"Name": APP_PROFILE})
    [association] = ec2.describe_iam_instance_profile_associations(
        Filters=[{"Name": "instance-id", "Values": [instance]}]
    )["IamInstanceProfileAssociations"]
    ec2.disassociate_iam_instance_profile(AssociationId=association["AssociationId"])
    response = (detail.get("responseElements") or {}).get("DisassociateIamInstanceProfileResponse") or {}
    if isinstance(response.get("iamInstanceProfileAssociation"), dict):
        response["iamInstanceProfileAssociation"]["instanceId"] = instance
    return _state(ec2, instance)


def enact_modify_metadata_options(iam: Any, detail: dict[str, Any]) -> Callable[[], str] | None:
    """An instance with the app profile and IMDSv2, then httpTokens set as the event sets them."""
    ensure_instance_profile(iam, BASELINE_PROFILE)
    ensure_instance_profile(iam, APP_PROFILE)
    request = _request(detail.get("requestParameters") or {}, "ModifyInstanceMetadataOptions")
    ec2 = _ec2(detail)
    instance = _launch(ec2, "required", IamInstanceProfile={"Name": APP_PROFILE})
    ec2.modify_instance_metadata_options(InstanceId=instance, HttpTokens=request.get("HttpTokens", "optional"))
    request["InstanceId"] = instance
    return _state(ec2, instance)


ENACTORS: dict[str, Callable[[Any, dict[str, Any]], Callable[[], str] | None]] = {
    "RunInstances": enact_run_instances,
    "DisassociateIamInstanceProfile": enact_disassociate,
    "ModifyInstanceMetadataOptions": enact_modify_metadata_options,
}
