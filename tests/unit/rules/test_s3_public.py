"""s3_public: each call that makes a bucket public or turns its protection off, in dry run and against moto."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope, parse_record
from remediator.exemption_list import ExemptionEntry
from remediator.findings import Decision, Mode, Outcome
from remediator.notify import publish
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ACCOUNT = "123456789012"
REGION = "eu-west-1"
BUCKET = "acme-reports-eu"
MALLORY = {
    "type": "AssumedRole",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/ops-admin/mallory",
    "sessionContext": {"sessionIssuer": {"arn": f"arn:aws:iam::{ACCOUNT}:role/ops-admin"}},
}
ALL_ON = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}
ALL_OFF = dict.fromkeys(ALL_ON, False)


def raw(event_name: str, params: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "eventName": event_name,
        "eventSource": "s3.amazonaws.com",
        "eventID": f"unit-{event_name}",
        "awsRegion": REGION,
        "recipientAccountId": ACCOUNT,
        "userIdentity": MALLORY,
        "requestParameters": params,
        "responseElements": None,
    }


def call(event_name: str, params: dict[str, Any] | None, context: EvalContext = DRY_RUN) -> Decision:
    return decide(parse_record(raw(event_name, params)), context, rule_ids=("s3_public",))


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def allow(principal: Any, action: Any = "s3:GetObject", **extra: Any) -> dict[str, Any]:
    return {
        "Effect": "Allow",
        "Principal": principal,
        "Action": action,
        "Resource": f"arn:aws:s3:::{BUCKET}/*",
        **extra,
    }


def only(decision: Decision) -> tuple[str, str | None, str]:
    [finding] = decision.findings
    assert finding.rule == "s3_public"
    return str(finding.severity), finding.action, finding.reason


# ---------------------------------------------------------------- bucket policies


@pytest.mark.parametrize(
    "principal, action",
    [
        ("*", "s3:GetObject"),
        ({"AWS": "*"}, "s3:ListBucket"),
        ({"AWS": ["arn:aws:iam::111122223333:root", "*"]}, "s3:*"),
        ("*", "*"),
        ("*", "s3:Get*"),
        ({"AWS": "arn:aws:iam::*:root"}, "s3:GetObject"),
        ({"CanonicalUser": "*"}, "s3:GetObject"),
    ],
)
def test_a_policy_granting_everyone_is_critical_and_the_block_goes_back_on(principal: Any, action: str) -> None:
    severity, action_text, reason = only(
        call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(allow(principal, action))})
    )
    assert severity == "critical"
    assert action_text == f"turn Block Public Access of bucket {BUCKET} back on (all four settings)"
    assert "opens the bucket to everyone" in reason


def test_the_policy_may_arrive_as_an_object_or_as_a_json_string_with_the_same_verdict() -> None:
    document = policy(allow("*"))
    as_object = only(call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": document}))
    as_string = only(call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": json.dumps(document)}))
    assert as_object[:2] == as_string[:2] == ("critical", as_object[1])
    assert '"Principal":"*"' in as_object[2] and '"Principal": "*"' in as_string[2]  # the original, quoted


@pytest.mark.parametrize(
    "condition",
    [
        {"StringEquals": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}},
        {"StringEquals": {"aws:sourcevpc": ["vpc-0a1b2c3d", "vpc-0d3c2b1a"]}},
        {"StringEquals": {"aws:PrincipalOrgID": "o-a1b2c3d4e5"}},
        {"StringEquals": {"aws:PrincipalAccount": "111122223333"}},
        {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
        {"ArnLike": {"aws:SourceArn": f"arn:aws:cloudfront::{ACCOUNT}:distribution/E1A2B3C4D5"}},
    ],
)
def test_a_condition_that_confines_everyone_to_known_accounts_or_networks_is_no_finding(condition: dict) -> None:
    decision = call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(allow("*", Condition=condition))})
    assert decision.findings == [] and decision.skipped is None


@pytest.mark.parametrize(
    "condition",
    [
        {"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}},  # anyone from that range, of any account
        {"StringLike": {"aws:SourceVpce": "vpce-*"}},  # any endpoint, an attacker's included
        {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-0a1b2c3d4e5f60718"}},  # passes without an endpoint
        {"StringEquals": {"aws:SourceVpce": ""}},
        {"Bool": {"aws:SecureTransport": "true"}},
        {"StringEquals": {"aws:username": "alice"}},
    ],
)
def test_conditions_that_hold_for_anyone_do_not_narrow(condition: dict) -> None:
    severity, _, _ = only(
        call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(allow("*", Condition=condition))})
    )
    assert severity == "critical"


def test_not_principal_allow_is_public_and_a_deny_never_makes_a_public_grant_private() -> None:
    not_principal = {
        "Effect": "Allow",
        "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"},
        "Action": "s3:*",
        "Resource": "*",
    }
    assert only(call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(not_principal)}))[0] == "critical"
    deny = {
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": "*",
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }
    assert (
        only(call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(deny, allow("*"))}))[0] == "critical"
    )


def test_account_and_service_principals_are_not_public() -> None:
    document = policy(
        allow({"AWS": "arn:aws:iam::111122223333:root"}),  # another account: external_access, not public
        allow({"Service": "cloudtrail.amazonaws.com"}, "s3:GetBucketAcl"),
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"},
    )
    assert call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": document}).findings == []


@pytest.mark.parametrize("document", [None, "", "not-a-policy", {"Version": "2012-10-17"}])
def test_an_unreadable_policy_is_a_low_finding_that_changes_nothing(document: Any) -> None:
    params = {"bucketName": BUCKET} if document is None else {"bucketName": BUCKET, "bucketPolicy": document}
    severity, action, reason = only(call("PutBucketPolicy", params))
    assert (severity, action) == ("low", None)
    assert "could not be read" in reason


def test_null_request_parameters_are_a_low_finding_not_a_crash() -> None:
    assert only(call("PutBucketPolicy", None))[:2] == ("low", None)


# ---------------------------------------------------------------- ACLs


@pytest.mark.parametrize(
    "params, grant",
    [
        ({"x-amz-acl": ["public-read"]}, "canned ACL public-read"),
        ({"x-amz-acl": "public-read-write"}, "canned ACL public-read-write"),
        ({"x-amz-acl": ["authenticated-read"]}, "every AWS account may read"),
        (
            {"x-amz-grant-read": ['uri="http://acs.amazonaws.com/groups/global/AllUsers"']},
            "x-amz-grant-read to everyone",
        ),
        (
            {
                "AccessControlPolicy": {
                    "AccessControlList": {
                        "Grant": {
                            "Grantee": {"URI": "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"},
                            "Permission": "WRITE",
                        }
                    }
                }
            },
            "WRITE to every AWS account",
        ),
    ],
)
def test_an_acl_granting_all_users_or_authenticated_users_is_critical(params: dict, grant: str) -> None:
    severity, action, reason = only(call("PutBucketAcl", {"bucketName": BUCKET, **params}))
    assert severity == "critical" and action is not None
    assert grant in reason


def test_the_acl_grant_list_of_the_demo_event_is_read_and_quoted() -> None:
    record = parse_envelope(load_event("put-bucket-acl-public-read.json"))
    [finding] = decide(record, DRY_RUN, rule_ids=("s3_public",)).findings
    assert "READ to everyone (AllUsers)" in finding.reason
    assert '"Permission":"FULL_CONTROL"' in finding.reason  # the whole ACL as set, to restore it by hand


@pytest.mark.parametrize(
    "params",
    [
        {"x-amz-acl": ["private"]},
        {"x-amz-acl": ["bucket-owner-full-control"]},
        {
            "AccessControlPolicy": {
                "AccessControlList": {"Grant": [{"Grantee": {"ID": "79a59df9"}, "Permission": "FULL_CONTROL"}]}
            }
        },
    ],
)
def test_a_private_acl_is_no_finding(params: dict) -> None:
    assert call("PutBucketAcl", {"bucketName": BUCKET, **params}).findings == []


# ---------------------------------------------------------------- Block Public Access and object ownership


def test_deleting_the_bucket_block_is_high() -> None:
    severity, action, _ = only(call("DeleteBucketPublicAccessBlock", {"bucketName": BUCKET, "publicAccessBlock": ""}))
    assert severity == "high" and action is not None


@pytest.mark.parametrize(
    "config, off",
    [
        (ALL_OFF, 4),
        ({**ALL_ON, "RestrictPublicBuckets": False}, 1),
        ({**ALL_ON, "BlockPublicPolicy": "false"}, 1),
        ({"BlockPublicAcls": True, "IgnorePublicAcls": True}, 2),  # an omitted setting is off
    ],
)
def test_any_setting_turned_off_is_high(config: dict, off: int) -> None:
    severity, _, reason = only(
        call("PutBucketPublicAccessBlock", {"bucketName": BUCKET, "PublicAccessBlockConfiguration": config})
    )
    assert severity == "high"
    assert reason.count("off (")  # says which
    assert sum(name in reason.split("partly off (")[1].split(")")[0] for name in ALL_ON) == off


def test_all_four_settings_on_is_no_finding() -> None:
    on = {**ALL_ON, "xmlns": "http://s3.amazonaws.com/doc/2006-03-01/", "BlockPublicAcls": "true"}
    assert (
        call("PutBucketPublicAccessBlock", {"bucketName": BUCKET, "PublicAccessBlockConfiguration": on}).findings == []
    )


def test_the_account_block_turned_off_or_deleted_is_high_and_acts_on_the_account() -> None:
    config = {**ALL_ON, "RestrictPublicBuckets": False}
    [finding] = call("PutAccountPublicAccessBlock", {"PublicAccessBlockConfiguration": config}).findings
    assert str(finding.severity) == "high" and finding.resource.kind == "account"
    assert finding.action == f"turn the account's Block Public Access back on (all four settings) for account {ACCOUNT}"
    assert "aws s3control put-public-access-block" in (finding.undo or "")
    deleted = only(call("DeleteAccountPublicAccessBlock", {}))
    assert deleted[0] == "high" and deleted[1] is not None


@pytest.mark.parametrize(
    "owner, found", [("BucketOwnerEnforced", False), ("BucketOwnerPreferred", True), ("ObjectWriter", True)]
)
def test_ownership_controls_that_re_enable_acls_are_high(owner: str, found: bool) -> None:
    params = {"bucketName": BUCKET, "OwnershipControls": {"Rule": {"ObjectOwnership": owner}}}
    decision = call("PutBucketOwnershipControls", params)
    assert bool(decision.findings) == found
    if found:
        assert only(decision)[0] == "high"


def test_a_bucket_name_no_bucket_can_have_is_reported_but_never_acted_on() -> None:
    severity, action, reason = only(call("DeleteBucketPublicAccessBlock", {"bucketName": "Bad_Name;rm"}))
    assert (severity, action) == ("high", None)
    assert "nothing is changed automatically" in reason


def test_a_failed_call_is_no_finding() -> None:
    record = {
        **raw("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(allow("*"))}),
        "errorCode": "AccessDenied",
    }
    assert decide(parse_record(record), DRY_RUN, rule_ids=("s3_public",)).skipped == "failed call"


# ---------------------------------------------------------------- exemptions: a website bucket by its ARN


class OneEntry:
    def __init__(self, pattern: str) -> None:
        self.entry = ExemptionEntry(
            pattern=pattern,
            rule="s3_public",
            reason="public website",
            expires=(datetime.now(UTC) + timedelta(days=30)).date().isoformat(),
            approver="security-team",
        )

    def entries(self) -> tuple[ExemptionEntry, ...]:
        return (self.entry,)


def test_a_website_bucket_in_the_exemption_list_is_reported_exempt_and_left_alone() -> None:
    context = EvalContext(Settings(live=False), AssumedState(), OneEntry(f"arn:aws:s3:::{BUCKET}"))
    [finding] = call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": policy(allow("*"))}, context).findings
    assert finding.exempt and finding.action is None
    assert "public website" in finding.reason
    other = call("PutBucketPolicy", {"bucketName": "acme-private", "bucketPolicy": policy(allow("*"))}, context)
    assert not other.findings[0].exempt


# ---------------------------------------------------------------- against a moto account


@pytest.fixture
def account() -> Any:
    with mock_aws():
        s3 = boto3.client("s3", region_name=REGION)
        s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.create_bucket(Bucket="acme-other", CreateBucketConfiguration={"LocationConstraint": REGION})
        s3.put_public_access_block(Bucket="acme-other", PublicAccessBlockConfiguration=ALL_OFF)
        s3.put_public_access_block(Bucket=BUCKET, PublicAccessBlockConfiguration=ALL_OFF)
        yield s3


def remediate_mode() -> tuple[EvalContext, AwsClients]:
    aws = AwsClients(region="us-east-1")
    return EvalContext(Settings(live=True, modes={"s3_public": Mode.REMEDIATE}), LiveState(aws.iam, aws)), aws


def test_remediate_puts_the_block_back_on_that_bucket_only_and_keeps_the_policy(account: Any) -> None:
    document = policy(allow("*"))
    account.put_bucket_policy(Bucket=BUCKET, Policy=json.dumps(document))
    context, aws = remediate_mode()
    [finding] = call("PutBucketPolicy", {"bucketName": BUCKET, "bucketPolicy": document}, context).findings
    result = act(finding, aws)
    assert result.outcome == Outcome.VERIFIED, result
    assert account.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == ALL_ON
    assert json.loads(account.get_bucket_policy(Bucket=BUCKET)["Policy"]) == document  # kept, now ineffective
    assert account.get_public_access_block(Bucket="acme-other")["PublicAccessBlockConfiguration"] == ALL_OFF


def test_remediate_after_the_block_was_deleted_restores_it_and_says_there_was_none(account: Any) -> None:
    account.delete_public_access_block(Bucket=BUCKET)
    context, aws = remediate_mode()
    [finding] = call("DeleteBucketPublicAccessBlock", {"bucketName": BUCKET}, context).findings
    result = act(finding, aws)
    assert result.outcome == Outcome.VERIFIED and "it was none" in result.detail
    assert account.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == ALL_ON


def test_remediate_turns_the_account_block_back_on(account: Any) -> None:
    s3control = boto3.client("s3control", region_name=REGION)
    s3control.put_public_access_block(AccountId=ACCOUNT, PublicAccessBlockConfiguration=ALL_OFF)
    context, aws = remediate_mode()
    [finding] = call("PutAccountPublicAccessBlock", {"PublicAccessBlockConfiguration": ALL_OFF}, context).findings
    assert act(finding, aws).outcome == Outcome.VERIFIED
    assert s3control.get_public_access_block(AccountId=ACCOUNT)["PublicAccessBlockConfiguration"] == ALL_ON


def test_a_bucket_deleted_since_is_skipped_not_failed(account: Any) -> None:
    context, aws = remediate_mode()
    [finding] = call("DeleteBucketPublicAccessBlock", {"bucketName": "acme-gone"}, context).findings
    assert act(finding, aws).outcome == Outcome.SKIPPED


def test_notify_mode_publishes_the_original_policy_and_changes_nothing(account: Any) -> None:
    sns, sqs = boto3.client("sns", region_name="us-east-1"), boto3.client("sqs", region_name="us-east-1")
    topic = sns.create_topic(Name="findings")["TopicArn"]
    queue = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    sns.subscribe(TopicArn=topic, Protocol="sqs", Endpoint=arn)
    record = parse_envelope(load_event("put-bucket-policy-public-read.json"))
    settings = Settings(live=True)
    aws = AwsClients(region="us-east-1")
    [finding] = decide(record, EvalContext(settings, LiveState(aws.iam, aws)), rule_ids=("s3_public",)).findings
    result = act(finding, aws)
    assert result.outcome == Outcome.NOTIFIED
    publish(aws.sns, topic, finding, record, result)
    [message] = sqs.receive_message(QueueUrl=queue)["Messages"]
    published = json.loads(json.loads(message["Body"])["Message"])
    assert published["rule"] == "s3_public" and published["severity"] == "critical"
    assert '"Sid":"PublicRead"' in published["reason"]  # the original policy, to restore it by hand
    assert account.get_public_access_block(Bucket=BUCKET)["PublicAccessBlockConfiguration"] == ALL_OFF


def test_security_hub_controls_the_bucket_s3_8_and_the_account_s3_1() -> None:
    from remediator.asff import to_asff

    record = parse_envelope(load_event("put-bucket-policy-public-read.json"))
    [finding] = decide(record, DRY_RUN, rule_ids=("s3_public",)).findings
    bucket = to_asff(finding, record)
    assert bucket["Compliance"]["SecurityControlId"] == "S3.8"
    assert (
        bucket["Resources"][0]["Type"] == "AwsS3Bucket"
        and bucket["Resources"][0]["Id"] == "arn:aws:s3:::acme-reports-eu"
    )
    account_record = parse_record(raw("DeleteAccountPublicAccessBlock", {}))
    [account_finding] = decide(account_record, DRY_RUN, rule_ids=("s3_public",)).findings
    assert to_asff(account_finding, account_record)["Compliance"]["SecurityControlId"] == "S3.1"
