"""identity_center: each event decided in dry run and on a moto Identity Center instance, and each remediation
really changing the permission set or the assignments. moto has no permissions-boundary API: the boundary is
given to the state directly where a test needs one."""

from __future__ import annotations

import copy
import json
import shlex
from typing import Any

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope
from remediator.findings import Finding, Mode, Outcome
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
REGION = "eu-west-1"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
READ_ONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
PASS_ROLE = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:PassRole", "Resource": "*"}]}
RUN_LAMBDA = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["lambda:CreateFunction", "lambda:InvokeFunction"], "Resource": "*"}],
}
READ_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def decide_event(name: str, context: EvalContext = DRY_RUN, params: dict[str, Any] | None = None, **changes: Any):
    event = copy.deepcopy(load_event(name))
    event["detail"].update(changes)
    event["detail"]["requestParameters"].update(params or {})
    return decide(parse_envelope(event), context, rule_ids=("identity_center",))


def finding_of(
    name: str, context: EvalContext = DRY_RUN, params: dict[str, Any] | None = None, **changes: Any
) -> Finding:
    [finding] = decide_event(name, context, params, **changes).findings
    return finding


# ---------------------------------------------------------------- dry run


def test_administrator_access_attached_to_a_permission_set_is_critical() -> None:
    finding = finding_of("attach-administrator-access-to-permission-set.json")
    assert (finding.severity, finding.mode) == ("critical", Mode.NOTIFY)
    assert finding.action.startswith(f"detach {ADMIN_ACCESS} from permission set ps-8a1f3c9e2b7d4e60")
    assert "provision-permission-set" in finding.undo and "--target-type ALL_PROVISIONED_ACCOUNTS" in finding.undo


def test_a_harmless_managed_policy_is_nothing_risky() -> None:
    decision = decide_event(
        "attach-administrator-access-to-permission-set.json", params={"managedPolicyArn": READ_ONLY}
    )
    assert decision.findings == [] and decision.skipped is None


def test_an_escalating_inline_policy_is_high_and_stays_notify_unless_its_own_mode_says_remediate() -> None:
    remediate = Settings(live=False, modes={"identity_center": Mode.REMEDIATE})
    finding = finding_of("put-inline-policy-to-permission-set-escalation.json", EvalContext(remediate, AssumedState()))
    assert finding.severity == "high" and "iam:PassRole+lambda:CreateFunction" in finding.reason
    assert finding.mode == Mode.NOTIFY and "IdentityCenterEscalationMode" in finding.reason
    both = Settings(
        live=False, modes={"identity_center": Mode.REMEDIATE}, identity_center_escalation_mode=Mode.REMEDIATE
    )
    assert (
        finding_of("put-inline-policy-to-permission-set-escalation.json", EvalContext(both, AssumedState())).mode
        == Mode.REMEDIATE
    )
    assert Settings.from_env({"MODE_IDENTITY_CENTER_ESCALATION": "remediate"}).identity_center_escalation_mode == (
        Mode.REMEDIATE
    )


def test_an_admin_inline_policy_is_critical_and_its_undo_carries_the_document() -> None:
    finding = finding_of(
        "put-inline-policy-to-permission-set-escalation.json", params={"inlinePolicy": json.dumps(ADMIN)}
    )
    assert finding.severity == "critical"
    assert shlex.split(finding.undo)[shlex.split(finding.undo).index("--inline-policy") + 1] == json.dumps(
        ADMIN, separators=(",", ":")
    )


@pytest.mark.parametrize(
    "event",
    [
        "create-account-assignment-admin-permission-set.json",
        "attach-customer-managed-policy-to-permission-set.json",
        "delete-permissions-boundary-from-permission-set.json",
        "provision-permission-set.json",
    ],
)
def test_what_dry_run_cannot_read_is_a_low_finding_for_review_never_nothing_risky(event: str) -> None:
    finding = finding_of(event)
    assert finding.severity == "low" and finding.action is None
    assert "could not be read" in finding.reason and "dry run" in finding.reason


def test_an_inline_policy_omitted_from_the_event_is_a_low_finding_in_dry_run() -> None:
    finding = finding_of(
        "put-inline-policy-to-permission-set-escalation.json", params={"inlinePolicy": {"omitted": True}}
    )
    assert finding.severity == "low" and "omitted" in finding.reason


def test_an_event_without_a_valid_permission_set_is_reported_not_dropped() -> None:
    finding = finding_of(
        "attach-administrator-access-to-permission-set.json", params={"permissionSetArn": "not-an-arn"}
    )
    assert finding.severity == "low" and finding.action is None


def test_a_break_glass_caller_is_reported_exempt() -> None:
    caller = load_event("attach-administrator-access-to-permission-set.json")["detail"]["userIdentity"]["arn"]
    settings = Settings(live=False, break_glass_arns=frozenset({caller}))
    finding = finding_of("attach-administrator-access-to-permission-set.json", EvalContext(settings, AssumedState()))
    assert finding.exempt and finding.action is None and finding.severity == "critical"


def test_the_eventbridge_pattern_matches_identity_center_as_cloudtrail_records_it() -> None:
    from moto.events.models import EventPattern

    from remediator.rules.identity_center import META

    [trigger] = META.triggers
    pattern = EventPattern.load(json.dumps(trigger.event_pattern()))
    assert pattern.matches_event(load_event("create-account-assignment-admin-permission-set.json"))
    failed = copy.deepcopy(load_event("create-account-assignment-admin-permission-set.json"))
    failed["detail"]["errorCode"] = "AccessDeniedException"
    assert not pattern.matches_event(failed)


# ---------------------------------------------------------------- a moto Identity Center instance


class BoundaryState(LiveState):
    """LiveState with a permissions boundary given directly (moto has no boundary API)."""

    boundary: dict[str, Any] | None = None

    def permission_set_boundary(
        self, instance_arn: str, permission_set_arn: str, region: str | None
    ) -> dict[str, Any] | None:
        return self.boundary


class Center:
    """A moto Identity Center instance with one permission set, and events rewritten to point at it."""

    def __init__(self) -> None:
        self.sso = boto3.client("sso-admin", region_name=REGION)
        self.iam = boto3.client("iam")
        self.instance = self.sso.list_instances()["Instances"][0]["InstanceArn"]
        self.arn = self.sso.create_permission_set(InstanceArn=self.instance, Name="Operators")["PermissionSet"][
            "PermissionSetArn"
        ]
        self.key = {"InstanceArn": self.instance, "PermissionSetArn": self.arn}
        self.state = BoundaryState(boto3.client("iam"))

    def context(self, **settings: Any) -> EvalContext:
        return EvalContext(Settings(modes={"identity_center": Mode.REMEDIATE}, **settings), self.state)

    def finding(self, name: str, params: dict[str, Any] | None = None, **settings: Any) -> Finding | None:
        decision = decide_event(
            name,
            self.context(**settings),
            {"instanceArn": self.instance, "permissionSetArn": self.arn, **(params or {})},
        )
        return decision.findings[0] if decision.findings else None

    def managed(self) -> list[str]:
        listing = self.sso.list_managed_policies_in_permission_set(**self.key)["AttachedManagedPolicies"]
        return [policy["Arn"] for policy in listing]

    def assign(self, principal: str = "94482488-3041-7026-18f3-be45837cd0e4") -> None:
        self.sso.create_account_assignment(
            **self.key, TargetId="210987654321", TargetType="AWS_ACCOUNT", PrincipalType="USER", PrincipalId=principal
        )

    def assignments(self) -> list[str]:
        listing = self.sso.list_account_assignments(**self.key, AccountId="210987654321")["AccountAssignments"]
        return [a["PrincipalId"] for a in listing]


@pytest.fixture
def center():
    with mock_aws():
        yield Center()


def test_an_admin_permission_set_assigned_is_critical_and_the_assignment_is_deleted(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    center.assign()
    finding = center.finding("create-account-assignment-admin-permission-set.json")
    assert finding.severity == "critical" and "AdministratorAccess" in finding.reason
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.VERIFIED, result
    assert center.assignments() == []
    assert "create-account-assignment" in finding.undo and "--principal-type USER" in finding.undo


def test_a_harmless_permission_set_assigned_is_nothing_risky(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=READ_ONLY)
    center.assign()
    assert center.finding("create-account-assignment-admin-permission-set.json") is None


def test_two_harmless_halves_in_different_policies_make_an_escalation(center) -> None:
    """iam:PassRole inline and lambda:CreateFunction in a customer managed policy: the set as a whole escalates."""
    center.iam.create_policy(PolicyName="run-lambda", PolicyDocument=json.dumps(RUN_LAMBDA))
    center.sso.attach_customer_managed_policy_reference_to_permission_set(
        **center.key, CustomerManagedPolicyReference={"Name": "run-lambda", "Path": "/"}
    )
    center.sso.put_inline_policy_to_permission_set(**center.key, InlinePolicy=json.dumps(PASS_ROLE))
    finding = center.finding("create-account-assignment-admin-permission-set.json")
    assert finding.severity == "high" and "iam:PassRole+lambda:CreateFunction" in finding.reason


def test_a_boundary_caps_what_an_assignment_grants(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    center.state.boundary = {"ManagedPolicyArn": READ_ONLY}
    assert center.finding("create-account-assignment-admin-permission-set.json") is None
    center.state.boundary = {"ManagedPolicyArn": ADMIN_ACCESS}
    assert center.finding("create-account-assignment-admin-permission-set.json").severity == "critical"


def test_a_boundary_that_cannot_be_read_caps_nothing_and_says_so(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    center.state.boundary = {"CustomerManagedPolicyReference": {"Name": "not-in-this-account", "Path": "/"}}
    finding = center.finding("create-account-assignment-admin-permission-set.json")
    assert finding.severity == "critical" and "boundary was not counted" in finding.reason


def test_boundary_changes_are_judged_on_the_whole_set_and_reported_only(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    removed = center.finding("delete-permissions-boundary-from-permission-set.json")
    assert removed.severity == "critical" and removed.action is None and "previous boundary" in removed.reason
    put = {"eventName": "PutPermissionsBoundaryToPermissionSet"}
    where = {"instanceArn": center.instance, "permissionSetArn": center.arn}
    narrowing = {**where, "permissionsBoundary": {"managedPolicyArn": READ_ONLY}}
    assert (
        decide_event(
            "delete-permissions-boundary-from-permission-set.json", center.context(), narrowing, **put
        ).findings
        == []
    )
    widening = {**where, "permissionsBoundary": {"managedPolicyArn": ADMIN_ACCESS}}
    [wide] = decide_event(
        "delete-permissions-boundary-from-permission-set.json", center.context(), widening, **put
    ).findings
    assert wide.severity == "critical" and wide.action is None


def test_provisioning_an_admin_set_is_reported_with_nothing_changed(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    finding = center.finding("provision-permission-set.json")
    assert finding.severity == "critical" and finding.action is None
    assert act(finding, AwsClients(region=REGION)).outcome == Outcome.SKIPPED
    assert center.managed() == [ADMIN_ACCESS]


def test_administrator_access_is_detached_and_the_set_re_provisioned(center) -> None:
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=READ_ONLY)
    center.sso.attach_managed_policy_to_permission_set(**center.key, ManagedPolicyArn=ADMIN_ACCESS)
    finding = center.finding("attach-administrator-access-to-permission-set.json")
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.VERIFIED, result
    assert center.managed() == [READ_ONLY]  # exactly the attached policy, nothing else
    assert "Re-provisioning it to every account" in result.detail


def test_an_admin_customer_managed_policy_is_read_here_and_detached(center) -> None:
    center.iam.create_policy(PolicyName="platform-operator", PolicyDocument=json.dumps(ADMIN))
    reference = {"Name": "platform-operator", "Path": "/"}
    center.sso.attach_customer_managed_policy_reference_to_permission_set(
        **center.key, CustomerManagedPolicyReference=reference
    )
    finding = center.finding("attach-customer-managed-policy-to-permission-set.json")
    assert finding.severity == "critical"
    assert act(finding, AwsClients(region=REGION)).outcome == Outcome.VERIFIED
    assert (
        center.sso.list_customer_managed_policy_references_in_permission_set(**center.key)[
            "CustomerManagedPolicyReferences"
        ]
        == []
    )


def test_a_customer_managed_policy_missing_here_is_a_low_finding(center) -> None:
    finding = center.finding("attach-customer-managed-policy-to-permission-set.json")
    assert finding.severity == "low" and "each account the permission set is provisioned to" in finding.reason


def test_an_escalating_inline_policy_is_deleted_when_escalations_are_remediated(center) -> None:
    document = load_event("put-inline-policy-to-permission-set-escalation.json")["detail"]["requestParameters"][
        "inlinePolicy"
    ]
    center.sso.put_inline_policy_to_permission_set(**center.key, InlinePolicy=document)
    finding = center.finding(
        "put-inline-policy-to-permission-set-escalation.json", identity_center_escalation_mode=Mode.REMEDIATE
    )
    result = act(finding, AwsClients(region=REGION))
    assert result.outcome == Outcome.VERIFIED, result
    assert center.sso.get_inline_policy_for_permission_set(**center.key)["InlinePolicy"] == ""
    assert "iam:PassRole" in result.detail  # the message keeps the document it deleted


def test_an_inline_policy_changed_after_the_event_is_left_alone(center) -> None:
    center.sso.put_inline_policy_to_permission_set(**center.key, InlinePolicy=json.dumps(READ_S3))
    finding = center.finding(
        "put-inline-policy-to-permission-set-escalation.json", identity_center_escalation_mode=Mode.REMEDIATE
    )
    assert act(finding, AwsClients(region=REGION)).outcome == Outcome.SKIPPED
    assert json.loads(center.sso.get_inline_policy_for_permission_set(**center.key)["InlinePolicy"]) == READ_S3


def test_an_inline_policy_omitted_from_the_event_is_read_from_the_permission_set(center) -> None:
    center.sso.put_inline_policy_to_permission_set(**center.key, InlinePolicy=json.dumps(ADMIN))
    finding = center.finding("put-inline-policy-to-permission-set-escalation.json", {"inlinePolicy": {"omitted": True}})
    assert finding.severity == "critical" and finding.action
