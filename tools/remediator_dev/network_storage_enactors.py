"""Enactors for s3_public and open_security_group: the moto account as if the event's call had succeeded.

Each makes the bucket or security group the event names, applies the change (the public policy or ACL, Block
Public Access deleted, the world-open rules), rewrites the event with the ids moto made, and returns an observer
that re-reads what the remediation changes (Block Public Access, the group's ingress rules).
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from typing import Any

import boto3

Observer = Callable[[], str]
_OPEN = {
    "BlockPublicAcls": False,
    "IgnorePublicAcls": False,
    "BlockPublicPolicy": False,
    "RestrictPublicBuckets": False,
}


def _client(service: str, detail: dict[str, Any]) -> Any:
    make: Callable[..., Any] = boto3.client  # the service is a variable: no typed overload applies
    return make(service, region_name=detail.get("awsRegion") or "us-east-1")


def _bucket(detail: dict[str, Any]) -> tuple[Any, str] | None:
    """The bucket the event names, with Block Public Access off (as it must be for a public policy to be put)."""
    bucket = (detail.get("requestParameters") or {}).get("bucketName")
    if not isinstance(bucket, str):
        return None
    s3 = _client("s3", detail)
    with contextlib.suppress(s3.exceptions.BucketAlreadyOwnedByYou):
        s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": detail.get("awsRegion")})
    s3.put_public_access_block(Bucket=bucket, PublicAccessBlockConfiguration=_OPEN)
    return s3, bucket


def _block_state(s3: Any, bucket: str) -> Observer:
    def observe() -> str:
        try:
            config = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
        except s3.exceptions.ClientError:
            return f"Block Public Access of bucket {bucket}: none"
        on = [name for name, value in sorted(config.items()) if value]
        return f"Block Public Access of bucket {bucket}: {len(on)} of 4 on"

    return observe


def enact_put_bucket_policy(iam: Any, detail: dict[str, Any]) -> Observer | None:
    made = _bucket(detail)
    policy = (detail.get("requestParameters") or {}).get("bucketPolicy")
    if made is None or policy is None:
        return None
    s3, bucket = made
    s3.put_bucket_policy(Bucket=bucket, Policy=policy if isinstance(policy, str) else json.dumps(policy))
    return _block_state(s3, bucket)


def enact_put_bucket_acl(iam: Any, detail: dict[str, Any]) -> Observer | None:
    made = _bucket(detail)
    if made is None:
        return None
    s3, bucket = made
    s3.put_bucket_acl(Bucket=bucket, ACL="public-read")
    return _block_state(s3, bucket)


def enact_delete_bucket_public_access_block(iam: Any, detail: dict[str, Any]) -> Observer | None:
    made = _bucket(detail)
    if made is None:
        return None
    s3, bucket = made
    s3.delete_public_access_block(Bucket=bucket)
    return _block_state(s3, bucket)


def _group(ec2: Any, name: str) -> str:
    """A security group with one rule the event must never touch (HTTPS from a private range)."""
    group: str = ec2.create_security_group(GroupName=name, Description="demo")["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=group,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443, "IpRanges": [{"CidrIp": "10.0.0.0/8"}]}],
    )
    return group


def _rules_state(ec2: Any, group: str) -> Observer:
    def observe() -> str:
        rules = ec2.describe_security_group_rules(Filters=[{"Name": "group-id", "Values": [group]}])
        shown = sorted(
            f"{r['IpProtocol']} {r['FromPort']}-{r['ToPort']} from {r.get('CidrIpv4') or r.get('CidrIpv6')}"
            for r in rules["SecurityGroupRules"]
            if not r["IsEgress"]
        )
        return f"ingress rules of {group}: {shown}"

    return observe


def _permission(rule: dict[str, Any]) -> dict[str, Any]:
    cidr = rule.get("cidrIpv4") or rule.get("CidrIpv4")
    ranges = {"IpRanges": [{"CidrIp": cidr}]} if cidr else {"Ipv6Ranges": [{"CidrIpv6": rule.get("cidrIpv6")}]}
    ports = {"FromPort": int(rule.get("fromPort", -1)), "ToPort": int(rule.get("toPort", -1))}
    return {"IpProtocol": str(rule.get("ipProtocol")), **ports, **ranges}


def enact_authorize_security_group_ingress(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """The group, then each rule the response reports, with moto's rule ids written back into the event."""
    items = ((detail.get("responseElements") or {}).get("securityGroupRuleSet") or {}).get("items") or []
    if not items:
        return None
    ec2 = _client("ec2", detail)
    group = _group(ec2, "demo-web")
    for item in items:
        made = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[_permission(item)])
        item["securityGroupRuleId"] = made["SecurityGroupRules"][0]["SecurityGroupRuleId"]
        item["groupId"] = group
    (detail.get("requestParameters") or {})["groupId"] = group
    return _rules_state(ec2, group)


def enact_modify_security_group_rules(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """A private rule, then modified as the event says (all traffic from anywhere), ids written back."""
    request = (detail.get("requestParameters") or {}).get("ModifySecurityGroupRulesRequest") or {}
    entry = request.get("SecurityGroupRule")
    if not isinstance(entry, dict) or not isinstance(entry.get("SecurityGroupRule"), dict):
        return None
    ec2 = _client("ec2", detail)
    group = _group(ec2, "demo-debug")
    private = {"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080, "IpRanges": [{"CidrIp": "10.1.0.0/16"}]}
    rule = ec2.authorize_security_group_ingress(GroupId=group, IpPermissions=[private])["SecurityGroupRules"][0]
    wanted = {key: value for key, value in entry["SecurityGroupRule"].items() if key != "Description"}
    if str(wanted.get("IpProtocol")) == "-1":  # AWS needs no ports for all traffic; moto wants -1 spelt out
        wanted = {"FromPort": -1, "ToPort": -1, **wanted}
    ec2.modify_security_group_rules(
        GroupId=group,
        SecurityGroupRules=[{"SecurityGroupRuleId": rule["SecurityGroupRuleId"], "SecurityGroupRule": wanted}],
    )
    request["GroupId"], entry["SecurityGroupRuleId"] = group, rule["SecurityGroupRuleId"]
    return _rules_state(ec2, group)


ENACTORS: dict[str, Callable[[Any, dict[str, Any]], Observer | None]] = {
    "PutBucketPolicy": enact_put_bucket_policy,
    "PutBucketAcl": enact_put_bucket_acl,
    "DeleteBucketPublicAccessBlock": enact_delete_bucket_public_access_block,
    "AuthorizeSecurityGroupIngress": enact_authorize_security_group_ingress,
    "ModifySecurityGroupRules": enact_modify_security_group_rules,
}
