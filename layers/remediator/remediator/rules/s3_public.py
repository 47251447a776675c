"""s3_public: a bucket anyone on the internet can read, or the protection that stops it switched off.

Practice 10: no world-readable S3. A bucket policy that allows anything to `*` without a condition that confines it
to known accounts or networks (policy/public.py), an ACL granting AllUsers or AuthenticatedUsers (any AWS
customer), Block Public Access deleted or any of its four settings turned off (bucket or account), and ACLs
re-enabled through object ownership: each is reported, the public grant critical, protection turned off high.
Remediate puts Block Public Access back with all four settings on (the bucket's, or the account's for an account
call) and re-reads it: the policy and ACL stay as they are (the message quotes them), they just stop working. A
bucket meant to be public (a website) is exempted by its ARN in the exemption list, never by a tag or a name.
"""

from __future__ import annotations

import json
import re
import shlex
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.policy.document import PolicyParseError
from remediator.policy.public import public_statements
from remediator.rules.base import EvalContext, RuleMeta, Trigger, keep_mode, partition_of, resolves_nothing

BUCKET_EVENTS = (
    "PutBucketPolicy",
    "PutBucketAcl",
    "DeleteBucketPublicAccessBlock",
    "PutBucketPublicAccessBlock",
    "PutBucketOwnershipControls",
)
ACCOUNT_EVENTS = ("PutAccountPublicAccessBlock", "DeleteAccountPublicAccessBlock")
SETTINGS = ("BlockPublicAcls", "IgnorePublicAcls", "BlockPublicPolicy", "RestrictPublicBuckets")
ALL_ON = dict.fromkeys(SETTINGS, True)

META = RuleMeta(
    id="s3_public",
    title="S3 bucket made public, or Block Public Access turned off",
    practice="No world-readable S3: no bucket policy or ACL open to everyone, Block Public Access on",
    severity=Severity.CRITICAL,
    triggers=(
        Trigger(sources=("aws.s3",), event_sources=("s3.amazonaws.com",), event_names=BUCKET_EVENTS + ACCOUNT_EVENTS),
    ),
    resource_path="requestParameters.bucketName",
    remediation="put Block Public Access back on the bucket (the account's for an account-level change) with all "
    "four settings on, then re-read it; the policy and ACL are kept and quoted in the message",
    undo="aws s3api delete-public-access-block --bucket {bucket} / aws s3control delete-public-access-block "
    "--account-id {account}",
    remediation_actions=(
        "s3:PutBucketPublicAccessBlock",
        "s3:GetBucketPublicAccessBlock",
        "s3:PutAccountPublicAccessBlock",
        "s3:GetAccountPublicAccessBlock",
    ),
    references=(
        "https://docs.aws.amazon.com/AmazonS3/latest/userguide/access-control-block-public-access.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/s3-controls.html",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

BUCKET = re.compile(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]")
ACCOUNT = re.compile(r"\d{12}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d")
PUBLIC_GROUPS = {
    "http://acs.amazonaws.com/groups/global/AllUsers": "everyone (AllUsers)",
    "http://acs.amazonaws.com/groups/global/AuthenticatedUsers": "every AWS account (AuthenticatedUsers)",
}
PUBLIC_CANNED = {
    "public-read": "everyone may read",
    "public-read-write": "everyone may read and write",
    "authenticated-read": "every AWS account may read",
}
GRANT_HEADERS = (
    "x-amz-grant-read",
    "x-amz-grant-write",
    "x-amz-grant-read-acp",
    "x-amz-grant-write-acp",
    "x-amz-grant-full-control",
)


def _compact(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), default=str)


def _texts(value: Any) -> list[str]:
    """CloudTrail records S3 headers as a list of strings (sometimes one string)."""
    return [v for v in (value if isinstance(value, list) else [value]) if isinstance(v, str)]


def _items(value: Any) -> list[Any]:
    """S3's XML-as-JSON: one child is an object, several a list."""
    return value if isinstance(value, list) else [value] if value is not None else []


# ---------------------------------------------------------------- what each call does


def _policy(params: dict[str, Any]) -> tuple[Severity, str] | None:
    document = params.get("bucketPolicy")
    if document is None or document == "":
        return Severity.LOW, "put a bucket policy that the event does not carry: whether it is public could not be read"
    try:
        public = public_statements(document)
    except PolicyParseError as error:
        return Severity.LOW, f"put a bucket policy that could not be read ({error}): whether it is public is unknown"
    if not public:
        return None
    grants = "; ".join(f"statement {s.sid or s.index} allows {', '.join(s.actions)} to {s.principal}" for s in public)
    original = document if isinstance(document, str) else _compact(document)
    return (
        Severity.CRITICAL,
        f"put a bucket policy that opens the bucket to everyone ({grants}; no organization, account or VPC "
        f"condition narrows it). The policy as put: {original}",
    )


def _acl_grants(params: dict[str, Any]) -> list[str]:
    grants = [
        f"canned ACL {acl}: {PUBLIC_CANNED[acl]}" for acl in _texts(params.get("x-amz-acl")) if acl in PUBLIC_CANNED
    ]
    for header in GRANT_HEADERS:
        for value in _texts(params.get(header)):
            grants += [f"{header} to {who}" for uri, who in PUBLIC_GROUPS.items() if uri in value]
    policy = params.get("AccessControlPolicy")
    acl = policy.get("AccessControlList") if isinstance(policy, dict) else None
    for grant in _items(acl.get("Grant") if isinstance(acl, dict) else None):
        grantee = grant.get("Grantee") if isinstance(grant, dict) else None
        uri = grantee.get("URI") if isinstance(grantee, dict) else None
        if isinstance(uri, str) and uri in PUBLIC_GROUPS:
            grants.append(f"{grant.get('Permission') or 'a permission'} to {PUBLIC_GROUPS[uri]}")
    return grants


def _acl(params: dict[str, Any]) -> tuple[Severity, str] | None:
    grants = _acl_grants(params)
    if not grants:
        return None
    sent = {k: v for k, v in params.items() if k == "AccessControlPolicy" or k.startswith("x-amz-")}
    return Severity.CRITICAL, f"set a bucket ACL that grants {'; '.join(grants)}. The ACL as set: {_compact(sent)}"


def _flag(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.strip().lower() == "true")


def _block(params: dict[str, Any], scope: str) -> tuple[Severity, str] | None:
    config = params.get("PublicAccessBlockConfiguration")
    if not isinstance(config, dict):
        return Severity.LOW, f"changed Block Public Access of {scope}, but the event does not carry the new settings"
    off = [name for name in SETTINGS if not _flag(config.get(name))]  # an omitted setting is off (S3's default)
    if not off:
        return None
    shown = {name: _flag(config.get(name)) for name in SETTINGS}
    return Severity.HIGH, f"turned Block Public Access of {scope} partly off ({', '.join(off)} off): {_compact(shown)}"


def _ownership(params: dict[str, Any]) -> tuple[Severity, str] | None:
    controls = params.get("OwnershipControls")
    rules = _items(controls.get("Rule") if isinstance(controls, dict) else None)
    owners = [r.get("ObjectOwnership") for r in rules if isinstance(r, dict)]
    if not owners:
        return Severity.LOW, "changed the bucket's object ownership, but the event does not carry the new setting"
    if all(owner == "BucketOwnerEnforced" for owner in owners):
        return None
    return (
        Severity.HIGH,
        f"set object ownership {', '.join(map(str, owners))}: ACLs work again on the bucket, so a public ACL "
        "can open it",
    )


def _verdict(record: CloudTrailRecord, bucket: str) -> tuple[Severity, str] | None:
    params, event = record.params, record.eventName
    if event == "PutBucketPolicy":
        return _policy(params)
    if event == "PutBucketAcl":
        return _acl(params)
    if event == "PutBucketOwnershipControls":
        return _ownership(params)
    if event == "PutBucketPublicAccessBlock":
        return _block(params, f"bucket {bucket}")
    if event == "PutAccountPublicAccessBlock":
        return _block(params, "the account (every bucket)")
    if event == "DeleteAccountPublicAccessBlock":
        return Severity.HIGH, "deleted the account's Block Public Access: no bucket is protected by it any more"
    return Severity.HIGH, f"deleted Block Public Access of bucket {bucket}: a public policy or ACL now takes effect"


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    account_level = record.eventName in ACCOUNT_EVENTS
    named = record.params.get("bucketName")
    bucket = named if isinstance(named, str) and BUCKET.fullmatch(named) else None
    shown = bucket or (named if isinstance(named, str) and named else "(bucket not named in the event)")
    verdict = _verdict(record, shown)
    if verdict is None:
        return None
    severity, what = verdict
    account = record.account if record.account and ACCOUNT.fullmatch(record.account) else None
    region = record.awsRegion if record.awsRegion and REGION.fullmatch(record.awsRegion) else None
    arn = f"arn:{partition_of(record)}:s3:::{bucket}" if bucket else None
    caller = record.identity
    where = f" ({record.sourceIPAddress})" if record.sourceIPAddress else ""
    reason = f"{caller.display_name}{where} {what}."
    if account_level:
        target, resource = account, Resource("account", account or "unknown", account)
        action = f"turn the account's Block Public Access back on (all four settings) for account {account}"
        undo = f"aws s3control delete-public-access-block --account-id {account}"
        exemption = exemption_for(context, record, "account", account, None, rule=META.id)
    else:
        target, resource = bucket, Resource("bucket", shown, record.account, arn)
        action = f"turn Block Public Access of bucket {bucket} back on (all four settings)"
        undo = f"aws s3api delete-public-access-block --bucket {shlex.quote(bucket or '')}"
        exemption = exemption_for(context, record, "bucket", bucket, arn, rule=META.id)
    config = record.params.get("PublicAccessBlockConfiguration")
    if (
        record.eventName.startswith("Put")
        and record.eventName.endswith("PublicAccessBlock")
        and isinstance(config, dict)
    ):
        # Undo ours by putting back what the caller set.
        sent = shlex.quote(_compact({name: _flag(config.get(name)) for name in SETTINGS}))
        undo = undo.replace("delete-public-access-block", "put-public-access-block") + (
            f" --public-access-block-configuration {sent}"
        )
    final: str | None = action
    if severity == Severity.LOW:
        final = None  # what the change did is unknown: reported for a human, never acted on
    elif target is None:
        final = None
        reason += " The event does not name it in a form we can act on, so nothing is changed automatically."
    reason, final = exemption.applied_to(reason, final)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=final,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=undo if final else None,
        details={"scope": "account" if account_level else "bucket", "target": target, "region": region},
    )


# ---------------------------------------------------------------- remediate: Block Public Access back on


def _read(read: Any, **key: str) -> dict[str, Any] | None:
    try:
        config: dict[str, Any] = read(**key)["PublicAccessBlockConfiguration"]
    except ClientError as error:
        if error_code(error) == "NoSuchPublicAccessBlockConfiguration":
            return None
        raise
    return config


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """All four settings on, then re-read: verified only when the re-read shows every one of them on."""
    details = finding.details
    target = details["target"]
    if details["scope"] == "account":
        client, key, what = aws.regional("s3control", details.get("region")), {"AccountId": target}, "the account"
    else:
        client, key, what = aws.regional("s3", details.get("region")), {"Bucket": target}, f"bucket {target}"
    try:
        before = _read(client.get_public_access_block, **key)
        client.put_public_access_block(**key, PublicAccessBlockConfiguration=ALL_ON)
        after = _read(client.get_public_access_block, **key)
    except ClientError as error:
        code = error_code(error)
        if code == "NoSuchBucket":
            return ActionResult(Outcome.SKIPPED, f"{what} no longer exists: nothing to protect.", f"{code}: {error}")
        return ActionResult(
            Outcome.FAILED, f"could not turn Block Public Access of {what} back on.", f"{code}: {error}"
        )
    previous = _compact(before) if before else "none"
    if after and all(after.get(name) is True for name in SETTINGS):
        return ActionResult(
            Outcome.VERIFIED,
            f"Block Public Access of {what} is on again, all four settings (verified by re-reading it; it was "
            f"{previous}).",
        )
    return ActionResult(Outcome.FAILED, f"Block Public Access of {what} reads {after} after turning it on.")
