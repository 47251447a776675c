"""external_access: a resource shared with everyone, or with an account that is not ours, leaks or hands out data.

An AMI, an EBS or RDS snapshot, a Lambda function, a KMS key, a secret, an SNS topic, an SQS queue, a bucket, an
ECR repository, a Glacier vault, an EFS file system or an OpenSearch domain opened by its resource policy or its
sharing list. Each kind's added sharing is read from the event into statements and judged by the same principal
and condition analysis as role trust (docs/policy-analysis.md): `*`/`all` with no organization, account or ARN
condition is everyone (critical); an account that is neither this one, nor a trusted one, nor in this or a
trusted organization is an outsider (high). A public bucket policy is `s3_public`'s: here only its grants to
other accounts count. Remediate removes exactly the added sharing (the launch or volume permission, the restore
value, the statement id, the grant, the offending statements of the live policy), keeps the rest, and re-reads.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from remediator.aws import AwsClients
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for, review_finding
from remediator.findings import ActionResult, Finding, Resource, Severity
from remediator.own_resources import lambda_action
from remediator.policy import PolicyParseError, TrustVerdict, analyse_resource_policy, load_policy_document
from remediator.remediate.sharing import LISTS, POLICIES, remove_sharing
from remediator.remediation import compact
from remediator.rules.base import EvalContext, RuleMeta, Trigger, keep_mode, partition_of, resolves_nothing
from remediator.state import StateUnreadable

LAMBDA_NAMES = ("AddPermission20150331v2", "AddPermission20150331", "AddPermission")
_SERVICES = {
    "ec2": ("ModifyImageAttribute", "ModifySnapshotAttribute"),
    "rds": ("ModifyDBSnapshotAttribute", "ModifyDBClusterSnapshotAttribute"),
    "lambda": LAMBDA_NAMES,
    "kms": ("PutKeyPolicy", "CreateGrant"),
    "secretsmanager": ("PutResourcePolicy",),
    "sns": ("SetTopicAttributes", "AddPermission"),
    "sqs": ("SetQueueAttributes", "AddPermission"),
    "s3": ("PutBucketPolicy",),
    "ecr": ("SetRepositoryPolicy",),
    "glacier": ("SetVaultAccessPolicy",),
    "elasticfilesystem": ("PutFileSystemPolicy",),
    "es": ("UpdateDomainConfig", "CreateDomain", "UpdateElasticsearchDomainConfig", "CreateElasticsearchDomain"),
}

META = RuleMeta(
    id="external_access",
    title="Resource shared with everyone or with an untrusted account",
    practice="Share resources only with this account, trusted accounts and the organization; never publicly",
    severity=Severity.HIGH,
    triggers=tuple(
        Trigger(sources=(f"aws.{service}",), event_sources=(f"{service}.amazonaws.com",), event_names=names)
        for service, names in _SERVICES.items()
    ),
    resource_path="requestParameters.imageId || requestParameters.snapshotId || requestParameters.functionName || "
    "requestParameters.keyId || requestParameters.secretId || requestParameters.topicArn || "
    "requestParameters.queueUrl || requestParameters.bucketName",
    remediation="remove exactly the added sharing (launch or volume permission, restore value, permission "
    "statement, grant, or the offending statements of the live policy), keeping the rest; Glacier and "
    "OpenSearch: notify with the command",
    undo="the command in the message puts the original sharing or policy back",
    remediation_actions=(
        "ec2:ModifyImageAttribute",
        "ec2:DescribeImageAttribute",
        "ec2:ModifySnapshotAttribute",
        "ec2:DescribeSnapshotAttribute",
        "rds:ModifyDBSnapshotAttribute",
        "rds:DescribeDBSnapshotAttributes",
        "rds:ModifyDBClusterSnapshotAttribute",
        "rds:DescribeDBClusterSnapshotAttributes",
        "lambda:RemovePermission",
        "lambda:GetPolicy",
        "sns:RemovePermission",
        "sns:GetTopicAttributes",
        "sns:SetTopicAttributes",
        "kms:RevokeGrant",
        "kms:ListGrants",
        "kms:GetKeyPolicy",
        "kms:PutKeyPolicy",
        "secretsmanager:GetResourcePolicy",
        "secretsmanager:PutResourcePolicy",
        "secretsmanager:DeleteResourcePolicy",
        "s3:GetBucketPolicy",
        "s3:PutBucketPolicy",
        "s3:DeleteBucketPolicy",
        "sqs:GetQueueAttributes",
        "sqs:SetQueueAttributes",
        "sqs:RemovePermission",
        "ecr:GetRepositoryPolicy",
        "ecr:SetRepositoryPolicy",
        "ecr:DeleteRepositoryPolicy",
        "elasticfilesystem:DescribeFileSystemPolicy",
        "elasticfilesystem:PutFileSystemPolicy",
        "elasticfilesystem:DeleteFileSystemPolicy",
    ),
    state_actions=("lambda:GetPolicy", "organizations:DescribeOrganization"),
    references=(
        "https://docs.aws.amazon.com/IAM/latest/UserGuide/access-analyzer-resources.html",
        "https://stratus-red-team.cloud/attack-techniques/AWS/",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing


@dataclass
class Shared:
    """What one event added: the sharing as statements to judge, and per statement what removing it means."""

    name: str | None
    statements: list[dict[str, Any]] = field(default_factory=list)
    entries: list[Any] = field(default_factory=list)  # per statement; None: the statement itself (policy kinds)
    problem: str = ""  # why the sharing could not be read
    invalid: list[str] = field(default_factory=list)  # shared with values that name no account


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _principal(value: str) -> dict[str, Any] | None:
    """A shared-with value (account id, ARN, `all`/`*`, organization or OU ARN) as a statement; None if none."""
    if value in ("*", "all"):
        return {"Effect": "Allow", "Principal": "*", "Action": "*"}
    if (value.isdigit() and len(value) == 12) or (value.startswith("arn:") and ":iam::" in value):
        return {"Effect": "Allow", "Principal": {"AWS": value}, "Action": "*"}
    if value.startswith("arn:") and ":organizations::" in value:  # organization/o-x, ou/o-x/ou-y: that organization
        org = next((part for part in value.split("/") if part.startswith("o-")), "")
        condition = {"StringEquals": {"aws:PrincipalOrgID": org}}
        return {"Effect": "Allow", "Principal": "*", "Action": "*", "Condition": condition} if org else None
    if value.endswith(".amazonaws.com"):
        return {"Effect": "Allow", "Principal": {"Service": value}, "Action": "*"}
    return None


def _listed(name: str | None, values: list[tuple[str, Any]]) -> Shared:
    """A sharing list (accounts, groups, organizations) as one statement per value; `values`: (value, entry)."""
    shared = Shared(name)
    for value, entry in values:
        statement = _principal(value)
        if statement is None:
            shared.invalid.append(value)
        else:
            shared.statements.append(statement)
            shared.entries.append(entry)
    return shared


def _ec2(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    image = record.eventName == "ModifyImageAttribute"
    block = record.params.get("launchPermission" if image else "createVolumePermission")
    added = block.get("add") if isinstance(block, dict) else None
    items = added.get("items") if isinstance(added, dict) else added
    if not isinstance(items, list) or not items:
        return None
    values = []
    for item in items:
        for key, value in item.items() if isinstance(item, dict) else ():
            if isinstance(value, str):  # userId, group, organizationArn, organizationalUnitArn -> the API's names
                values.append((value, {key[:1].upper() + key[1:]: value}))
    return _listed(_text(record.params.get("imageId" if image else "snapshotId")), values)


def _rds(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    values = record.params.get("valuesToAdd")
    if record.params.get("attributeName") != "restore" or not isinstance(values, list) or not values:
        return None
    name = record.params.get("dBSnapshotIdentifier") or record.params.get("dBClusterSnapshotIdentifier")
    return _listed(_text(name), [(str(v), str(v)) for v in values])


def _lambda(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    params, name = record.params, _text(record.params.get("functionName"))
    if lambda_action(record.eventName) != "AddPermission":
        return None
    statement: dict[str, Any] | None
    try:
        raw = record.response["statement"]
        statement = load_policy_document({"Statement": [json.loads(raw) if isinstance(raw, str) else raw]})
        statement = statement["Statement"][0]
    except (KeyError, TypeError, IndexError, ValueError, PolicyParseError):
        statement = _principal(str(params.get("principal") or ""))
        conditions = {
            ("StringEquals", "aws:SourceAccount"): params.get("sourceAccount"),
            ("ArnLike", "aws:SourceArn"): params.get("sourceArn"),
            ("StringEquals", "aws:PrincipalOrgID"): params.get("principalOrgID"),
        }
        if statement is not None:
            statement = {**statement, "Sid": params.get("statementId")}
            for (operator, key), value in conditions.items():
                if isinstance(value, str) and value:
                    statement.setdefault("Condition", {}).setdefault(operator, {})[key] = value
    if statement is not None:
        return Shared(name, [statement], [statement.get("Sid")])
    if name is None:
        return Shared(name, problem="the event names neither the permission nor the function")
    qualifier = _text(params.get("qualifier"))
    try:  # the event does not carry what was added: judge the function's whole policy
        live = context.state.regional_read(
            "lambda",
            record.awsRegion,
            f"the resource policy of function {name}",
            lambda client: client.get_policy(FunctionName=name, **({"Qualifier": qualifier} if qualifier else {})),
        )
        statements = load_policy_document(live["Policy"])["Statement"]
    except (StateUnreadable, PolicyParseError) as error:
        return Shared(name, problem=f"the event does not carry the permission and {error} could not be read")
    return Shared(name, statements, [s.get("Sid") for s in statements])


def _permission(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    """SNS/SQS AddPermission: accounts under one label (removing the label removes exactly them)."""
    params = record.params
    accounts = params.get("aWSAccountId") or params.get("aWSAccountIds") or params.get("AWSAccountIds")
    label = _text(params.get("label"))
    if not isinstance(accounts, list) or not accounts:
        return None
    return _listed(_text(params.get("topicArn") or params.get("queueUrl")), [(str(a), label) for a in accounts])


def _grant(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    grantee = _text(record.params.get("granteePrincipal"))
    if grantee is None:
        return None
    return _listed(_text(record.params.get("keyId")), [(grantee, _text(record.response.get("grantId")))])


# Resource policies: the resource kind, where the event holds the document, the parameter naming the resource,
# and the command that writes a document ({kept}: the document without the offending statements).
_PUT_SNS = "aws sns set-topic-attributes --topic-arn {name} --attribute-name Policy --attribute-value {kept}"
POLICY_KINDS: dict[str, tuple[str, str, str, str]] = {
    "sns:SetTopicAttributes": ("topic", "attributeValue", "topicArn", _PUT_SNS),
    "sqs:SetQueueAttributes": (
        "queue",
        "attributes.Policy",
        "queueUrl",
        "aws sqs set-queue-attributes --queue-url {name} --attributes {kept_attr}",
    ),
    "kms:PutKeyPolicy": (
        "key",
        "policy",
        "keyId",
        "aws kms put-key-policy --key-id {name} --policy-name default --policy {kept}",
    ),
    "secretsmanager:PutResourcePolicy": (
        "secret",
        "resourcePolicy",
        "secretId",
        "aws secretsmanager put-resource-policy --secret-id {name} --resource-policy {kept}",
    ),
    "s3:PutBucketPolicy": (
        "bucket",
        "bucketPolicy",
        "bucketName",
        "aws s3api put-bucket-policy --bucket {name} --policy {kept}",
    ),
    "ecr:SetRepositoryPolicy": (
        "repository",
        "policyText",
        "repositoryName",
        "aws ecr set-repository-policy --repository-name {name} --policy-text {kept}",
    ),
    "glacier:SetVaultAccessPolicy": (
        "vault",
        "policy.policy",
        "vaultName",
        "aws glacier set-vault-access-policy --account-id - --vault-name {name} --policy {kept_attr}",
    ),
    "elasticfilesystem:PutFileSystemPolicy": (
        "file-system",
        "policy",
        "fileSystemId",
        "aws efs put-file-system-policy --file-system-id {name} --policy {kept}",
    ),
    **{
        f"es:{name}": (
            "domain",
            "accessPolicies",
            "domainName",
            "aws opensearch update-domain-config --domain-name {name} --access-policies {kept}",
        )
        for name in _SERVICES["es"]
    },
}
# When every statement goes: the kinds whose policy may be absent.
EMPTY_FIX = {
    "bucket": "aws s3api delete-bucket-policy --bucket {name}",
    "secret": "aws secretsmanager delete-resource-policy --secret-id {name}",
    "queue": "aws sqs set-queue-attributes --queue-url {name} --attributes Policy=",
    "repository": "aws ecr delete-repository-policy --repository-name {name}",
    "file-system": "aws efs delete-file-system-policy --file-system-id {name}",
}


def _policy(record: CloudTrailRecord, context: EvalContext) -> Shared | None:
    _, path, name_key, _ = POLICY_KINDS[_key(record)]
    raw: Any = record.params
    for part in path.split("."):
        raw = raw.get(part) if isinstance(raw, dict) else None
    if record.eventName == "SetTopicAttributes" and record.params.get("attributeName") != "Policy":
        return None  # another attribute
    name = _text(record.params.get(name_key))
    if raw is None or raw == "" or raw == {}:
        return None  # the policy removed
    if isinstance(raw, dict) and raw.get("omitted"):
        return Shared(name, problem="CloudTrail omitted the policy from the event")
    try:
        statements = load_policy_document(raw)["Statement"]
    except PolicyParseError as error:
        return Shared(name, problem=f"the policy in the event is unreadable ({error})")
    return Shared(name, statements, [None] * len(statements))


def _key(record: CloudTrailRecord) -> str:
    service = record.eventSource.split(".", 1)[0]
    return f"{service}:{lambda_action(record.eventName) if service == 'lambda' else record.eventName}"


# Sharing lists: the resource kind, how to read what was added, the commands that remove it and put it back.
_IMAGE = "aws ec2 modify-image-attribute --image-id {name} --launch-permission "
_SNAP = "aws ec2 modify-snapshot-attribute --snapshot-id {name} --attribute createVolumePermission "
_DB = "aws rds modify-db-snapshot-attribute --db-snapshot-identifier {name} --attribute-name restore "
_CLUSTER = (
    "aws rds modify-db-cluster-snapshot-attribute --db-cluster-snapshot-identifier {name} --attribute-name restore "
)
Reader = Callable[[CloudTrailRecord, EvalContext], Shared | None]
LIST_KINDS: dict[str, tuple[str, Reader, str, str]] = {
    "ec2:ModifyImageAttribute": ("image", _ec2, _IMAGE + "{removed}", _IMAGE + "{added}"),
    "ec2:ModifySnapshotAttribute": (
        "snapshot",
        _ec2,
        _SNAP + "--operation-type remove {flags}",
        _SNAP + "--operation-type add {flags}",
    ),
    "rds:ModifyDBSnapshotAttribute": (
        "db-snapshot",
        _rds,
        _DB + "--values-to-remove {values}",
        _DB + "--values-to-add {values}",
    ),
    "rds:ModifyDBClusterSnapshotAttribute": (
        "db-cluster-snapshot",
        _rds,
        _CLUSTER + "--values-to-remove {values}",
        _CLUSTER + "--values-to-add {values}",
    ),
    "lambda:AddPermission": (
        "function",
        _lambda,
        "aws lambda remove-permission --function-name {name} --statement-id {values}",
        "aws lambda add-permission --function-name {name} --statement-id {values} "
        "--action {action} --principal {principal}{conditions}",
    ),
    "sns:AddPermission": (
        "topic",
        _permission,
        "aws sns remove-permission --topic-arn {name} --label {values}",
        "aws sns add-permission --topic-arn {name} --label {values} --aws-account-id {accounts} "
        "--action-name {actions}",
    ),
    "sqs:AddPermission": (
        "queue",
        _permission,
        "aws sqs remove-permission --queue-url {name} --label {values}",
        "aws sqs add-permission --queue-url {name} --label {values} --aws-account-ids {accounts} --actions {actions}",
    ),
    "kms:CreateGrant": (
        "key",
        _grant,
        "aws kms revoke-grant --key-id {name} --grant-id {values}",
        "aws kms create-grant --key-id {name} --grantee-principal {principal} --operations {actions}",
    ),
}


@dataclass(frozen=True)
class Kind:
    resource: str
    read: Reader
    fix: str  # the command that removes the offending sharing ({name}, {kept}, {removed}, {values} ...: quoted)
    undo: str  # the command that puts it back
    remediates: bool  # remediate/sharing.py knows how to remove it (moto-tested); else notify with `fix`
    policy: bool = False  # a resource policy (its offending statements are stripped), not a sharing list


KINDS: dict[str, Kind] = {
    **{key: Kind(r, read, fix, undo, key in LISTS) for key, (r, read, fix, undo) in LIST_KINDS.items()},
    **{
        key: Kind(r, _policy, put, put.replace("{kept", "{original"), key in POLICIES, policy=True)
        for key, (r, _, _, put) in POLICY_KINDS.items()
    },
}


def _own_organization(context: EvalContext) -> tuple[str | None, str]:
    """The account's organization, or why one named in a condition is taken to be it (as role_trust does)."""
    try:
        return context.state.organization_id(), ""
    except StateUnreadable as error:
        return (
            None,
            f"Could not read {error}, so an organization named in a condition is taken to be the account's own.",
        )


def _judge(shared: Shared, record: CloudTrailRecord, context: EvalContext) -> tuple[TrustVerdict, str]:
    settings = context.settings
    own_org, org_note = _own_organization(context)
    verdict = analyse_resource_policy(
        {"Version": "2012-10-17", "Statement": shared.statements},
        record.account,
        settings.trusted_accounts,
        settings.trusted_org_ids,
        own_org_id=own_org,
        assume_named_org_is_own=own_org is None and bool(org_note),
    )
    return verdict, org_note if verdict.assumptions else ""


def _whom(principal: str, kind: str) -> str:
    if kind == "broad":
        return "everyone" if principal == "*" else f"anyone through {principal}"
    return f"{principal} (not this account, a trusted account or the organization)"


def _q(value: Any) -> str:
    return shlex.quote(value if isinstance(value, str) else compact(value))


def _commands(kind: Kind, shared: Shared, offending: list[int], record: CloudTrailRecord) -> tuple[str, str]:
    """The by-hand command that removes the offending sharing, and the one that puts it back."""
    removed = [shared.entries[i] for i in offending]
    kept = [s for i, s in enumerate(shared.statements) if i not in offending]
    document = {"Version": "2012-10-17", "Statement": kept}
    values = dict.fromkeys(str(e) for e in removed if e is not None)
    params = record.params
    flags = {"sourceAccount": "--source-account", "sourceArn": "--source-arn", "principalOrgID": "--principal-org-id"}
    original = {"Version": "2012-10-17", "Statement": shared.statements}
    fields = {
        "principal": _q(params.get("principal") or params.get("granteePrincipal") or "<principal>"),
        "action": _q(params.get("action") or "lambda:InvokeFunction"),
        "conditions": "".join(f" {flag} {_q(params[k])}" for k, flag in flags.items() if _text(params.get(k))),
        "accounts": " ".join(_q(a) for a in params.get("aWSAccountId") or params.get("aWSAccountIds") or ()),
        "actions": " ".join(
            _q(a) for a in params.get("actionName") or params.get("operations") or params.get("actions") or ()
        ),
        "name": _q(shared.name or "<resource>"),
        "removed": _q({"Remove": removed}),
        "added": _q({"Add": removed}),
        "flags": " ".join(f"--{f} {_q(e[k])}" for e in removed for k, f in SNAPSHOT_FLAGS if k in (e or {})),
        "values": " ".join(_q(v) for v in values) or "<id>",
        "kept": _q(document),
        "kept_attr": _q({"Policy": compact(document)}),
        "original": _q(original),
        "original_attr": _q({"Policy": compact(original)}),
    }
    fix = kind.fix.format(**fields)
    if not kept and kind.policy and kind.resource in EMPTY_FIX:
        fix = EMPTY_FIX[kind.resource].format(**fields)
    where = f" --region {_q(record.awsRegion)}" if record.awsRegion else ""
    return fix + where, (kind.undo.format(**fields) + where) if kind.undo else ""


# The resource's ARN (exemption entries name it) where the event gives a name or id rather than the ARN.
ARNS = {
    "image": "ec2:{region}::image/{name}",
    "snapshot": "ec2:{region}::snapshot/{name}",
    "db-snapshot": "rds:{region}:{account}:snapshot:{name}",
    "db-cluster-snapshot": "rds:{region}:{account}:cluster-snapshot:{name}",
    "function": "lambda:{region}:{account}:function:{name}",
    "key": "kms:{region}:{account}:key/{name}",
    "secret": "secretsmanager:{region}:{account}:secret:{name}",
    "queue": "sqs:{region}:{account}:{name}",
    "bucket": "s3:::{name}",
    "repository": "ecr:{region}:{account}:repository/{name}",
    "vault": "glacier:{region}:{account}:vaults/{name}",
    "file-system": "elasticfilesystem:{region}:{account}:file-system/{name}",
    "domain": "es:{region}:{account}:domain/{name}",
}


def _arn(kind: str, name: str | None, record: CloudTrailRecord) -> str | None:
    if name and name.startswith("arn:"):
        return name
    if not name or kind not in ARNS:
        return None
    last = name.rstrip("/").rsplit("/", 1)[-1]  # a queue URL ends in the queue's name
    where = ARNS[kind].format(region=record.awsRegion or "", account=record.account or "", name=last)
    return f"arn:{partition_of(record)}:{where}"


SNAPSHOT_FLAGS = (("UserId", "user-ids"), ("Group", "group-names"))


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    kind = KINDS.get(_key(record))
    shared = kind.read(record, context) if kind else None
    if kind is None or shared is None:
        return None
    label = f"{kind.resource} {shared.name or '(not named in the event)'}"
    who = f"{record.identity.display_name}{f' ({record.awsRegion})' if record.awsRegion else ''}"
    arn = _arn(kind.resource, shared.name, record)
    resource = Resource(kind.resource, shared.name or "unknown", record.account, arn)
    exemption = exemption_for(context, record, kind.resource, shared.name, arn, rule=META.id)
    details: dict[str, Any] = {"kind": _key(record), "name": shared.name, "region": record.awsRegion}
    if shared.problem or (shared.invalid and not shared.statements):
        problem = shared.problem or f"it names {', '.join(map(repr, shared.invalid))}, which is no account id"
        what = f"{who} changed the sharing of {label}, but {problem}"
        return review_finding(META.id, resource, what, exemption, details=details)
    verdict, org_note = _judge(shared, record, context)
    # A bucket open to everyone is s3_public's finding: here only its grants to other accounts.
    issues = [i for i in verdict.issues if not (kind.resource == "bucket" and i.kind == "broad")]
    if not issues:
        return None
    offending = sorted({issue.statement_index for issue in issues})
    everyone = any(issue.kind == "broad" for issue in issues)
    whom = "; ".join(dict.fromkeys(_whom(issue.principal, issue.kind) for issue in issues))
    reason = f"{who} shared {label} with {whom}"
    if kind.policy or _key(record) == "lambda:AddPermission":  # the statements as written
        reason += f": {compact({'Statement': [shared.statements[i] for i in offending]})}"
    reason += "."
    if org_note:
        reason += f" {org_note}"
    if context.assumed:
        reason += " State assumed (dry run): no exemption."
    fix, undo = _commands(kind, shared, offending, record)
    entries, action = [shared.entries[i] for i in offending], None
    if not kind.remediates:
        reason += f" Notify only (not changed automatically); to remove it by hand: {fix}"
    elif shared.name is None or (None in entries and not kind.policy):
        reason += " The event does not name the resource or the sharing (grant, label), so nothing can be changed."
    else:
        what = "the offending statements of its live policy" if kind.policy else "that sharing"
        action = f"remove {what} from {label}, keeping the rest (then re-read it)"
    details |= {
        "entries": entries,
        "statements": [shared.statements[i] for i in offending],
        "qualifier": _text(record.params.get("qualifier")),
        "fix": fix,
    }
    reason, action = exemption.applied_to(reason, action)
    return Finding(
        rule=META.id,
        severity=Severity.CRITICAL if everyone else Severity.HIGH,
        reason=reason,
        resource=resource,
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=(undo or None) if action else None,
        details=details,
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Remove exactly the added sharing, in the region it was added in, then re-read to verify."""
    return remove_sharing(aws, finding.details)
