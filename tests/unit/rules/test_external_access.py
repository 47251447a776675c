"""external_access: each resource kind decided from real-shaped events (dry run and with an account's state),
and stripping a policy never grants anything the original did not."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from remediator.config import Settings
from remediator.engine import decide
from remediator.events import parse_envelope
from remediator.exemption_list import ExemptionEntry
from remediator.findings import Finding, Mode
from remediator.policy import analyse_resource_policy
from remediator.remediate.sharing import strip_offending
from remediator.rules.base import EvalContext
from remediator.state import AssumedState, StateUnreadable
from tests.conftest import load_event

ACCOUNT = "123456789012"
OTHER = "846424999548"
PARTNER = "444455556666"
DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ORG = {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}


class Account(AssumedState):
    """An account whose organization is known and whose Lambda policy reads as given, as a live read would."""

    live = True

    def __init__(self, organization: str | None = "o-abc123def4", lambda_policy: dict[str, Any] | None = None):
        self._organization, self._policy = organization, lambda_policy

    def organization_id(self) -> str | None:
        return self._organization

    def regional_read(self, service: str, region: str | None, what: str, call: Any) -> Any:
        if self._policy is None:
            raise StateUnreadable(f"{what} (AccessDeniedException)")
        return {"Policy": json.dumps(self._policy)}


LIVE = EvalContext(Settings(), Account())


def event(name: str, **params: Any) -> dict[str, Any]:
    """A demo event with some request parameters replaced."""
    envelope = copy.deepcopy(load_event(name))
    envelope["detail"]["requestParameters"].update(params)
    return envelope


def findings(envelope: dict[str, Any], context: EvalContext = DRY_RUN) -> list[Finding]:
    decision = decide(parse_envelope(envelope), context, rule_ids=("external_access",))
    assert decision.skipped is None
    return decision.findings


def one(envelope: dict[str, Any], context: EvalContext = DRY_RUN) -> Finding:
    [finding] = findings(envelope, context)
    return finding


def ami(*items: dict[str, str]) -> dict[str, Any]:
    return event("share-ami-with-another-account.json", launchPermission={"add": {"items": list(items)}})


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal: Any, **extra: Any) -> dict[str, Any]:
    return {"Effect": "Allow", "Principal": principal, "Action": "*", "Resource": "*", **extra}


# ---------------------------------------------------------------- sharing lists


def test_an_ami_made_public_is_critical_and_removes_exactly_that_permission() -> None:
    finding = one(ami({"group": "all"}))
    assert finding.severity == "critical" and "with everyone" in finding.reason
    assert finding.details["entries"] == [{"Group": "all"}]
    assert finding.undo and '--launch-permission \'{"Add":[{"Group":"all"}]}\'' in finding.undo


def test_an_ami_shared_with_another_account_is_high() -> None:
    finding = one(ami({"userId": OTHER}))
    assert finding.severity == "high" and OTHER in finding.reason
    assert finding.action and "image ami-0c1d2e3f4a5b60718" in finding.action


@pytest.mark.parametrize(
    "context",
    [
        EvalContext(Settings(live=False, trusted_accounts=frozenset({OTHER})), AssumedState()),
        DRY_RUN,
    ],
    ids=["trusted account", "own account"],
)
def test_the_own_or_a_trusted_account_is_no_finding(context: EvalContext) -> None:
    shared = OTHER if context.settings.trusted_accounts else ACCOUNT
    assert findings(ami({"userId": shared}), context) == []


def test_only_the_outsider_of_several_accounts_is_removed() -> None:
    settings = Settings(live=False, trusted_accounts=frozenset({PARTNER}))
    finding = one(ami({"userId": PARTNER}, {"userId": OTHER}), EvalContext(settings, AssumedState()))
    assert finding.details["entries"] == [{"UserId": OTHER}]


def test_an_ami_shared_with_the_own_organization_is_no_finding_but_another_organization_is() -> None:
    own = ami({"organizationArn": "arn:aws:organizations::111111111111:organization/o-abc123def4"})
    assert findings(own, LIVE) == []
    other = ami({"organizationalUnitArn": "arn:aws:organizations::999999999999:ou/o-zzz999zzz9/ou-ab12-cd34ef56"})
    assert one(other, LIVE).severity == "high"


def test_shared_with_something_that_is_no_account_is_a_low_review_finding() -> None:
    finding = one(ami({"userId": "bob"}))
    assert finding.severity == "low" and finding.action is None and "'bob'" in finding.reason


def test_a_snapshot_made_public_is_critical() -> None:
    assert one(load_event("share-ebs-snapshot-publicly.json")).severity == "critical"


def test_an_rds_snapshot_shared_and_a_cluster_snapshot_made_public() -> None:
    shared = one(load_event("share-rds-snapshot-with-another-account.json"))
    assert shared.severity == "high" and shared.details["entries"] == [OTHER]
    assert "--values-to-remove 846424999548" in shared.details["fix"]
    public = one(load_event("share-rds-cluster-snapshot-publicly.json"))
    assert public.severity == "critical" and public.details["entries"] == ["all"]


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"valuesToAdd": []}, []), ({"attributeName": "other"}, [])],
    ids=["nothing added", "not the restore attribute"],
)
def test_rds_changes_that_share_nothing_are_no_finding(params: dict[str, Any], expected: list[Any]) -> None:
    assert findings(event("share-rds-snapshot-with-another-account.json", **params)) == expected


# ---------------------------------------------------------------- Lambda


def test_a_function_opened_to_everyone_is_critical_whatever_the_api_version_in_the_name() -> None:
    for name in ("AddPermission20150331v2", "AddPermission20150331", "AddPermission"):
        envelope = load_event("lambda-add-permission-everyone.json")
        envelope["detail"]["eventName"] = name
        finding = one(envelope)
        assert finding.severity == "critical" and finding.details["entries"] == ["backdoor"]


def test_a_function_permission_narrowed_to_the_organization_is_no_finding() -> None:
    envelope = event("lambda-add-permission-everyone.json", principalOrgID="o-abc123def4")
    del envelope["detail"]["responseElements"]
    assert findings(envelope, LIVE) == []


def test_a_function_permission_narrowed_only_by_source_ip_is_still_everyone() -> None:
    statement = allow("*", Sid="ip", Condition={"IpAddress": {"aws:SourceIp": "203.0.113.0/24"}})
    envelope = load_event("lambda-add-permission-everyone.json")
    envelope["detail"]["responseElements"]["statement"] = json.dumps(statement)
    assert one(envelope).severity == "critical"


def test_a_function_permission_for_another_account_is_high_and_for_a_service_of_ours_nothing() -> None:
    envelope = event("lambda-add-permission-everyone.json", principal=OTHER)
    del envelope["detail"]["responseElements"]
    assert one(envelope).severity == "high"
    envelope = event("lambda-add-permission-everyone.json", principal="s3.amazonaws.com", sourceAccount=ACCOUNT)
    del envelope["detail"]["responseElements"]
    assert findings(envelope) == []


def test_without_the_permission_in_the_event_the_live_policy_is_read_or_a_low_finding_says_why() -> None:
    envelope = load_event("lambda-add-permission-everyone.json")
    envelope["detail"]["requestParameters"] = {"functionName": "invoice-export"}
    envelope["detail"]["responseElements"] = None
    dry = one(envelope)
    assert dry.severity == "low" and "could not be read" in dry.reason and dry.action is None
    denied = one(envelope, EvalContext(Settings(), Account(lambda_policy=None)))
    assert denied.severity == "low" and "AccessDeniedException" in denied.reason
    live_policy = {"Statement": [allow({"Service": "s3.amazonaws.com"}, Sid="s3"), allow("*", Sid="open")]}
    live = one(envelope, EvalContext(Settings(), Account(lambda_policy=live_policy)))
    assert live.severity == "critical" and live.details["entries"] == ["open"]


# ---------------------------------------------------------------- policy documents


@pytest.mark.parametrize(
    "name",
    [
        "put-key-policy-for-another-account.json",
        "set-topic-policy-for-another-account.json",
        "put-bucket-policy-for-another-account.json",
        "set-glacier-vault-policy-for-another-account.json",
    ],
)
def test_a_policy_granting_another_account_is_high_and_names_only_the_offending_statement(name: str) -> None:
    finding = one(load_event(name))
    assert finding.severity == "high" and OTHER in finding.reason
    assert len(finding.details["statements"]) == 1 and finding.details["entries"] == [None]


@pytest.mark.parametrize(
    "name",
    [
        "put-secret-resource-policy-everyone.json",
        "set-queue-policy-everyone.json",
        "set-ecr-repository-policy-public.json",
        "put-efs-file-system-policy-everyone.json",
        "update-opensearch-domain-access-policy-everyone.json",
    ],
)
def test_a_policy_open_to_everyone_is_critical(name: str) -> None:
    assert one(load_event(name)).severity == "critical"


@pytest.mark.parametrize(
    ("name", "notify_only"),
    [
        ("set-queue-policy-everyone.json", False),
        ("set-ecr-repository-policy-public.json", False),
        ("set-glacier-vault-policy-for-another-account.json", True),
        ("put-efs-file-system-policy-everyone.json", False),
        ("update-opensearch-domain-access-policy-everyone.json", True),
        ("put-secret-resource-policy-everyone.json", False),
        ("put-key-policy-for-another-account.json", False),
    ],
)
def test_kinds_we_do_not_change_say_so_with_the_command(name: str, notify_only: bool) -> None:
    finding = one(load_event(name), EvalContext(Settings(live=False, modes={"external_access": Mode.REMEDIATE}),
                                                AssumedState()))  # fmt: skip
    assert (finding.action is None) == notify_only
    assert ("Notify only" in finding.reason and "aws " in finding.reason) == notify_only


def test_a_statement_narrowed_to_the_organization_is_no_finding_for_any_policy_kind() -> None:
    document = policy(allow("*", Condition=ORG))
    for name, field in (
        ("put-secret-resource-policy-everyone.json", "resourcePolicy"),
        ("put-key-policy-for-another-account.json", "policy"),
    ):
        assert findings(event(name, **{field: document}), LIVE) == []


def test_an_organization_that_is_not_ours_is_an_outsider() -> None:
    envelope = event("put-secret-resource-policy-everyone.json", resourcePolicy=policy(allow("*", Condition=ORG)))
    assert one(envelope, EvalContext(Settings(), Account("o-own0000000"))).severity == "high"


def test_a_public_bucket_is_left_to_s3_public_but_another_account_in_the_same_policy_is_ours() -> None:
    public = allow("*", Sid="public")
    assert findings(event("put-bucket-policy-for-another-account.json", bucketPolicy=json.loads(policy(public)))) == []
    both = json.loads(policy(public, allow({"AWS": f"arn:aws:iam::{OTHER}:root"}, Sid="partner")))
    finding = one(event("put-bucket-policy-for-another-account.json", bucketPolicy=both))
    assert finding.severity == "high" and [s["Sid"] for s in finding.details["statements"]] == ["partner"]


@pytest.mark.parametrize(
    "params",
    [
        {"attributeName": "DisplayName", "attributeValue": "Orders"},
        {"attributeValue": ""},
    ],
    ids=["another attribute", "empty policy"],
)
def test_topic_attributes_that_share_nothing_are_no_finding(params: dict[str, Any]) -> None:
    assert findings(event("set-topic-policy-for-another-account.json", **params)) == []


def test_an_unreadable_or_omitted_policy_is_a_low_review_finding() -> None:
    for value in ("not json", {"omitted": True}):
        finding = one(event("put-secret-resource-policy-everyone.json", resourcePolicy=value))
        assert finding.severity == "low" and finding.action is None and "Reported for review" in finding.reason


def test_sns_and_sqs_add_permission_and_kms_grants() -> None:
    topic = one(load_event("sns-add-permission-for-another-account.json"))
    assert topic.severity == "high" and topic.details["entries"] == ["partner-publish"]
    assert "aws sns remove-permission" in topic.details["fix"]
    queue = one(load_event("sqs-add-permission-for-another-account.json"))
    assert queue.severity == "high" and queue.details["entries"] == ["partner-send"] and queue.action
    assert "aws sqs remove-permission" in queue.details["fix"] and queue.undo
    assert "--label partner-send --aws-account-ids 846424999548 --actions SendMessage" in queue.undo
    grant = one(load_event("create-kms-grant-for-another-account.json"))
    assert grant.severity == "high" and grant.undo and "create-grant" in grant.undo
    own = event("create-kms-grant-for-another-account.json", granteePrincipal=f"arn:aws:iam::{ACCOUNT}:role/app")
    assert findings(own) == []


def test_break_glass_caller_is_exempt_and_nothing_is_planned() -> None:
    envelope = load_event("share-ami-with-another-account.json")
    caller = envelope["detail"]["userIdentity"]["sessionContext"]["sessionIssuer"]["arn"]
    settings = Settings(live=False, break_glass_arns=frozenset({caller}))
    finding = one(envelope, EvalContext(settings, AssumedState()))
    assert finding.exempt and finding.action is None


# ---------------------------------------------------------------- stripping never widens

ACCOUNTS = st.sampled_from([ACCOUNT, OTHER, PARTNER, f"arn:aws:iam::{OTHER}:root", f"arn:aws:iam::{ACCOUNT}:role/x"])
PRINCIPALS = st.one_of(
    st.just("*"),
    st.builds(lambda a: {"AWS": a}, ACCOUNTS),
    st.builds(lambda a: {"AWS": a}, st.lists(ACCOUNTS, min_size=1, max_size=3)),
    st.just({"Service": "s3.amazonaws.com"}),
)
CONDITIONS = st.one_of(
    st.none(),
    st.just(ORG),
    st.just({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}),
    st.builds(lambda a: {"StringEquals": {"aws:SourceAccount": a}}, st.sampled_from([ACCOUNT, OTHER])),
)
STATEMENTS = st.builds(
    lambda effect, principal, action, condition, sid: {
        "Sid": sid,
        "Effect": effect,
        "Principal": principal,
        "Action": action,
        "Resource": "*",
        **({"Condition": condition} if condition else {}),
    },
    st.sampled_from(["Allow", "Allow", "Deny"]),
    PRINCIPALS,
    st.sampled_from(["*", "s3:GetObject", ["kms:Decrypt", "kms:DescribeKey"]]),
    CONDITIONS,
    st.text("abc", max_size=3),
)


@settings(max_examples=150, deadline=None)
@given(st.lists(STATEMENTS, min_size=1, max_size=6))
def test_stripping_the_offending_statements_never_grants_more(statements: list[dict[str, Any]]) -> None:
    document = {"Version": "2012-10-17", "Statement": statements}
    verdict = analyse_resource_policy(document, ACCOUNT, own_org_id="o-abc123def4")
    offending = [statements[i] for i in verdict.offending_indices]
    kept = strip_offending(document, offending)
    # Only statements of the original are kept, in order; every Deny is kept.
    assert all(statement in statements for statement in kept)
    assert [s for s in statements if s["Effect"] == "Deny"] == [s for s in kept if s["Effect"] == "Deny"]
    # What is left lets no outsider in.
    assert not analyse_resource_policy({"Statement": kept}, ACCOUNT, own_org_id="o-abc123def4").issues


class Listed:
    """The central exemption list holding the given entries."""

    def __init__(self, *patterns: str) -> None:
        self._entries = tuple(
            ExemptionEntry(p, "external_access", "partner share", "2099-12-31", "ciso", added_at="2026-11-01T00:00:00Z")
            for p in patterns
        )

    def entries(self) -> tuple[ExemptionEntry, ...]:
        return self._entries


def test_an_exemption_for_the_resource_arn_exempts_that_resource_only() -> None:
    exempt_arn = "arn:aws:rds:eu-west-1:123456789012:snapshot:orders-nightly"
    context = EvalContext(Settings(live=False), AssumedState(), Listed(exempt_arn))
    finding = one(load_event("share-rds-snapshot-with-another-account.json"), context)
    assert finding.resource.arn == exempt_arn and finding.exempt and finding.action is None
    other = one(event("share-rds-snapshot-with-another-account.json", dBSnapshotIdentifier="payroll"), context)
    assert not other.exempt and other.action


def test_a_grant_the_event_does_not_identify_is_reported_but_not_acted_on() -> None:
    envelope = load_event("create-kms-grant-for-another-account.json")
    envelope["detail"]["responseElements"] = None
    finding = one(
        envelope, EvalContext(Settings(live=False, modes={"external_access": Mode.REMEDIATE}), AssumedState())
    )
    assert finding.severity == "high" and finding.action is None and "nothing can be changed" in finding.reason
