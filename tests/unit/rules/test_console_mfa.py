"""console_mfa: every branch of SPEC §3, in dry run and against a moto account."""

from __future__ import annotations

import copy
import dataclasses
import json

import boto3
import pytest
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import EXEMPT_TAG, Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope
from remediator.findings import Mode, Outcome
from remediator.rules import console_mfa
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, LiveState
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ONLY = ("console_mfa",)


def decide_event(name: str, context: EvalContext = DRY_RUN, **changes: object):
    event = copy.deepcopy(load_event(name))
    event["detail"].update(changes)
    return decide(parse_envelope(event), context, ONLY)


@pytest.mark.parametrize(
    "event, severity, grace",
    [
        ("update-own-login-profile.json", "medium", True),
        ("console-login-without-mfa.json", "medium", True),
        ("deactivate-mfa-device.json", "high", False),  # MFA removed from a user with a password: act at once
    ],
)
def test_dry_run_severity_and_grace(event: str, severity: str, grace: bool) -> None:
    [finding] = decide_event(event).findings
    assert finding.severity == severity
    assert "assumed" in finding.reason
    assert ("grace_hours" in finding.details) is grace
    assert finding.action and ("after the 24 h grace period" in finding.action) is grace


def test_enable_mfa_device_resolves_and_is_not_a_finding() -> None:
    decision = decide_event("enable-mfa-device.json")
    assert decision.findings == [] and decision.resolves == ["console_mfa"] and decision.skipped is None


@pytest.mark.parametrize(
    "extra, identity_type",
    [
        ({"MFAUsed": "Yes"}, "IAMUser"),
        ({"MFAUsed": "No", "SamlProviderArn": "arn:aws:iam::123456789012:saml-provider/okta"}, "IAMUser"),
        ({"MFAUsed": "No"}, "AssumedRole"),  # role/SSO sessions are not IAM-user logins
        ({"MFAUsed": "No"}, "Root"),  # root_activity's
    ],
)
def test_console_logins_that_are_not_findings(extra: dict, identity_type: str) -> None:
    event = copy.deepcopy(load_event("console-login-without-mfa.json"))
    event["detail"]["additionalEventData"].update(extra)
    event["detail"]["userIdentity"]["type"] = identity_type
    assert decide(parse_envelope(event), DRY_RUN, ONLY).findings == []


def test_failed_sign_in_is_skipped() -> None:
    decision = decide_event("console-login-without-mfa.json", responseElements={"ConsoleLogin": "Failure"})
    assert decision.skipped == "failed call"


def test_delete_login_profile_parameter_changes_the_action() -> None:
    context = EvalContext(
        Settings(live=False, console_mfa_remediation="delete-login-profile", mfa_grace_period_hours=0), AssumedState()
    )
    [finding] = decide_event("update-own-login-profile.json", context).findings
    assert finding.action == "delete the console password (login profile) of user carol"
    assert "grace_hours" not in finding.details


def test_policy_document_is_aws_documented_self_manage_mfa() -> None:
    document = console_mfa.deny_without_mfa_document()
    deny = next(s for s in document["Statement"] if s["Effect"] == "Deny")
    assert deny["Condition"] == {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}
    assert "iam:EnableMFADevice" in deny["NotAction"] and "iam:CreateVirtualMFADevice" in deny["NotAction"]


@pytest.fixture
def account():
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="carol")
        iam.create_login_profile(UserName="carol", Password="Carol-Passw0rd-123!")
        policy = iam.create_policy(
            PolicyName="deny-without-mfa", PolicyDocument=json.dumps(console_mfa.deny_without_mfa_document())
        )["Policy"]["Arn"]
        settings = Settings(modes={"console_mfa": Mode.REMEDIATE}, deny_without_mfa_policy_arn=policy)
        yield iam, settings, policy


def _attached(iam) -> list[str]:
    return [p["PolicyArn"] for p in iam.list_attached_user_policies(UserName="carol")["AttachedPolicies"]]


def test_mfa_removed_from_password_user_attaches_policy_verified(account) -> None:
    iam, settings, policy = account
    context = EvalContext(settings, LiveState(iam))
    [finding] = decide_event("deactivate-mfa-device.json", context).findings
    assert finding.severity == "high" and "assumed" not in finding.reason
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and _attached(iam) == [policy]
    assert finding.undo and policy in finding.undo


def test_first_sight_within_grace_warns_and_changes_nothing(account) -> None:
    iam, settings, _ = account
    [finding] = decide_event("update-own-login-profile.json", EvalContext(settings, LiveState(iam))).findings
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.SKIPPED and "24 h" in result.detail and _attached(iam) == []


def test_user_with_mfa_is_low_without_action(account) -> None:
    iam, settings, _ = account
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="carol", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    [finding] = decide_event("update-own-login-profile.json", EvalContext(settings, LiveState(iam))).findings
    assert finding.severity == "low" and finding.action is None


def test_exempt_user_is_reported_and_untouched(account) -> None:
    iam, settings, _ = account
    iam.tag_user(UserName="carol", Tags=[{"Key": EXEMPT_TAG, "Value": "shared kiosk"}])
    honoured = dataclasses.replace(settings, honour_exempt_tags=True)
    [finding] = decide_event("deactivate-mfa-device.json", EvalContext(honoured, LiveState(iam))).findings
    assert finding.exempt and finding.action is None and "shared kiosk" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.EXEMPT and _attached(iam) == []


def test_delete_login_profile_is_verified(account) -> None:
    iam, _, _ = account
    result = console_mfa.enforce_mfa(iam, "carol", "delete-login-profile", None)
    assert result.outcome == Outcome.VERIFIED
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="carol")


def test_enforcing_without_a_configured_policy_fails_loudly(account) -> None:
    iam, _, _ = account
    assert console_mfa.enforce_mfa(iam, "carol", "deny-policy", None).outcome == Outcome.FAILED


def test_resolve_detaches_our_policy(account) -> None:
    iam, settings, policy = account
    iam.attach_user_policy(UserName="carol", PolicyArn=policy)
    record = parse_envelope(load_event("enable-mfa-device.json"))
    assert "detached" in console_mfa.resolve(record, AwsClients(), settings, None)
    assert _attached(iam) == []


# ---------------------------------------------------------------- account takeover
ACCOUNT = "123456789012"


def _iam_user(name: str, arn: str | None = None, account: str = ACCOUNT) -> dict:
    return {
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "accountId": account,
        "userName": name,
        "arn": arn or f"arn:aws:iam::{account}:user/{name}",
    }


ROLE_SESSION_NAMED_CAROL = {
    "type": "AssumedRole",
    "principalId": "AROAEXAMPLE:carol",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/carol/carol",
    "sessionContext": {
        "sessionIssuer": {"type": "Role", "userName": "carol", "arn": f"arn:aws:iam::{ACCOUNT}:role/carol"}
    },
}
ROOT = {"type": "Root", "principalId": ACCOUNT, "accountId": ACCOUNT, "arn": f"arn:aws:iam::{ACCOUNT}:root"}
FEDERATED = {
    "type": "FederatedUser",
    "principalId": f"{ACCOUNT}:carol",
    "accountId": ACCOUNT,
    "arn": f"arn:aws:sts::{ACCOUNT}:federated-user/carol",
}


@pytest.mark.parametrize(
    "identity, takeover",
    [
        (_iam_user("alice"), True),
        (_iam_user("carol"), False),
        (_iam_user("Carol"), False),  # IAM user names are unique case-insensitively
        (_iam_user("carol", f"arn:aws:iam::{ACCOUNT}:user/team/carol"), False),  # a path is not another user
        (_iam_user("carol", account="999988887777"), True),  # a user of another account
        (ROLE_SESSION_NAMED_CAROL, True),  # a role session acting on a user is always someone else
        (ROOT, True),
        (FEDERATED, True),
    ],
)
@pytest.mark.parametrize("event_name", ["CreateLoginProfile", "UpdateLoginProfile"])
def test_a_password_set_by_someone_else_is_takeover_high_and_at_once(identity, takeover, event_name) -> None:
    [finding] = decide_event("update-own-login-profile.json", userIdentity=identity, eventName=event_name).findings
    if takeover:
        assert finding.severity == "high" and "account takeover" in finding.reason
        assert finding.action == "delete the console password (login profile) of user carol at once (no grace period)"
        assert "grace_hours" not in finding.details and finding.details["takeover"] == "password"
        assert "assumed (dry run): carol holds admin or escalation power" in finding.reason
        assert finding.undo.startswith("aws iam create-login-profile --user-name carol")
    else:
        assert finding.severity == "medium" and "takeover" not in finding.reason and "grace_hours" in finding.details


@pytest.mark.parametrize(
    "identity, takeover",
    [
        (_iam_user("alice"), True),
        (_iam_user("CAROL"), False),
        (ROLE_SESSION_NAMED_CAROL, True),
        (ROOT, True),
    ],
)
def test_only_the_users_own_mfa_enrolment_resolves_anyone_elses_is_takeover(identity, takeover) -> None:
    decision = decide_event("enable-mfa-device.json", userIdentity=identity)
    if not takeover:
        assert decision.findings == [] and decision.resolves == ["console_mfa"]
        return
    assert decision.resolves == []
    [finding] = decision.findings
    serial = f"arn:aws:iam::{ACCOUNT}:mfa/carol-phone"
    assert finding.severity == "high" and f"enrolled MFA device {serial} for carol" in finding.reason
    assert finding.action == f"deactivate MFA device {serial} of user carol at once (no grace period)"
    assert finding.undo.startswith(f"aws iam enable-mfa-device --user-name carol --serial-number {serial}")


def test_the_demo_takeover_event_is_a_role_session_enrolling_a_device() -> None:
    decision = decide_event("enable-mfa-device-for-another-user.json")
    assert decision.resolves == [] and decision.findings[0].details["takeover"] == "mfa"


def test_a_device_serial_that_cannot_be_a_serial_is_reported_not_acted_on() -> None:
    event = copy.deepcopy(load_event("enable-mfa-device-for-another-user.json"))
    event["detail"]["requestParameters"]["serialNumber"] = "x; rm -rf /"
    [finding] = decide(parse_envelope(event), DRY_RUN, ONLY).findings
    assert finding.severity == "high" and finding.action is None and finding.undo is None


ADMIN = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def test_password_takeover_of_an_admin_is_deleted_at_once_and_says_how_to_undo(account) -> None:
    iam, settings, _ = account
    admin = iam.create_policy(PolicyName="everything", PolicyDocument=json.dumps(ADMIN))["Policy"]["Arn"]
    iam.create_group(GroupName="ops")
    iam.attach_group_policy(GroupName="ops", PolicyArn=admin)
    iam.add_user_to_group(GroupName="ops", UserName="carol")
    [finding] = decide_event("create-login-profile.json", EvalContext(settings, LiveState(iam))).findings
    assert finding.severity == "high" and "assumed" not in finding.reason
    assert (
        "carol holds admin-equivalent permissions (through customer-managed policy "
        f"arn:aws:iam::{ACCOUNT}:policy/everything)"
    ) in finding.reason
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and "console password of carol is deleted" in result.detail
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="carol")
    assert "aws iam create-login-profile --user-name carol --password-reset-required" in finding.undo


def test_password_takeover_of_a_user_without_power_waits_for_the_grace_period(account) -> None:
    iam, settings, _ = account
    context = EvalContext(settings, LiveState(iam))
    [finding] = decide_event("update-login-profile-for-another-user.json", context).findings
    assert "carol holds neither admin-equivalent nor escalation permissions" in finding.reason
    assert finding.severity == "high" and finding.action and "after the 24 h grace period" in finding.action
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.SKIPPED and "warned" in result.detail
    assert iam.get_login_profile(UserName="carol")["LoginProfile"]["UserName"] == "carol"


def test_password_takeover_of_an_escalating_user_is_undone_at_once(account) -> None:
    iam, settings, _ = account
    iam.put_user_policy(
        UserName="carol",
        PolicyName="keys",
        PolicyDocument=json.dumps(
            {
                "Version": "2012-10-17",
                "Statement": [{"Effect": "Allow", "Action": "iam:CreateAccessKey", "Resource": "*"}],
            }
        ),
    )
    [finding] = decide_event(
        "update-login-profile-for-another-user.json", EvalContext(settings, LiveState(iam))
    ).findings
    assert "carol can escalate privileges" in finding.reason and "at once" in (finding.action or "")
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    with pytest.raises(iam.exceptions.NoSuchEntityException):
        iam.get_login_profile(UserName="carol")


def test_mfa_takeover_deactivates_exactly_that_device(account) -> None:
    iam, settings, _ = account
    iam.put_user_policy(
        UserName="carol",
        PolicyName="everything",
        PolicyDocument=json.dumps(
            {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
        ),
    )
    serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="carol-phone")["VirtualMFADevice"]["SerialNumber"]
    iam.enable_mfa_device(
        UserName="carol", SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321"
    )
    event = copy.deepcopy(load_event("enable-mfa-device-for-another-user.json"))
    event["detail"]["requestParameters"] = {"userName": "carol", "serialNumber": serial}
    decision = decide(parse_envelope(event), EvalContext(settings, LiveState(iam)), ONLY)
    [finding] = decision.findings
    assert decision.resolves == [] and finding.details == {
        "user": "carol",
        "takeover": "mfa",
        "serial": serial,
        "event_id": event["detail"]["eventID"],
    }
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and f"MFA device {serial} is no longer enrolled" in result.detail
    assert iam.list_mfa_devices(UserName="carol")["MFADevices"] == []
    assert console_mfa.resolve(parse_envelope(event), AwsClients(), settings, None) == "nothing to resolve"


def test_takeover_in_notify_mode_changes_nothing(account) -> None:
    iam, _, policy = account
    settings = Settings(modes={"console_mfa": Mode.NOTIFY}, deny_without_mfa_policy_arn=policy)
    [finding] = decide_event("create-login-profile.json", EvalContext(settings, LiveState(iam))).findings
    assert act(finding, AwsClients()).outcome == Outcome.NOTIFIED
    assert iam.get_login_profile(UserName="carol")["LoginProfile"]["UserName"] == "carol"
