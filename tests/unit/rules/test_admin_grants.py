"""admin_grants: every branch of SPEC §3 for grants, decided in dry run and reverted in a moto account."""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import EXEMPT_TAG, Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope
from remediator.findings import Mode, Outcome
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

ACCOUNT = "123456789012"
DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PASS_TO_EC2 = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["iam:PassRole", "ec2:RunInstances"], "Resource": "*"}],
}
READ_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
DENY_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "*", "Resource": "*"}]}


def event(name: str, event_name: str | None = None, **params: Any) -> dict[str, Any]:
    """A demo event with other request parameters (documents as CloudTrail's JSON text)."""
    out = copy.deepcopy(load_event(name))
    detail = out["detail"]
    if event_name:
        detail["eventName"] = event_name
    detail["requestParameters"] = {
        key: json.dumps(value) if isinstance(value, dict) and key == "policyDocument" else value
        for key, value in params.items()
    }
    return out


def attach(arn: str, kind: str = "user", name: str = "bob") -> dict[str, Any]:
    return event(
        "attach-administrator-access-to-user.json",
        f"Attach{kind.title()}Policy",
        **{f"{kind}Name": name, "policyArn": arn},
    )


def put(document: Any, kind: str = "role", name: str = "build-runner", policy: str = "temporary-fix") -> dict:
    return event(
        "put-role-policy-admin-inline.json",
        f"Put{kind.title()}Policy",
        **{f"{kind}Name": name, "policyName": policy, "policyDocument": document},
    )


def decide_event(envelope: dict[str, Any], context: EvalContext = DRY_RUN):
    return decide(parse_envelope(envelope), context, rule_ids=("admin_grants",))


def finding_of(envelope: dict[str, Any], context: EvalContext = DRY_RUN):
    decision = decide_event(envelope, context)
    assert decision.skipped is None
    [finding] = decision.findings
    return finding


@pytest.mark.parametrize(
    "policy, severity",
    [
        ("AdministratorAccess", "critical"),
        ("IAMFullAccess", "critical"),
        ("PowerUserAccess", "high"),
        ("service-role/AWSCodeStarServiceRole", "high"),
    ],
)
def test_risky_aws_managed_policies_are_known_without_a_call(policy: str, severity: str) -> None:
    finding = finding_of(attach(f"arn:aws:iam::aws:policy/{policy}"))
    assert finding.severity == severity
    assert finding.action == f"detach arn:aws:iam::aws:policy/{policy} from user bob"
    assert finding.undo == f"aws iam attach-user-policy --user-name bob --policy-arn arn:aws:iam::aws:policy/{policy}"


@pytest.mark.parametrize(
    "policy", ["ReadOnlyAccess", "SecurityAudit", "AWSCompromisedKeyQuarantineV2", "job-function/ViewOnlyAccess"]
)
def test_benign_aws_managed_policies_are_no_finding(policy: str) -> None:
    assert decide_event(attach(f"arn:aws:iam::aws:policy/{policy}", "role", "auditor")).findings == []


def test_the_finding_names_the_escalation_path() -> None:
    finding = finding_of(put(PASS_TO_EC2))
    assert finding.severity == "high" and "iam:PassRole+ec2:RunInstances" in finding.reason


def test_govcloud_partition_arns_are_judged_too() -> None:
    assert finding_of(attach("arn:aws-us-gov:iam::aws:policy/AdministratorAccess")).severity == "critical"


def test_a_customer_managed_policy_in_dry_run_is_a_low_could_not_read() -> None:
    finding = finding_of(attach(f"arn:aws:iam::{ACCOUNT}:policy/deployer", "role", "build-runner"))
    assert finding.severity == "low" and finding.action is None
    assert f"could not be read: the default version of arn:aws:iam::{ACCOUNT}:policy/deployer" in finding.reason


@pytest.mark.parametrize("kind", ["user", "group", "role"])
def test_inline_admin_policies_would_be_deleted_keeping_the_document_in_the_undo(kind: str) -> None:
    finding = finding_of(put(ADMIN, kind, "target"))
    assert finding.severity == "critical"
    assert finding.action == f"delete inline policy temporary-fix of {kind} target"
    words = shlex.split(finding.undo)
    assert words[:7] == [
        "aws",
        "iam",
        f"put-{kind}-policy",
        f"--{kind}-name",
        "target",
        "--policy-name",
        "temporary-fix",
    ]
    assert json.loads(words[8]) == ADMIN


@pytest.mark.parametrize("document", [READ_S3, DENY_ALL])
def test_harmless_and_deny_only_inline_policies_are_no_finding(document: dict) -> None:
    assert decide_event(put(document, "user", "test-user")).findings == []


@pytest.mark.parametrize(
    "document, says",
    [
        (None, "carries no policy document"),
        ({"omitted": True}, "CloudTrail omitted the policy document"),
        ('{"Statement": [{"Effect": "Allow", "Action": "iam:*", "Resour', "unreadable"),
    ],
)
def test_an_unreadable_inline_document_is_a_low_finding(document: Any, says: str) -> None:
    envelope = put(ADMIN)
    envelope["detail"]["requestParameters"]["policyDocument"] = document
    finding = finding_of(envelope)
    assert finding.severity == "low" and finding.action is None and says in finding.reason


def test_an_aws_managed_policy_newer_than_the_shipped_data_is_a_review_finding_in_a_dry_run() -> None:
    finding = finding_of(attach("arn:aws:iam::aws:policy/example-policy", "role", "auditor"))
    assert finding.severity == "low" and finding.action is None
    assert "not in the shipped AWS managed policy data" in finding.reason and "dry run" in finding.reason


@pytest.mark.parametrize(
    "document, verdict",
    [
        (ADMIN, "it holds admin-equivalent permissions"),
        (PASS_TO_EC2, "it holds privilege-escalation paths (iam:PassRole+ec2:RunInstances)"),
    ],
)
def test_a_risky_version_that_is_not_the_default_is_staged_medium_and_changes_nothing(document, verdict) -> None:
    envelope = event(
        "create-policy-version-escalation.json",
        policyArn=f"arn:aws:iam::{ACCOUNT}:policy/deployer",
        policyDocument=document,
        setAsDefault=False,
    )
    envelope["detail"]["responseElements"] = {"policyVersion": {"versionId": "v4", "isDefaultVersion": False}}
    finding = finding_of(envelope)
    assert finding.severity == "medium" and finding.action is None and finding.undo is None
    assert "non-default version v4" in finding.reason and verdict in finding.reason
    assert "staged, not in force" in finding.reason
    assert (
        f"aws iam delete-policy-version --policy-arn arn:aws:iam::{ACCOUNT}:policy/deployer --version-id v4"
        in finding.reason
    )


def test_a_harmless_version_that_is_not_the_default_is_nothing() -> None:
    envelope = event(
        "create-policy-version-escalation.json",
        policyArn=f"arn:aws:iam::{ACCOUNT}:policy/deployer",
        policyDocument=READ_S3,
        setAsDefault=False,
    )
    assert decide_event(envelope).findings == []


def test_a_new_default_version_is_judged_from_the_event() -> None:
    finding = finding_of(load_event("create-policy-version-escalation.json"))
    assert finding.severity == "high" and "iam:PassRole+lambda:CreateFunction+lambda:InvokeFunction" in finding.reason
    assert (
        finding.undo == f"aws iam set-default-policy-version --policy-arn arn:aws:iam::{ACCOUNT}:policy/deployer "
        "--version-id v2"
    )


def test_set_default_version_and_group_membership_need_the_account() -> None:
    version = finding_of(
        event(
            "create-policy-version-escalation.json",
            "SetDefaultPolicyVersion",
            policyArn=f"arn:aws:iam::{ACCOUNT}:policy/deployer",
            versionId="v3",
        )
    )
    assert version.severity == "low" and "version v3 of policy" in version.reason and version.action is None
    group = finding_of(load_event("add-user-to-admins-group.json"))
    assert group.severity == "low" and "the policies of group admins" in group.reason and group.action is None


def test_escalation_only_findings_stay_notify_unless_their_own_setting_says_remediate() -> None:
    remediate = Settings(live=False, modes={"admin_grants": Mode.REMEDIATE})
    assert finding_of(put(PASS_TO_EC2), EvalContext(remediate, AssumedState())).mode == Mode.NOTIFY
    assert finding_of(put(ADMIN), EvalContext(remediate, AssumedState())).mode == Mode.REMEDIATE
    both = Settings(live=False, modes={"admin_grants": Mode.REMEDIATE}, admin_grants_escalation_mode=Mode.REMEDIATE)
    escalation = finding_of(put(PASS_TO_EC2), EvalContext(both, AssumedState()))
    assert escalation.mode == Mode.REMEDIATE and "reported, not reverted" not in escalation.reason
    notify_only = Settings(live=False, admin_grants_escalation_mode=Mode.REMEDIATE)
    assert finding_of(put(PASS_TO_EC2), EvalContext(notify_only, AssumedState())).mode == Mode.NOTIFY
    unreadable = finding_of(load_event("add-user-to-admins-group.json"), EvalContext(remediate, AssumedState()))
    assert unreadable.mode == Mode.REMEDIATE and unreadable.action is None  # the rule's mode; nothing to do


def test_the_escalation_setting_comes_from_the_environment() -> None:
    assert Settings.from_env({"MODE_ADMIN_GRANTS_ESCALATION": "remediate"}).admin_grants_escalation_mode == "remediate"
    assert Settings.from_env({"MODE_ADMIN_GRANTS_ESCALATION": "off"}).admin_grants_escalation_mode == "notify"
    assert Settings.from_env({}).admin_grants_escalation_mode == "notify"


def test_break_glass_caller_or_group_is_exempt() -> None:
    caller = EvalContext(
        Settings(live=False, break_glass_arns=frozenset({f"arn:aws:iam::{ACCOUNT}:user/alice"})), AssumedState()
    )
    finding = finding_of(attach("arn:aws:iam::aws:policy/AdministratorAccess"), caller)
    assert finding.exempt and finding.action is None
    group = EvalContext(
        Settings(live=False, break_glass_arns=frozenset({f"arn:aws:iam::{ACCOUNT}:group/admins"})), AssumedState()
    )
    assert finding_of(load_event("add-user-to-admins-group.json"), group).exempt


@pytest.mark.parametrize(
    "params",
    [
        {"userName": "bob\u001f", "policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
        {"userName": "bob", "policyArn": 'arn:aws:iam::aws:policy/Admin"Access'},
        {"policyArn": "arn:aws:iam::aws:policy/AdministratorAccess"},
    ],
)
def test_names_iam_would_reject_never_get_an_action(params: dict) -> None:
    finding = finding_of(event("attach-administrator-access-to-user.json", **params))
    assert finding.action is None


def test_failed_calls_are_skipped() -> None:
    envelope = attach("arn:aws:iam::aws:policy/AdministratorAccess")
    envelope["detail"]["errorCode"] = "NoSuchEntity"
    assert decide_event(envelope).skipped == "failed call"


# ---------------------------------------------------------------- against a moto account


@pytest.fixture
def account(monkeypatch):
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="bob")
        iam.create_role(
            RoleName="build-runner",
            AssumeRolePolicyDocument=json.dumps(
                {
                    "Version": "2012-10-17",
                    "Statement": [
                        {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
                    ],
                }
            ),
        )
        yield iam


def live(mode: Mode = Mode.REMEDIATE, **settings: Any) -> EvalContext:
    return EvalContext(Settings(modes={"admin_grants": mode}, **settings), LiveState(boto3.client("iam")))


def attached(iam, kind: str = "user", name: str = "bob") -> list[str]:
    listing = getattr(iam, f"list_attached_{kind}_policies")(**{f"{kind.title()}Name": name})
    return [policy["PolicyName"] for policy in listing["AttachedPolicies"]]


ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_remediate_detaches_administrator_access_and_verifies(account) -> None:
    account.attach_user_policy(UserName="bob", PolicyArn=ADMIN_ACCESS)
    finding = finding_of(attach(ADMIN_ACCESS), live())
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert attached(account) == []
    account.attach_user_policy(**dict(zip(("UserName", "PolicyArn"), shlex.split(finding.undo)[4::2], strict=True)))
    assert attached(account) == ["AdministratorAccess"]  # the undo command re-attaches it


def test_notify_mode_and_an_exempt_tag_leave_the_attachment(account) -> None:
    account.attach_user_policy(UserName="bob", PolicyArn=ADMIN_ACCESS)
    assert act(finding_of(attach(ADMIN_ACCESS), live(Mode.NOTIFY)), AwsClients()).outcome == Outcome.NOTIFIED
    account.tag_user(UserName="bob", Tags=[{"Key": EXEMPT_TAG, "Value": "on-call admin"}])
    assert not finding_of(attach(ADMIN_ACCESS), live()).exempt  # tags are off by default
    exempt = finding_of(attach(ADMIN_ACCESS), live(honour_exempt_tags=True))
    assert exempt.exempt and "on-call admin" in exempt.reason
    assert act(exempt, AwsClients()).outcome == Outcome.EXEMPT
    assert attached(account) == ["AdministratorAccess"]


def test_a_customer_managed_policy_is_read_live_and_detached(account) -> None:
    arn = account.create_policy(PolicyName="do-anything", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    account.attach_role_policy(RoleName="build-runner", PolicyArn=arn)
    finding = finding_of(attach(arn, "role", "build-runner"), live())
    assert finding.severity == "critical"
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and "no session revocation is needed" in result.detail
    assert attached(account, "role", "build-runner") == []
    assert account.list_role_policies(RoleName="build-runner")["PolicyNames"] == []  # nothing revoked


def test_a_harmless_customer_managed_policy_read_live_is_no_finding(account) -> None:
    arn = account.create_policy(PolicyName="read-s3", PolicyDocument=json.dumps(READ_S3))["Policy"]["Arn"]
    assert decide_event(attach(arn, "role", "build-runner"), live()).findings == []


def test_a_detach_repeated_after_success_still_verifies(account) -> None:
    account.attach_user_policy(UserName="bob", PolicyArn=ADMIN_ACCESS)
    finding = finding_of(attach(ADMIN_ACCESS), live())
    act(finding, AwsClients())
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED


def test_remediate_deletes_the_inline_policy_and_the_message_keeps_its_document(account) -> None:
    account.put_role_policy(RoleName="build-runner", PolicyName="temporary-fix", PolicyDocument=json.dumps(ADMIN))
    result = act(finding_of(put(ADMIN), live()), AwsClients())
    assert result.outcome == Outcome.VERIFIED
    assert json.dumps(ADMIN, separators=(",", ":")) in result.detail
    assert account.list_role_policies(RoleName="build-runner")["PolicyNames"] == []


def test_an_inline_policy_replaced_since_the_event_is_not_deleted(account) -> None:
    account.put_role_policy(RoleName="build-runner", PolicyName="temporary-fix", PolicyDocument=json.dumps(ADMIN))
    finding = finding_of(put(ADMIN), live())
    account.put_role_policy(RoleName="build-runner", PolicyName="temporary-fix", PolicyDocument=json.dumps(READ_S3))
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED
    assert account.list_role_policies(RoleName="build-runner")["PolicyNames"] == ["temporary-fix"]


def test_live_an_omitted_inline_document_is_read_from_iam(account) -> None:
    account.put_user_policy(UserName="bob", PolicyName="big", PolicyDocument=json.dumps(ADMIN))
    envelope = put(ADMIN, "user", "bob", "big")
    envelope["detail"]["requestParameters"]["policyDocument"] = {"omitted": True}
    finding = finding_of(envelope, live())
    assert finding.severity == "critical"
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED


def _versioned_policy(iam, *documents: dict) -> str:
    arn = iam.create_policy(PolicyName="deployer", PolicyDocument=json.dumps(READ_S3))["Policy"]["Arn"]
    for document in documents:
        iam.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(document), SetAsDefault=True)
    return arn


def _default(iam, arn: str) -> str:
    return iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]


def test_a_new_admin_default_version_is_rolled_back_to_the_only_other_version(account) -> None:
    arn = _versioned_policy(account, ADMIN)
    envelope = event("create-policy-version-escalation.json", policyArn=arn, policyDocument=ADMIN, setAsDefault=True)
    finding = finding_of(envelope, live())
    assert finding.action == f"make version v1 of {arn} (the newest other version that is not risky) the default"
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert _default(account, arn) == "v1"
    assert len(account.list_policy_versions(PolicyArn=arn)["Versions"]) == 2  # v2 kept for the undo


def test_with_several_older_versions_the_newest_that_is_not_risky_becomes_the_default(account) -> None:
    arn = _versioned_policy(account, READ_S3, PASS_TO_EC2, ADMIN)  # v1 and v2 harmless, v3 escalating, v4 admin
    envelope = event("create-policy-version-escalation.json", policyArn=arn, policyDocument=ADMIN, setAsDefault=True)
    envelope["detail"]["responseElements"]["policyVersion"]["versionId"] = "v4"
    finding = finding_of(envelope, live())
    assert finding.severity == "critical"
    assert finding.action == f"make version v2 of {arn} (the newest other version that is not risky) the default"
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and "version v2" in result.detail and "v4 is kept" in result.detail
    assert _default(account, arn) == "v2"


def test_when_every_other_version_is_risky_too_nothing_is_made_the_default(account) -> None:
    account.create_policy(PolicyName="deployer", PolicyDocument=json.dumps(PASS_TO_EC2))
    arn = f"arn:aws:iam::{ACCOUNT}:policy/deployer"
    account.create_policy_version(PolicyArn=arn, PolicyDocument=json.dumps(ADMIN), SetAsDefault=True)
    envelope = event("create-policy-version-escalation.json", policyArn=arn, policyDocument=ADMIN, setAsDefault=True)
    finding = finding_of(envelope, live())
    assert finding.severity == "critical" and finding.action is None
    assert "No other version is made the default automatically" in finding.reason
    assert "v1 is escalating too" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED
    assert _default(account, arn) == "v2"


def test_a_dry_run_plan_is_resolved_at_remediation_to_the_newest_safe_version(account) -> None:
    arn = _versioned_policy(account, ADMIN, READ_S3)  # v1 harmless, v2 admin, v3 harmless
    account.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    envelope = event("create-policy-version-escalation.json", "SetDefaultPolicyVersion", policyArn=arn, versionId="v2")
    finding = finding_of(
        envelope, EvalContext(Settings(live=False, modes={"admin_grants": Mode.REMEDIATE}), AssumedState())
    )
    assert finding.severity == "low"  # the version's document is not in the event: read only live
    planned = finding_of(
        event("create-policy-version-escalation.json", policyArn=arn, policyDocument=ADMIN, setAsDefault=True),
        EvalContext(Settings(live=False, modes={"admin_grants": Mode.REMEDIATE}), AssumedState()),
    )
    assert planned.details["previous"] is None and "newest other version" in planned.action
    planned.details["version"] = "v2"
    assert act(planned, AwsClients()).outcome == Outcome.VERIFIED
    assert _default(account, arn) == "v3"


def test_set_default_version_is_read_live_and_rolled_back(account) -> None:
    arn = _versioned_policy(account, ADMIN)
    account.set_default_policy_version(PolicyArn=arn, VersionId="v1")
    account.set_default_policy_version(PolicyArn=arn, VersionId="v2")
    envelope = event("create-policy-version-escalation.json", "SetDefaultPolicyVersion", policyArn=arn, versionId="v2")
    envelope["detail"]["responseElements"] = None
    finding = finding_of(envelope, live())
    assert finding.severity == "critical"
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert _default(account, arn) == "v1"


def test_escalation_only_version_is_left_in_place_in_remediate_mode(account) -> None:
    arn = _versioned_policy(account, PASS_TO_EC2)
    envelope = event(
        "create-policy-version-escalation.json", policyArn=arn, policyDocument=PASS_TO_EC2, setAsDefault=True
    )
    finding = finding_of(envelope, live())
    assert finding.mode == Mode.NOTIFY
    assert act(finding, AwsClients()).outcome == Outcome.NOTIFIED
    assert _default(account, arn) == "v2"


def _admins_group(iam, user: str = "carol") -> None:
    iam.create_group(GroupName="admins")
    iam.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_ACCESS)
    iam.create_user(UserName=user)
    iam.add_user_to_group(GroupName="admins", UserName=user)


def _groups(iam, user: str = "carol") -> list[str]:
    return [group["GroupName"] for group in iam.list_groups_for_user(UserName=user)["Groups"]]


def test_joining_an_admin_group_is_undone(account) -> None:
    _admins_group(account)
    finding = finding_of(load_event("add-user-to-admins-group.json"), live())
    assert finding.severity == "critical" and "AdministratorAccess" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert _groups(account) == []
    assert finding.undo == "aws iam add-user-to-group --group-name admins --user-name carol"


def test_a_group_with_an_inline_escalation_policy_is_high(account) -> None:
    account.create_group(GroupName="admins")
    account.put_group_policy(GroupName="admins", PolicyName="ops", PolicyDocument=json.dumps(PASS_TO_EC2))
    account.create_user(UserName="carol")
    finding = finding_of(load_event("add-user-to-admins-group.json"), live())
    assert finding.severity == "high" and "iam:PassRole+ec2:RunInstances" in finding.reason


def test_a_harmless_group_is_no_finding(account) -> None:
    account.create_group(GroupName="admins")
    account.put_group_policy(GroupName="admins", PolicyName="read", PolicyDocument=json.dumps(READ_S3))
    assert decide_event(load_event("add-user-to-admins-group.json"), live()).findings == []


def test_an_exempt_user_stays_in_the_group(account) -> None:
    _admins_group(account)
    account.tag_user(UserName="carol", Tags=[{"Key": EXEMPT_TAG, "Value": ""}])
    finding = finding_of(load_event("add-user-to-admins-group.json"), live(honour_exempt_tags=True))
    assert finding.exempt and act(finding, AwsClients()).outcome == Outcome.EXEMPT
    assert _groups(account) == ["admins"]


def test_a_group_deleted_before_the_read_is_a_low_finding(account) -> None:
    finding = finding_of(load_event("add-user-to-admins-group.json"), live())
    assert finding.severity == "low" and "no longer exists" in finding.reason


# ---------------------------------------------------------------- permissions boundaries
def boundary(event_name: str, **params: Any) -> dict[str, Any]:
    name = {
        "PutUserPermissionsBoundary": "put-user-permissions-boundary.json",
        "PutRolePermissionsBoundary": "put-role-permissions-boundary.json",
        "DeleteUserPermissionsBoundary": "delete-user-permissions-boundary.json",
        "DeleteRolePermissionsBoundary": "delete-role-permissions-boundary.json",
    }[event_name]
    envelope = copy.deepcopy(load_event(name))
    if params:
        envelope["detail"]["requestParameters"] = params
    return envelope


@pytest.mark.parametrize(
    "event_name, principal",
    [
        ("PutUserPermissionsBoundary", "user dave"),
        ("DeleteUserPermissionsBoundary", "user dave"),
        ("PutRolePermissionsBoundary", "role ci-deployer"),
        ("DeleteRolePermissionsBoundary", "role ci-deployer"),
    ],
)
def test_a_boundary_change_in_a_dry_run_is_a_review_finding_never_nothing_risky(event_name, principal) -> None:
    finding = finding_of(boundary(event_name))
    assert finding.severity == "low" and finding.action is None
    assert f"permissions boundary of {principal}" in finding.reason
    assert f"could not be read: the policies of {principal} (dry run: no account to read it from)" in finding.reason


@pytest.mark.parametrize(
    "params, problem",
    [
        ({"userName": "dave"}, "the event names no valid boundary policy ARN"),
        ({"userName": "dave", "permissionsBoundary": "not-an-arn"}, "the event names no valid boundary policy ARN"),
        ({"permissionsBoundary": ADMIN_ACCESS}, "the event does not name the principal"),
    ],
)
def test_a_boundary_put_the_event_does_not_describe_is_a_review_finding(params, problem) -> None:
    finding = finding_of(boundary("PutUserPermissionsBoundary", **params))
    assert finding.severity == "low" and problem in finding.reason


def _dave(iam, *arns: str, inline: dict | None = None, group: str | None = None) -> None:
    iam.create_user(UserName="dave")
    for arn in arns:
        iam.attach_user_policy(UserName="dave", PolicyArn=arn)
    if inline:
        iam.put_user_policy(UserName="dave", PolicyName="inline", PolicyDocument=json.dumps(inline))
    if group:
        iam.add_user_to_group(GroupName=group, UserName="dave")


def test_removing_the_boundary_of_an_admin_user_is_critical_and_notify_only(account) -> None:
    _dave(account, ADMIN_ACCESS)
    finding = finding_of(boundary("DeleteUserPermissionsBoundary"), live())
    assert finding.severity == "critical" and finding.action is None
    assert (
        "removed the permissions boundary of user dave, so its own policies now grant: admin-equivalent "
        "permissions (through AWS managed policy AdministratorAccess)" in finding.reason
    )
    assert "notify only" in finding.reason
    assert (
        "aws iam put-user-permissions-boundary --user-name dave --permissions-boundary <policy ARN>" in finding.reason
    )
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED


def test_escalation_split_over_two_inline_policies_and_a_group_is_seen_as_one(account) -> None:
    account.create_group(GroupName="builders")
    account.put_group_policy(
        GroupName="builders",
        PolicyName="run",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:RunInstances", "Resource": "*"}]}
        ),
    )
    _dave(
        account,
        inline={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]},
        group="builders",
    )
    finding = finding_of(boundary("DeleteUserPermissionsBoundary"), live())
    assert finding.severity == "high" and "iam:PassRole+ec2:RunInstances" in finding.reason


def test_a_role_with_an_escalating_inline_policy_loses_its_boundary_high(account) -> None:
    account.put_role_policy(RoleName="build-runner", PolicyName="deploy", PolicyDocument=json.dumps(PASS_TO_EC2))
    finding = finding_of(boundary("DeleteRolePermissionsBoundary", roleName="build-runner"), live())
    assert finding.severity == "high" and "iam:PassRole+ec2:RunInstances" in finding.reason
    assert finding.mode == Mode.NOTIFY  # escalation-only: notify unless its own setting says remediate


@pytest.mark.parametrize(
    "new_boundary, severity",
    [
        (ADMIN_ACCESS, "critical"),  # a boundary that allows everything limits nothing
        ("arn:aws:iam::aws:policy/PowerUserAccess", "high"),  # caps admin to PowerUser's escalation paths
        ("arn:aws:iam::aws:policy/ReadOnlyAccess", None),  # a read-only boundary keeps an admin harmless
        ("arn:aws:iam::aws:policy/AWSDenyAll", None),
    ],
)
def test_replacing_a_boundary_is_judged_as_the_policies_within_the_new_boundary(
    account, new_boundary, severity
) -> None:
    _dave(account, ADMIN_ACCESS)
    decision = decide_event(
        boundary("PutUserPermissionsBoundary", userName="dave", permissionsBoundary=new_boundary), live()
    )
    assert [f.severity for f in decision.findings] == ([severity] if severity else [])


def test_a_customer_managed_boundary_is_read_from_the_account(account) -> None:
    _dave(account, ADMIN_ACCESS)
    arn = account.create_policy(PolicyName="only-s3", PolicyDocument=json.dumps(READ_S3))["Policy"]["Arn"]
    assert (
        decide_event(boundary("PutUserPermissionsBoundary", userName="dave", permissionsBoundary=arn), live()).findings
        == []
    )
    admin = account.create_policy(PolicyName="anything", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    finding = finding_of(boundary("PutUserPermissionsBoundary", userName="dave", permissionsBoundary=admin), live())
    assert finding.severity == "critical"


def test_a_user_without_risky_policies_losing_its_boundary_is_nothing(account) -> None:
    _dave(account, inline=READ_S3)
    assert decide_event(boundary("DeleteUserPermissionsBoundary"), live()).findings == []


def test_a_boundary_change_on_a_principal_that_is_gone_is_a_review_finding(account) -> None:
    finding = finding_of(boundary("DeleteUserPermissionsBoundary"), live())
    assert finding.severity == "low" and "it no longer exists" in finding.reason


def test_an_aws_managed_policy_missing_from_the_shipped_data_is_read_live_once(account, monkeypatch) -> None:
    from remediator import grants

    monkeypatch.setattr(grants, "_known_managed_policies", lambda: frozenset())
    monkeypatch.setattr(grants, "_LIVE_MANAGED", {})
    iam = boto3.client("iam")
    calls: list[str] = []
    iam.meta.events.register("before-call.iam.*", lambda model, **_: calls.append(model.name))
    context = EvalContext(Settings(modes={"admin_grants": Mode.REMEDIATE}), LiveState(iam))
    finding = finding_of(attach(ADMIN_ACCESS), context)
    assert finding.severity == "critical" and "AWS managed policy AdministratorAccess" in finding.reason
    assert calls.count("GetPolicyVersion") == 1
    finding_of(attach(ADMIN_ACCESS, "role", "build-runner"), context)
    assert calls.count("GetPolicyVersion") == 1  # cached for the container's lifetime


def test_an_aws_managed_policy_that_cannot_be_read_live_is_a_review_finding(account, monkeypatch) -> None:
    from remediator import grants

    monkeypatch.setattr(grants, "_LIVE_MANAGED", {})
    finding = finding_of(attach("arn:aws:iam::aws:policy/NotPublishedYet"), live())
    assert finding.severity == "low" and finding.action is None
    assert "it no longer exists" in finding.reason and "not in the shipped AWS managed policy data" in finding.reason
