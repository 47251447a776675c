"""access_keys: every branch of SPEC §3, decided in dry run and remediated in a moto account."""

from __future__ import annotations

import copy

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

DRY_RUN = EvalContext(Settings(live=False), AssumedState())


def findings_for(name: str, context: EvalContext = DRY_RUN, **changes: object):
    event = copy.deepcopy(load_event(name))
    event["detail"].update(changes)
    return decide(parse_envelope(event), context, rule_ids=("access_keys",))


@pytest.mark.parametrize(
    "event, severity",
    [
        ("create-access-key-for-another-user.json", "high"),
        ("create-own-access-key.json", "medium"),
        ("reactivate-access-key.json", "high"),
        ("create-root-access-key.json", "critical"),
    ],
)
def test_severity_follows_whose_key_it_is(event: str, severity: str) -> None:
    decision = findings_for(event)
    assert decision.skipped is None
    assert [(f.rule, f.severity) for f in decision.findings] == [("access_keys", severity)]


def test_dry_run_says_state_was_assumed_and_what_remediate_would_do() -> None:
    finding = findings_for("create-access-key-for-another-user.json").findings[0]
    assert "assumed" in finding.reason
    assert finding.action == "set access key AKIAZ3EXAMPLEBOB0001 of user bob Inactive"
    assert finding.mode == Mode.NOTIFY


def test_root_key_for_root_has_no_automatic_action_but_root_key_for_a_user_does() -> None:
    root_own = findings_for("create-root-access-key.json").findings[0]
    assert root_own.action is None and "root" in root_own.reason
    for_user = findings_for("create-root-access-key.json", requestParameters={"userName": "dave"}).findings[0]
    assert for_user.severity == "high"
    assert for_user.action == "set access key AKIAZ3EXAMPLEROOT001 of user dave Inactive"


def test_deactivating_a_key_is_not_a_finding() -> None:
    decision = findings_for(
        "reactivate-access-key.json",
        requestParameters={"userName": "carol", "accessKeyId": "AKIA1", "status": "Inactive"},
    )
    assert decision.findings == [] and decision.skipped is None


def test_failed_call_and_own_action_are_skips() -> None:
    assert findings_for("create-own-access-key.json", errorCode="LimitExceeded").skipped == "failed call"
    ours = EvalContext(
        Settings(
            own_role_arns=frozenset({"arn:aws:iam::123456789012:role/remediator-keys"}),
            own_functions={"i-1": "arn:aws:iam::123456789012:role/remediator-keys"},
            live=False,
        ),
        AssumedState(),
    )
    identity = {
        "type": "AssumedRole",
        "arn": "arn:aws:sts::123456789012:assumed-role/remediator-keys/i-1",
        "sessionContext": {"sessionIssuer": {"arn": "arn:aws:iam::123456789012:role/remediator-keys"}},
    }
    # Our own function's session, but no remediation ever creates a key: judged like anyone's call.
    judged = findings_for("create-own-access-key.json", ours, userIdentity=identity)
    assert judged.skipped is None and [f.rule for f in judged.findings] == ["access_keys"]
    reactivated = findings_for("reactivate-access-key.json", ours, userIdentity=identity)
    assert reactivated.skipped == "own action"  # UpdateAccessKey is what access_keys' remediation calls


def test_mode_off_means_no_finding() -> None:
    context = EvalContext(Settings(modes={"access_keys": Mode.OFF}, live=False), AssumedState())
    assert findings_for("create-own-access-key.json", context).findings == []


def test_break_glass_target_is_exempt_and_nothing_is_planned() -> None:
    context = EvalContext(
        Settings(break_glass_arns=frozenset({"arn:aws:iam::123456789012:user/break-glass"}), live=False), AssumedState()
    )
    finding = findings_for("create-access-key-for-break-glass-user.json", context).findings[0]
    assert finding.exempt and finding.action is None
    assert "break-glass" in finding.reason


def test_missing_key_id_is_reported_without_action() -> None:
    finding = findings_for("create-access-key-for-another-user.json", responseElements=None).findings[0]
    assert finding.action is None and "does not name the key" in finding.reason


# --- against a moto account ---------------------------------------------------------------------------------


@pytest.fixture
def account():
    with mock_aws():
        iam = boto3.client("iam")
        yield iam


def _live_event_for_new_key(iam, user: str, tags: list[dict] | None = None) -> tuple[dict, str]:
    iam.create_user(UserName=user, Tags=tags or [])
    key_id = iam.create_access_key(UserName=user)["AccessKey"]["AccessKeyId"]
    event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
    event["detail"]["requestParameters"] = {"userName": user}
    event["detail"]["responseElements"]["accessKey"].update(userName=user, accessKeyId=key_id)
    return event, key_id


def _key_status(iam, user: str, key_id: str) -> str:
    return next(
        k["Status"] for k in iam.list_access_keys(UserName=user)["AccessKeyMetadata"] if k["AccessKeyId"] == key_id
    )


@pytest.mark.parametrize(
    "mode, outcome, status", [(Mode.REMEDIATE, Outcome.VERIFIED, "Inactive"), (Mode.NOTIFY, Outcome.NOTIFIED, "Active")]
)
def test_remediate_deactivates_the_key_and_notify_leaves_it(account, mode, outcome, status) -> None:
    event, key_id = _live_event_for_new_key(account, "bob")
    context = EvalContext(Settings(modes={"access_keys": mode}), LiveState(account))
    finding = decide(parse_envelope(event), context).findings[0]
    result = act(finding, AwsClients())
    assert result.outcome == outcome
    assert _key_status(account, "bob", key_id) == status


def test_exemption_tag_keeps_the_key_active_and_says_why(account) -> None:
    tags = [{"Key": EXEMPT_TAG, "Value": "legacy CI, JIRA-42"}]
    event, key_id = _live_event_for_new_key(account, "ci-bot", tags=tags)
    tags_off = EvalContext(Settings(modes={"access_keys": Mode.REMEDIATE}), LiveState(account))
    ignored = decide(parse_envelope(event), tags_off).findings[0]
    assert not ignored.exempt and ignored.action  # tags count only where the operator honours them
    context = EvalContext(Settings(modes={"access_keys": Mode.REMEDIATE}, honour_exempt_tags=True), LiveState(account))
    finding = decide(parse_envelope(event), context).findings[0]
    assert finding.exempt and "JIRA-42" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.EXEMPT
    assert _key_status(account, "ci-bot", key_id) == "Active"


def test_key_deleted_before_we_act_is_a_clear_skip(account) -> None:
    event, key_id = _live_event_for_new_key(account, "erin")
    account.delete_access_key(UserName="erin", AccessKeyId=key_id)
    context = EvalContext(Settings(modes={"access_keys": Mode.REMEDIATE}), LiveState(account))
    result = act(decide(parse_envelope(event), context).findings[0], AwsClients())
    assert result.outcome == Outcome.SKIPPED and "no longer exists" in result.detail


def test_user_deleted_before_we_act_is_a_clear_skip(account) -> None:
    event, key_id = _live_event_for_new_key(account, "frank")
    account.delete_access_key(UserName="frank", AccessKeyId=key_id)
    account.delete_user(UserName="frank")
    context = EvalContext(Settings(modes={"access_keys": Mode.REMEDIATE}), LiveState(account))
    finding = decide(parse_envelope(event), context).findings[0]
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED


def test_govcloud_arns_keep_their_partition_so_break_glass_still_matches() -> None:
    gov_identity = {
        "type": "IAMUser",
        "userName": "alice",
        "accountId": "123456789012",
        "arn": "arn:aws-us-gov:iam::123456789012:user/alice",
    }
    context = EvalContext(
        Settings(break_glass_arns=frozenset({"arn:aws-us-gov:iam::123456789012:user/break-glass"}), live=False),
        AssumedState(),
    )
    event = "create-access-key-for-break-glass-user.json"
    finding = findings_for(event, context, userIdentity=gov_identity).findings[0]
    assert finding.resource.arn == "arn:aws-us-gov:iam::123456789012:user/break-glass"
    assert finding.exempt
