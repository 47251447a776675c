"""Remove exactly the sharing an event added, keep the rest, and re-read to verify (external_access).

Sharing lists (launch and volume permissions, restore values, permission statement ids, grants) lose the
entries the event added. Policy documents are read live: the statements the event added that are judged
offending are stripped from what is there now (nothing is added, no Deny removed), written back, and re-read.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.findings import ActionResult, Outcome
from remediator.policy import PolicyParseError, load_policy_document
from remediator.remediate.trust import as_iam_stores_it
from remediator.remediation import compact

GONE = frozenset({"ResourceNotFoundException", "NotFoundException", "NotFound", "InvalidAMIID.NotFound",
                  "InvalidSnapshot.NotFound", "DBSnapshotNotFound", "DBClusterSnapshotNotFoundFault",
                  "NoSuchBucket", "InvalidParameterValue", "AWS.SimpleQueueService.NonExistentQueue",
                  "QueueDoesNotExist", "RepositoryNotFoundException", "FileSystemNotFound"})  # fmt: skip
_ORIGINAL = "The original sharing: {original}"


def _sids(policy: str | None) -> list[Any]:
    if not policy:
        return []
    return [statement.get("Sid") for statement in load_policy_document(policy)["Statement"]]


def _lambda_policy(client: Any, name: str, qualifier: str | None) -> str | None:
    try:
        policy: str = client.get_policy(FunctionName=name, **({"Qualifier": qualifier} if qualifier else {}))["Policy"]
    except ClientError as error:
        if error_code(error) == "ResourceNotFoundException":  # no policy left at all
            return None
        raise
    return policy


def _remove_lambda(client: Any, name: str, entries: list[Any], qualifier: str | None) -> None:
    for sid in entries:
        try:
            client.remove_permission(
                FunctionName=name, StatementId=sid, **({"Qualifier": qualifier} if qualifier else {})
            )
        except ClientError as error:
            if error_code(error) != "ResourceNotFoundException":  # already gone: nothing to remove
                raise


def _each(entries: list[Any], key: str) -> list[Any]:
    return [entry[key] for entry in entries if key in entry]


def _db_values(result: dict[str, Any], key: str) -> list[Any]:
    return [v for a in result[key] if a["AttributeName"] == "restore" for v in a.get("AttributeValues", [])]


def _queue_policy(client: Any, url: str) -> str | None:
    """The queue's policy; None when it has none (the answer then holds no attributes at all)."""
    answer = client.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"])
    policy: str | None = answer.get("Attributes", {}).get("Policy")
    return policy


# kind -> (service, remove(client, name, entries, qualifier), present(client, name, qualifier) -> entries there now)
Remover = tuple[str, Callable[[Any, str, list[Any], Any], Any], Callable[[Any, str, Any], list[Any]]]
LISTS: dict[str, Remover] = {
    "ec2:ModifyImageAttribute": (
        "ec2",
        lambda c, n, e, q: c.modify_image_attribute(ImageId=n, LaunchPermission={"Remove": e}),
        lambda c, n, q: c.describe_image_attribute(ImageId=n, Attribute="launchPermission")["LaunchPermissions"],
    ),
    "ec2:ModifySnapshotAttribute": (
        "ec2",
        lambda c, n, e, q: c.modify_snapshot_attribute(
            SnapshotId=n,
            Attribute="createVolumePermission",
            OperationType="remove",
            **{k: v for k, v in (("UserIds", _each(e, "UserId")), ("GroupNames", _each(e, "Group"))) if v},
        ),
        lambda c, n, q: c.describe_snapshot_attribute(SnapshotId=n, Attribute="createVolumePermission")[
            "CreateVolumePermissions"
        ],
    ),
    "rds:ModifyDBSnapshotAttribute": (
        "rds",
        lambda c, n, e, q: c.modify_db_snapshot_attribute(
            DBSnapshotIdentifier=n, AttributeName="restore", ValuesToRemove=e
        ),
        lambda c, n, q: _db_values(
            c.describe_db_snapshot_attributes(DBSnapshotIdentifier=n)["DBSnapshotAttributesResult"],
            "DBSnapshotAttributes",
        ),
    ),
    "rds:ModifyDBClusterSnapshotAttribute": (
        "rds",
        lambda c, n, e, q: c.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=n, AttributeName="restore", ValuesToRemove=e
        ),
        lambda c, n, q: _db_values(
            c.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=n)[
                "DBClusterSnapshotAttributesResult"
            ],
            "DBClusterSnapshotAttributes",
        ),
    ),
    "lambda:AddPermission": ("lambda", _remove_lambda, lambda c, n, q: _sids(_lambda_policy(c, n, q))),
    "sns:AddPermission": (
        "sns",
        lambda c, n, e, q: [c.remove_permission(TopicArn=n, Label=label) for label in dict.fromkeys(e)],
        lambda c, n, q: _sids(c.get_topic_attributes(TopicArn=n)["Attributes"].get("Policy")),
    ),
    "sqs:AddPermission": (
        "sqs",
        lambda c, n, e, q: [c.remove_permission(QueueUrl=n, Label=label) for label in dict.fromkeys(e)],
        lambda c, n, q: _sids(_queue_policy(c, n)),
    ),
    "kms:CreateGrant": (
        "kms",
        lambda c, n, e, q: [c.revoke_grant(KeyId=n, GrantId=grant) for grant in e],
        lambda c, n, q: [
            g["GrantId"] for g in c.get_paginator("list_grants").paginate(KeyId=n).build_full_result()["Grants"]
        ],
    ),
}


def _absent_as_none(read: Callable[[Any, str], Any], *absent: str) -> Callable[[Any, str], str | None]:
    """`read`, answering None where the service says the resource has no policy."""

    def policy(client: Any, name: str) -> str | None:
        try:
            text: str = read(client, name)
        except ClientError as error:
            if error_code(error) in absent:
                return None
            raise
        return text

    return policy


_bucket_policy = _absent_as_none(lambda c, n: c.get_bucket_policy(Bucket=n)["Policy"], "NoSuchBucketPolicy")


# kind -> (service, read(client, name) -> policy text or None, write(client, name, text), delete(client, name) | None)
Policy = tuple[str, Callable[[Any, str], Any], Callable[[Any, str, str], Any], Callable[[Any, str], Any] | None]
POLICIES: dict[str, Policy] = {
    "sns:SetTopicAttributes": (
        "sns",
        lambda c, n: c.get_topic_attributes(TopicArn=n)["Attributes"].get("Policy"),
        lambda c, n, t: c.set_topic_attributes(TopicArn=n, AttributeName="Policy", AttributeValue=t),
        None,  # a topic always has a policy: stripping it bare is for a human
    ),
    "kms:PutKeyPolicy": (
        "kms",
        lambda c, n: c.get_key_policy(KeyId=n, PolicyName="default")["Policy"],
        lambda c, n, t: c.put_key_policy(KeyId=n, PolicyName="default", Policy=t),
        None,  # a key without policy statements locks everyone out
    ),
    "secretsmanager:PutResourcePolicy": (
        "secretsmanager",
        lambda c, n: c.get_resource_policy(SecretId=n).get("ResourcePolicy"),
        lambda c, n, t: c.put_resource_policy(SecretId=n, ResourcePolicy=t),
        lambda c, n: c.delete_resource_policy(SecretId=n),
    ),
    "s3:PutBucketPolicy": (
        "s3",
        _bucket_policy,
        lambda c, n, t: c.put_bucket_policy(Bucket=n, Policy=t),
        lambda c, n: c.delete_bucket_policy(Bucket=n),
    ),
    "sqs:SetQueueAttributes": (
        "sqs",
        _queue_policy,
        lambda c, n, t: c.set_queue_attributes(QueueUrl=n, Attributes={"Policy": t}),
        lambda c, n: c.set_queue_attributes(QueueUrl=n, Attributes={"Policy": ""}),  # an empty policy: none
    ),
    "ecr:SetRepositoryPolicy": (
        "ecr",
        _absent_as_none(
            lambda c, n: c.get_repository_policy(repositoryName=n)["policyText"], "RepositoryPolicyNotFoundException"
        ),
        lambda c, n, t: c.set_repository_policy(repositoryName=n, policyText=t),
        lambda c, n: c.delete_repository_policy(repositoryName=n),
    ),
    "elasticfilesystem:PutFileSystemPolicy": (
        "efs",
        _absent_as_none(lambda c, n: c.describe_file_system_policy(FileSystemId=n)["Policy"], "PolicyNotFound"),
        lambda c, n, t: c.put_file_system_policy(FileSystemId=n, Policy=t),
        lambda c, n: c.delete_file_system_policy(FileSystemId=n),
    ),
}


def _canonical(statement: Any) -> str:
    """A statement as AWS may store it (account ids as root ARNs), for comparing the event's with the live ones."""
    return json.dumps(as_iam_stores_it({"Statement": [statement]})["Statement"][0], sort_keys=True)


def strip_offending(document: dict[str, Any], offending: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The live statements minus those equal to an offending one; never adds or changes a statement."""
    drop = {_canonical(s) for s in offending}
    return [s for s in document["Statement"] if _canonical(s) not in drop or s.get("Effect") == "Deny"]


def _strip_policy(client: Any, policy: Policy, name: str, statements: list[dict[str, Any]]) -> ActionResult:
    _, read, write, delete = policy
    text = read(client, name)
    if not text:
        return ActionResult(Outcome.SKIPPED, f"{name} has no policy now: nothing to remove.")
    live = load_policy_document(text)
    kept = strip_offending(live, statements)
    if len(kept) == len(live["Statement"]):
        return ActionResult(Outcome.SKIPPED, f"the policy of {name} no longer holds the offending statements "
                            "(changed since the event): nothing changed.")  # fmt: skip
    if not kept and delete is None:
        return ActionResult(Outcome.SKIPPED, f"every statement of the policy of {name} is offending and it cannot "
                            f"be left empty: a human decides. {_ORIGINAL.format(original=compact(live))}")  # fmt: skip
    if kept:
        write(client, name, compact({**live, "Statement": kept}))
    elif delete is not None:
        delete(client, name)
    after = read(client, name)
    left = strip_offending(load_policy_document(after), statements) if after else []
    if after and len(left) != len(load_policy_document(after)["Statement"]):
        return ActionResult(Outcome.FAILED, f"the policy of {name} still holds the offending statements after writing.")
    what = "the policy deleted (no statement was left)" if not kept else f"{len(kept)} statement(s) kept"
    return ActionResult(
        Outcome.VERIFIED,
        f"removed {len(live['Statement']) - len(kept)} offending statement(s) from the policy of {name}, {what} "
        f"(verified by re-reading). {_ORIGINAL.format(original=compact(live))}",
    )


def remove_sharing(aws: AwsClients, details: dict[str, Any]) -> ActionResult:
    kind, name, region = details["kind"], details["name"], details.get("region")
    try:
        if kind in POLICIES:
            policy = POLICIES[kind]
            return _strip_policy(aws.regional(policy[0], region), policy, name, details["statements"])
        service, remove, present = LISTS[kind]
        client, entries, qualifier = aws.regional(service, region), details["entries"], details.get("qualifier")
        remove(client, name, entries, qualifier)
        left = [entry for entry in entries if entry in present(client, name, qualifier)]
    except ClientError as error:
        code = error_code(error)
        if code in GONE:
            return ActionResult(Outcome.SKIPPED, f"{name} no longer exists: nothing to remove.", f"{code}: {error}")
        return ActionResult(Outcome.FAILED, f"could not remove the sharing of {name}.", f"{code}: {error}")
    except PolicyParseError as error:
        return ActionResult(Outcome.FAILED, f"the live policy of {name} is unreadable: nothing changed.", str(error))
    if left:
        return ActionResult(Outcome.FAILED, f"{name} is still shared with {compact({'left': left})} after removing it.")
    shown = compact({"removed": entries})
    return ActionResult(Outcome.VERIFIED, f"{name} is no longer shared: {shown} (verified by re-reading).")
