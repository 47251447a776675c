"""Findings in AWS Security Hub (ASFF), beside the SNS message: one finding per event and rule.

Off by default (template parameter EnableSecurityHub -> ENABLE_SECURITY_HUB): the runtime imports this
module only when it is on. A finding remediated and verified is imported RESOLVED; an event that resolves
a rule's open finding (a user enrolling MFA) resolves the findings Security Hub holds for that resource.
"""

from __future__ import annotations

import hashlib
import json
import os
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Finding, Outcome
from remediator.rules import RULES
from remediator.rules.base import partition_of

if TYPE_CHECKING:
    from remediator.aws import AwsClients

SCHEMA_VERSION = "2018-10-08"
GENERATOR_PREFIX = "compliance-remediator"
ENABLE_VARIABLE = "ENABLE_SECURITY_HUB"

# Rule id -> (CIS AWS Foundations Benchmark v1.4.0 requirements, Security Hub control id) where one applies.
CONTROLS: dict[str, tuple[tuple[str, ...], str | None]] = {
    "access_keys": (("CIS AWS Foundations Benchmark v1.4.0/1.4", "CIS AWS Foundations Benchmark v1.4.0/1.14"), "IAM.3"),
    "console_mfa": (("CIS AWS Foundations Benchmark v1.4.0/1.10",), "IAM.5"),
    "root_activity": (("CIS AWS Foundations Benchmark v1.4.0/1.7",), "CloudWatch.1"),
    "iam_user_sprawl": (("CIS AWS Foundations Benchmark v1.4.0/1.21",), None),
    "role_trust": ((), None),
    "admin_grants": (("CIS AWS Foundations Benchmark v1.4.0/1.16",), "IAM.1"),
    "guardrail_tampering": (("CIS AWS Foundations Benchmark v1.4.0/3.1",), "CloudTrail.1"),
    "remediator_tampering": ((), None),
    "other_credentials": (("CIS AWS Foundations Benchmark v1.4.0/1.4",), None),
    "identity_center": (("CIS AWS Foundations Benchmark v1.4.0/1.16",), None),
    # EC2.8: instances should use IMDSv2; CIS v3.0.0 5.6 the same (a role on every instance: no control of its own).
    "ec2_without_role": (("CIS AWS Foundations Benchmark v3.0.0/5.6",), "EC2.8"),
    # S3.8: a bucket's Block Public Access (S3.1 for the account's, below); CIS 2.1.5.
    "s3_public": (("CIS AWS Foundations Benchmark v1.4.0/2.1.5",), "S3.8"),
    # EC2.18: unrestricted ingress only on authorised ports; CIS 5.2: no admin ports from 0.0.0.0/0.
    "open_security_group": (("CIS AWS Foundations Benchmark v1.4.0/5.2",), "EC2.18"),
    # One control per kind in Security Hub (EC2.1 snapshots, Lambda.1, RDS.1, S3.6, SNS/SQS, KMS.5 ...): none fits all.
    "external_access": ((), None),
}
ROOT_KEY_CONTROL = "IAM.4"  # a root access key: CIS 1.4
ACCOUNT_BLOCK_CONTROL = "S3.1"  # the account's Block Public Access

_RESOURCE_TYPES = {
    "user": "AwsIamUser",
    "role": "AwsIamRole",
    "access_key": "AwsIamAccessKey",
    "policy": "AwsIamPolicy",
    "group": "AwsIamGroup",
    "instance": "AwsEc2Instance",
    "bucket": "AwsS3Bucket",
    "security-group": "AwsEc2SecurityGroup",
}
_LIMITS = {"Title": 256, "Description": 1024, "Text": 512}


def enabled(environ: Any = None) -> bool:
    return str((environ or os.environ).get(ENABLE_VARIABLE, "")).strip().lower() == "true"


def _cut(text: str, field: str) -> str:
    limit = _LIMITS[field]
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _timestamp(value: datetime | None) -> str:
    return (value or datetime.now(UTC)).astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def finding_id(finding: Finding, record: CloudTrailRecord) -> str:
    """Stable per event and rule: importing the same event again updates the finding, never duplicates it."""
    event = (
        record.eventID
        or hashlib.sha256(json.dumps(record.model_dump(mode="json"), sort_keys=True, default=str).encode()).hexdigest()[
            :32
        ]
    )
    return f"{GENERATOR_PREFIX}/{finding.rule}/{event}"


def product_arn(partition: str, region: str, account: str) -> str:
    return f"arn:{partition}:securityhub:{region}:{account}:product/{account}/default"


def _resources(finding: Finding, partition: str, region: str) -> list[dict[str, Any]]:
    resource = finding.resource
    kind = "root" if resource.kind == "root" else resource.kind
    resources: list[dict[str, Any]] = [
        {
            "Type": _RESOURCE_TYPES.get(kind, "Other"),
            "Id": resource.arn or f"{resource.kind}/{resource.name}",
            "Partition": partition,
            "Region": region,
        }
    ]
    key_id = finding.details.get("key_id") if finding.rule == "access_keys" else None
    if isinstance(key_id, str) and key_id:
        resources.append(
            {
                "Type": "AwsIamAccessKey",
                "Id": key_id,
                "Partition": partition,
                "Region": region,
                "Details": {
                    "AwsIamAccessKey": {"AccessKeyId": key_id, "UserName": finding.details.get("user") or "root"}
                },
            }
        )
    return resources


def _remediation(finding: Finding) -> dict[str, Any]:
    meta = RULES[finding.rule].META
    text = f"Remediate mode: {finding.action}." if finding.action else f"Remediate mode: {meta.remediation}."
    if finding.undo:
        text += f" Undo: {finding.undo}"
    recommendation: dict[str, Any] = {"Text": _cut(text, "Text")}
    url = next((ref for ref in meta.references if ref.startswith("https://")), None)
    if url:
        recommendation["Url"] = url
    return {"Recommendation": recommendation}


def to_asff(
    finding: Finding, record: CloudTrailRecord, result: ActionResult | None = None, *, region: str | None = None
) -> dict[str, Any]:
    """One ASFF finding. `result` None (evaluate): nothing was done yet, workflow NEW."""
    meta = RULES[finding.rule].META
    partition = partition_of(record)
    account = finding.resource.account or record.account or "000000000000"
    region = region or record.awsRegion or os.environ.get("AWS_REGION") or "us-east-1"
    requirements, control = CONTROLS.get(finding.rule, ((), None))
    if finding.rule == "access_keys" and finding.resource.kind == "root":
        control = ROOT_KEY_CONTROL
    if finding.rule == "s3_public" and finding.resource.kind == "account":
        control = ACCOUNT_BLOCK_CONTROL
    fixed = result is not None and result.outcome == Outcome.VERIFIED
    compliance: dict[str, Any] = {"Status": "PASSED" if fixed else "FAILED"}
    if requirements:
        compliance["RelatedRequirements"] = list(requirements)
    if control:
        compliance["SecurityControlId"] = control
    fields = {
        "remediator/rule": finding.rule,
        "remediator/mode": str(finding.mode),
        "remediator/exempt": str(finding.exempt).lower(),
        "remediator/practice": meta.practice,
        "remediator/eventName": record.eventName,
        "remediator/caller": record.identity.arn or record.identity.display_name,
    }
    if record.eventID:
        fields["remediator/eventID"] = record.eventID
    if finding.undo:
        fields["remediator/undo"] = finding.undo
    if result is not None:
        fields["remediator/outcome"] = str(result.outcome)
        fields["remediator/detail"] = result.detail
    created = record.event_time
    return {
        "SchemaVersion": SCHEMA_VERSION,
        "Id": finding_id(finding, record),
        "ProductArn": product_arn(partition, region, account),
        "GeneratorId": f"{GENERATOR_PREFIX}/{finding.rule}",
        "AwsAccountId": account,
        "Region": region,
        "Types": ["Software and Configuration Checks/AWS Security Best Practices"],
        "CreatedAt": _timestamp(created),
        "UpdatedAt": _timestamp(None),
        "FirstObservedAt": _timestamp(created),
        "Severity": {"Label": str(finding.severity).upper(), "Original": str(finding.severity)},
        "Title": _cut(f"{finding.rule}: {meta.title}", "Title"),
        "Description": _cut(finding.reason, "Description"),
        "Remediation": _remediation(finding),
        "ProductFields": {key: value[:1024] for key, value in fields.items()},
        "Resources": _resources(finding, partition, region),
        "Compliance": compliance,
        "Workflow": {"Status": "RESOLVED" if fixed else ("SUPPRESSED" if finding.exempt else "NEW")},
        "RecordState": "ACTIVE",
    }


def import_finding(aws: AwsClients, finding: Finding, record: CloudTrailRecord, result: ActionResult) -> str | None:
    """BatchImportFindings for one finding; returns what went wrong, or None. Never raises: SNS already told a
    human, and a retry of the whole event would notify twice."""
    from botocore.exceptions import BotoCoreError, ClientError

    try:
        answer = aws.securityhub.batch_import_findings(
            Findings=[to_asff(finding, record, result, region=os.environ.get("AWS_REGION"))]
        )
    except (ClientError, BotoCoreError) as error:
        return str(error)
    failed = answer.get("FailedFindings") or []
    return "; ".join(f"{f.get('ErrorCode')}: {f.get('ErrorMessage')}" for f in failed) or None


def resolve_findings(aws: AwsClients, rule: str, resource_arn: str, why: str) -> int:
    """The rule's open findings on the resource, imported again as RESOLVED (the provider's own update)."""
    from botocore.exceptions import BotoCoreError, ClientError

    filters = {
        "GeneratorId": [{"Value": f"{GENERATOR_PREFIX}/{rule}", "Comparison": "EQUALS"}],
        "ResourceId": [{"Value": resource_arn, "Comparison": "EQUALS"}],
        "WorkflowStatus": [{"Value": "NEW", "Comparison": "EQUALS"}],
    }
    try:
        found = aws.securityhub.get_findings(Filters=filters, MaxResults=100).get("Findings", [])
        updates = []
        for old in found:
            if old.get("Workflow", {}).get("Status", "NEW") != "NEW":
                continue
            fields = {**old.get("ProductFields", {}), "remediator/resolvedBy": why[:1024]}
            keep = {
                key: old[key]
                for key in (
                    "SchemaVersion",
                    "Id",
                    "ProductArn",
                    "GeneratorId",
                    "AwsAccountId",
                    "CreatedAt",
                    "Title",
                    "Description",
                    "Resources",
                    "Types",
                    "Severity",
                )
                if key in old
            }
            updates.append(
                {
                    **keep,
                    "UpdatedAt": _timestamp(None),
                    "ProductFields": fields,
                    "Compliance": {**old.get("Compliance", {}), "Status": "PASSED"},
                    "Workflow": {"Status": "RESOLVED"},
                }
            )
        if updates:
            aws.securityhub.batch_import_findings(Findings=updates)
    except (ClientError, BotoCoreError):
        return 0
    return len(updates)
