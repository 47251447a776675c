"""Enactors for shared resources (external_access): the resource, a sharing that was there before, then the event's.

Each rewrites the event with the ids moto made and returns an observer of the resource's sharing, so the demo
shows the added sharing gone and the earlier one kept.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Callable
from typing import Any

from remediator.own_resources import lambda_action

Observer = Callable[[], str]
SIBLING = "210987654321"  # shared with before the event: remediation must keep it
LAMBDA_TRUST = json.dumps(
    {
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
        ],
    }
)


def _client(service: str, detail: dict[str, Any]) -> Any:
    import boto3

    make: Callable[..., Any] = boto3.client
    return make(service, region_name=detail.get("awsRegion") or "us-east-1")


def _sids(policy: str | None) -> list[str]:
    return [s.get("Sid", "?") for s in json.loads(policy)["Statement"]] if policy else []


def enact_image(iam: Any, detail: dict[str, Any]) -> Observer:
    ec2, params = _client("ec2", detail), detail["requestParameters"]
    base = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
    instance = ec2.run_instances(ImageId=base, MinCount=1, MaxCount=1)["Instances"][0]["InstanceId"]
    image = params["imageId"] = ec2.create_image(InstanceId=instance, Name="demo-golden-image")["ImageId"]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": [{"UserId": SIBLING}]})
    added = [{k[:1].upper() + k[1:]: v for k, v in item.items()} for item in params["launchPermission"]["add"]["items"]]
    ec2.modify_image_attribute(ImageId=image, LaunchPermission={"Add": added})
    return lambda: (
        "launch permissions of the image: "
        + json.dumps(ec2.describe_image_attribute(ImageId=image, Attribute="launchPermission")["LaunchPermissions"])
    )


def enact_snapshot(iam: Any, detail: dict[str, Any]) -> Observer:
    ec2, params = _client("ec2", detail), detail["requestParameters"]
    volume = ec2.create_volume(Size=1, AvailabilityZone=f"{detail['awsRegion']}a")["VolumeId"]
    snapshot = params["snapshotId"] = ec2.create_snapshot(VolumeId=volume)["SnapshotId"]
    items = params["createVolumePermission"]["add"]["items"]
    ec2.modify_snapshot_attribute(
        SnapshotId=snapshot, Attribute="createVolumePermission", OperationType="add",
        UserIds=[SIBLING, *(i["userId"] for i in items if "userId" in i)],
        GroupNames=[i["group"] for i in items if "group" in i],
    )  # fmt: skip
    return lambda: (
        "volume permissions of the snapshot: "
        + json.dumps(
            ec2.describe_snapshot_attribute(SnapshotId=snapshot, Attribute="createVolumePermission")[
                "CreateVolumePermissions"
            ]
        )
    )


def enact_db_snapshot(iam: Any, detail: dict[str, Any]) -> Observer:
    rds, params = _client("rds", detail), detail["requestParameters"]
    values = [SIBLING, *params["valuesToAdd"]]
    if "dBClusterSnapshotIdentifier" in params:
        name = params["dBClusterSnapshotIdentifier"]
        rds.create_db_cluster(
            DBClusterIdentifier="demo-cluster", Engine="aurora-postgresql", MasterUsername="demo",
            MasterUserPassword="demo-password-1",
        )  # fmt: skip
        rds.create_db_cluster_snapshot(DBClusterSnapshotIdentifier=name, DBClusterIdentifier="demo-cluster")
        rds.modify_db_cluster_snapshot_attribute(
            DBClusterSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=values
        )

        def observe() -> str:
            attributes = rds.describe_db_cluster_snapshot_attributes(DBClusterSnapshotIdentifier=name)
            found = attributes["DBClusterSnapshotAttributesResult"]["DBClusterSnapshotAttributes"]
            return f"restore of cluster snapshot {name}: {found[0]['AttributeValues']}"

        return observe
    name = params["dBSnapshotIdentifier"]
    rds.create_db_instance(
        DBInstanceIdentifier="demo-db", DBInstanceClass="db.t3.micro", Engine="postgres", MasterUsername="demo",
        MasterUserPassword="demo-password-1", AllocatedStorage=20,
    )  # fmt: skip
    rds.create_db_snapshot(DBSnapshotIdentifier=name, DBInstanceIdentifier="demo-db")
    rds.modify_db_snapshot_attribute(DBSnapshotIdentifier=name, AttributeName="restore", ValuesToAdd=values)

    def observe_snapshot() -> str:
        found = rds.describe_db_snapshot_attributes(DBSnapshotIdentifier=name)["DBSnapshotAttributesResult"]
        return f"restore of snapshot {name}: {found['DBSnapshotAttributes'][0]['AttributeValues']}"

    return observe_snapshot


def _zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("app.py", "def handler(event, context):\n    return event\n")
    return buffer.getvalue()


def enact_lambda_permission(iam: Any, detail: dict[str, Any]) -> Observer | None:
    if lambda_action(detail["eventName"]) != "AddPermission":
        return None
    client, params = _client("lambda", detail), detail["requestParameters"]
    name = params["functionName"]
    role = iam.create_role(RoleName=f"{name}-role", AssumeRolePolicyDocument=LAMBDA_TRUST)["Role"]["Arn"]
    client.create_function(
        FunctionName=name, Runtime="python3.13", Role=role, Handler="app.handler", Code={"ZipFile": _zip()}
    )
    client.add_permission(
        FunctionName=name, StatementId="s3-invoke", Action="lambda:InvokeFunction", Principal="s3.amazonaws.com",
        SourceAccount=detail["recipientAccountId"],
    )  # fmt: skip
    client.add_permission(
        FunctionName=name, StatementId=params["statementId"], Action=params["action"], Principal=params["principal"]
    )

    def observe() -> str:
        try:
            return f"permissions of function {name}: {_sids(client.get_policy(FunctionName=name)['Policy'])}"
        except client.exceptions.ResourceNotFoundException:
            return f"permissions of function {name}: none"

    return observe


def enact_key_policy(iam: Any, detail: dict[str, Any]) -> Observer:
    kms, params = _client("kms", detail), detail["requestParameters"]
    key = params["keyId"] = kms.create_key()["KeyMetadata"]["KeyId"]
    kms.put_key_policy(KeyId=key, PolicyName="default", Policy=params["policy"])
    return lambda: f"key policy statements: {_sids(kms.get_key_policy(KeyId=key, PolicyName='default')['Policy'])}"


def enact_grant(iam: Any, detail: dict[str, Any]) -> Observer:
    kms, params = _client("kms", detail), detail["requestParameters"]
    key = kms.create_key()["KeyMetadata"]["Arn"]
    params["keyId"] = detail["responseElements"]["keyId"] = key
    own = f"arn:aws:iam::{detail['recipientAccountId']}:role/reporting"
    kms.create_grant(KeyId=key, GranteePrincipal=own, Operations=["Decrypt"])
    grant = kms.create_grant(KeyId=key, GranteePrincipal=params["granteePrincipal"], Operations=params["operations"])
    detail["responseElements"]["grantId"] = grant["GrantId"]
    return lambda: f"grantees of the key: {[g['GranteePrincipal'] for g in kms.list_grants(KeyId=key)['Grants']]}"


def enact_secret_policy(iam: Any, detail: dict[str, Any]) -> Observer:
    secrets, params = _client("secretsmanager", detail), detail["requestParameters"]
    name = params["secretId"]
    secrets.create_secret(Name=name, SecretString="demo")
    secrets.put_resource_policy(SecretId=name, ResourcePolicy=params["resourcePolicy"])
    return lambda: (
        f"resource policy of secret {name}: {secrets.get_resource_policy(SecretId=name).get('ResourcePolicy')}"
    )


def enact_topic(iam: Any, detail: dict[str, Any]) -> Observer | None:
    if detail["eventSource"] != "sns.amazonaws.com":
        return None
    sns, params = _client("sns", detail), detail["requestParameters"]
    topic = params["topicArn"] = sns.create_topic(Name=params["topicArn"].rsplit(":", 1)[-1])["TopicArn"]
    if detail["eventName"] == "AddPermission":
        sns.add_permission(TopicArn=topic, Label="sibling", AWSAccountId=[SIBLING], ActionName=["Subscribe"])
        sns.add_permission(
            TopicArn=topic, Label=params["label"], AWSAccountId=params["aWSAccountId"], ActionName=params["actionName"]
        )
    else:
        sns.set_topic_attributes(TopicArn=topic, AttributeName="Policy", AttributeValue=params["attributeValue"])
    return lambda: f"topic policy statements: {_sids(sns.get_topic_attributes(TopicArn=topic)['Attributes']['Policy'])}"


def enact_bucket_policy(iam: Any, detail: dict[str, Any]) -> Observer:
    s3, params = _client("s3", detail), detail["requestParameters"]
    bucket = params["bucketName"]
    s3.create_bucket(Bucket=bucket, CreateBucketConfiguration={"LocationConstraint": detail["awsRegion"]})
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps(params["bucketPolicy"]))

    def observe() -> str:
        try:
            return f"bucket policy statements of {bucket}: {_sids(s3.get_bucket_policy(Bucket=bucket)['Policy'])}"
        except s3.exceptions.ClientError:
            return f"bucket policy of {bucket}: none"

    return observe


def enact_queue(iam: Any, detail: dict[str, Any]) -> Observer:
    sqs, params = _client("sqs", detail), detail["requestParameters"]
    url = params["queueUrl"] = sqs.create_queue(QueueName=params["queueUrl"].rstrip("/").rsplit("/", 1)[-1])["QueueUrl"]
    if detail["eventName"] == "AddPermission":
        sqs.add_permission(QueueUrl=url, Label="sibling", AWSAccountIds=[SIBLING], Actions=["SendMessage"])
        sqs.add_permission(
            QueueUrl=url, Label=params["label"], AWSAccountIds=params["aWSAccountIds"], Actions=params["actions"]
        )
    else:
        sqs.set_queue_attributes(QueueUrl=url, Attributes={"Policy": params["attributes"]["Policy"]})
    return lambda: (
        "queue policy statements: "
        + str(
            _sids(sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["Policy"]).get("Attributes", {}).get("Policy"))
        )
    )


def enact_repository(iam: Any, detail: dict[str, Any]) -> Observer:
    ecr, params = _client("ecr", detail), detail["requestParameters"]
    name = params["repositoryName"]
    ecr.create_repository(repositoryName=name)
    ecr.set_repository_policy(repositoryName=name, policyText=params["policyText"])

    def observe() -> str:
        try:
            return (
                f"repository policy statements: {_sids(ecr.get_repository_policy(repositoryName=name)['policyText'])}"
            )
        except ecr.exceptions.RepositoryPolicyNotFoundException:
            return "repository policy statements: none"

    return observe


def enact_file_system(iam: Any, detail: dict[str, Any]) -> Observer:
    efs, params = _client("efs", detail), detail["requestParameters"]
    system = params["fileSystemId"] = efs.create_file_system(CreationToken="demo-shared-fs")["FileSystemId"]
    efs.put_file_system_policy(FileSystemId=system, Policy=params["policy"])
    return lambda: (
        f"file system policy statements: {_sids(efs.describe_file_system_policy(FileSystemId=system)['Policy'])}"
    )


def enact_permission(iam: Any, detail: dict[str, Any]) -> Observer | None:
    """AddPermission: SNS's or SQS's (the event source tells)."""
    return enact_queue(iam, detail) if detail["eventSource"] == "sqs.amazonaws.com" else enact_topic(iam, detail)


ENACTORS: dict[str, Callable[[Any, dict[str, Any]], Observer | None]] = {
    "ModifyImageAttribute": enact_image,
    "ModifySnapshotAttribute": enact_snapshot,
    "ModifyDBSnapshotAttribute": enact_db_snapshot,
    "ModifyDBClusterSnapshotAttribute": enact_db_snapshot,
    **dict.fromkeys(("AddPermission20150331v2", "AddPermission20150331"), enact_lambda_permission),
    "PutKeyPolicy": enact_key_policy,
    "CreateGrant": enact_grant,
    "PutResourcePolicy": enact_secret_policy,
    "SetTopicAttributes": enact_topic,
    "AddPermission": enact_permission,
    "SetQueueAttributes": enact_queue,
    "SetRepositoryPolicy": enact_repository,
    "PutFileSystemPolicy": enact_file_system,
    "PutBucketPolicy": enact_bucket_policy,
}
