"""role_trust: every branch of SPEC §3/§4 for trust policies, decided in dry run and remediated in a moto account."""

from __future__ import annotations

import copy
import json
import shlex
import urllib.parse
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
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
EC2 = {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}
EVERYONE = {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"}
FOREIGN = {
    "Sid": "Vendor",
    "Effect": "Allow",
    "Principal": {"AWS": "arn:aws:iam::444455556666:root"},
    "Action": "sts:AssumeRole",
}


def policy(*statements: dict[str, Any]) -> dict[str, Any]:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def update_event(document: Any, role: str | None = "app-server", **changes: Any) -> dict[str, Any]:
    """The UpdateAssumeRolePolicy demo event with another trust policy (a dict is sent as CloudTrail's JSON text)."""
    event = copy.deepcopy(load_event("update-assume-role-policy-foreign-account.json"))
    params = {"policyDocument": json.dumps(document) if isinstance(document, dict) else document}
    if role is not None:
        params["roleName"] = role
    event["detail"]["requestParameters"] = params
    event["detail"].update(changes)
    return event


def decide_event(event: dict[str, Any], context: EvalContext = DRY_RUN):
    return decide(parse_envelope(event), context, rule_ids=("role_trust",))


def finding_of(event: dict[str, Any], context: EvalContext = DRY_RUN):
    decision = decide_event(event, context)
    assert decision.skipped is None
    [finding] = decision.findings
    return finding


@pytest.mark.parametrize(
    "event, severity",
    [
        ("create-role-trusting-everyone.json", "critical"),
        ("update-assume-role-policy-foreign-account.json", "high"),
        ("create-role-github-oidc-any-repo.json", "critical"),
    ],
)
def test_demo_events_are_found_with_their_severity(event: str, severity: str) -> None:
    finding = finding_of(load_event(event))
    assert (finding.rule, finding.severity, finding.mode) == ("role_trust", severity, Mode.NOTIFY)
    assert "assumed" in finding.reason


def test_a_role_for_an_aws_service_is_not_a_finding() -> None:
    decision = decide_event(load_event("create-role-for-ec2-service.json"))
    assert decision.findings == [] and decision.skipped is None


@pytest.mark.parametrize(
    "statement, severity",
    [
        (EVERYONE, "critical"),
        ({"Effect": "Allow", "Principal": "*", "Action": "sts:AssumeRole"}, "critical"),
        (
            {
                "Effect": "Allow",
                "NotPrincipal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
                "Action": "sts:AssumeRole",
            },
            "high",
        ),
        (
            {
                "Effect": "Allow",
                "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:saml-provider/okta"},
                "Action": "sts:AssumeRoleWithSAML",
            },
            "high",
        ),
        (
            {
                "Effect": "Allow",
                "Principal": {"Federated": "cognito-identity.amazonaws.com"},
                "Action": "sts:AssumeRoleWithWebIdentity",
            },
            "critical",
        ),
        ({**EVERYONE, "Condition": {"StringEquals": {"sts:ExternalId": "secret"}}}, "critical"),
        ({**EVERYONE, "Condition": {"StringEqualsIfExists": {"aws:PrincipalAccount": ACCOUNT}}}, "critical"),
    ],
)
def test_broad_trust_is_critical_only_for_an_unnarrowed_star_or_any_tenant(statement: dict, severity: str) -> None:
    assert finding_of(update_event(policy(statement))).severity == severity


class OrganizationOf(AssumedState):
    """A dry run that knows the account's organization, as a live read would."""

    live = True

    def __init__(self, organization: str | None) -> None:
        self._organization = organization

    def organization_id(self) -> str | None:
        return self._organization


ORG_ONLY = {**EVERYONE, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-abc123def4"}}}


def test_everyone_in_the_accounts_own_organization_is_not_an_outsider() -> None:
    decision = decide_event(update_event(policy(ORG_ONLY)), EvalContext(Settings(), OrganizationOf("o-abc123def4")))
    assert decision.findings == [] and decision.skipped is None


def test_everyone_in_another_organization_is_high_and_stripped() -> None:
    finding = finding_of(update_event(policy(ORG_ONLY)), EvalContext(Settings(), OrganizationOf("o-own0000000")))
    assert finding.severity == "high" and "o-abc123def4" in finding.reason and finding.action


def test_without_an_account_a_named_organization_is_assumed_to_be_the_accounts_own() -> None:
    """Dry run: never strip a role for the own organization on a guess; the organization is assumed."""
    assert decide_event(update_event(policy(ORG_ONLY))).findings == []
    mixed = finding_of(update_event(policy(ORG_ONLY, FOREIGN)))
    assert "o-abc123def4 assumed to be this account's own" in mixed.reason and "Vendor" in mixed.reason


@pytest.mark.parametrize(
    "statement",
    [
        EC2,
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:root"}, "Action": "sts:AssumeRole"},
        {**EVERYONE, "Condition": {"StringEquals": {"aws:PrincipalAccount": ACCOUNT}}},
        {
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.actions.githubusercontent.com"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringLike": {"token.actions.githubusercontent.com:sub": "repo:my-org/my-repo:*"}},
        },
        {"Effect": "Deny", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole"},
        {"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:TagSession"},
    ],
)
def test_own_account_services_pinned_oidc_and_denies_are_not_findings(statement: dict) -> None:
    assert decide_event(update_event(policy(statement))).findings == []


def test_trusted_accounts_and_organizations_come_from_settings() -> None:
    trusting = EvalContext(
        Settings(
            live=False, trusted_accounts=frozenset({"444455556666"}), trusted_org_ids=frozenset({"o-partners123"})
        ),
        AssumedState(),
    )
    org = {**EVERYONE, "Condition": {"StringEquals": {"aws:PrincipalOrgID": "o-partners123"}}}
    assert decide_event(update_event(policy(EC2, FOREIGN, org)), trusting).findings == []
    assert finding_of(update_event(policy(EC2, FOREIGN, org))).severity == "high"


def test_the_reason_says_whether_other_accounts_need_an_external_id() -> None:
    without = finding_of(update_event(policy(FOREIGN)))
    assert "No sts:ExternalId is required" in without.reason and "444455556666" in without.reason
    with_id = {**FOREIGN, "Condition": {"StringEquals": {"sts:ExternalId": "partner-42"}}}
    assert "requires an sts:ExternalId" in finding_of(update_event(policy(with_id))).reason
    github = finding_of(load_event("create-role-github-oidc-any-repo.json"))
    assert "ExternalId" not in github.reason  # no other AWS account is trusted: nothing to say


def test_only_the_offending_statements_would_be_removed() -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)))
    assert finding.action.startswith(
        "replace the trust policy of role app-server with the same document minus statement 1 (Vendor);"
    )
    assert finding.details["replacement"] == policy(EC2)
    everyone = finding_of(update_event(policy(EVERYONE)))
    assert "deny-all" in everyone.action
    assert [s["Effect"] for s in everyone.details["replacement"]["Statement"]] == ["Deny"]


def test_the_restore_command_puts_back_the_original_document() -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)))
    words = shlex.split(finding.undo)
    assert words[:6] == ["aws", "iam", "update-assume-role-policy", "--role-name", "app-server", "--policy-document"]
    assert json.loads(words[6]) == policy(EC2, FOREIGN)


def test_quotes_in_the_original_survive_the_restore_command() -> None:
    quoted = {**FOREIGN, "Sid": "Vendor's"}
    assert json.loads(shlex.split(finding_of(update_event(policy(quoted))).undo)[6]) == policy(quoted)


def test_the_url_encoded_copy_in_the_response_is_read_when_the_request_lacks_it() -> None:
    event = copy.deepcopy(load_event("create-role-trusting-everyone.json"))
    del event["detail"]["requestParameters"]["assumeRolePolicyDocument"]
    assert event["detail"]["responseElements"]["role"]["assumeRolePolicyDocument"].startswith("%7B")
    assert finding_of(event).severity == "critical"


def test_pretty_printed_documents_with_tabs_are_read() -> None:
    assert (
        "\t"
        in load_event("create-role-github-oidc-any-repo.json")["detail"]["requestParameters"][
            "assumeRolePolicyDocument"
        ]
    )
    assert finding_of(update_event(json.dumps(policy(EVERYONE), indent="\t"))).severity == "critical"


@pytest.mark.parametrize(
    "document, says",
    [
        ({"omitted": True, "originalSize": 12044}, "CloudTrail omitted the trust policy"),
        ('{"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Princ', "unreadable"),
        (None, "carries no trust policy"),
    ],
)
def test_an_unreadable_document_is_a_low_finding_that_changes_nothing(document: Any, says: str) -> None:
    event = update_event({})
    event["detail"]["requestParameters"]["policyDocument"] = document
    finding = finding_of(event)
    assert finding.severity == "low" and finding.action is None
    assert says in finding.reason and "could not read the trust policy of role app-server" in finding.reason


def test_an_unnamed_role_is_reported_but_nothing_can_be_changed() -> None:
    finding = finding_of(update_event(policy(EVERYONE), role=None))
    assert finding.severity == "critical" and finding.action is None
    assert "does not name the role" in finding.reason


def test_failed_call_and_mode_off_give_no_finding() -> None:
    assert decide_event(update_event(policy(EVERYONE), errorCode="AccessDenied")).skipped == "failed call"
    off = EvalContext(Settings(live=False, modes={"role_trust": Mode.OFF}), AssumedState())
    assert decide_event(update_event(policy(EVERYONE)), off).findings == []


@pytest.mark.parametrize(
    ("event_name", "params", "response", "says"),
    [
        (
            "CreateSAMLProvider",
            {"name": "ExampleCorpIdP", "sAMLMetadataDocument": "<md/>"},
            {"sAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleCorpIdP"},
            "created SAML",
        ),
        (
            "UpdateSAMLProvider",
            {
                "sAMLProviderArn": f"arn:aws:iam::{ACCOUNT}:saml-provider/ExampleCorpIdP",
                "sAMLMetadataDocument": "<md/>",
            },
            None,
            "replaced the metadata of SAML",
        ),
        (
            "CreateOpenIDConnectProvider",
            {"url": "https://token.example.org", "clientIDList": ["sts.amazonaws.com"]},
            {"openIDConnectProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.org"},
            "created OpenID",
        ),
        (
            "AddClientIDToOpenIDConnectProvider",
            {
                "clientID": "another-app",
                "openIDConnectProviderArn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/token.example.org",
            },
            None,
            "added a client id to OpenID",
        ),
    ],
)
def test_an_identity_provider_change_is_a_high_notify_only_finding(
    event_name: str, params: dict, response: Any, says: str
) -> None:
    event = copy.deepcopy(load_event("create-saml-provider.json"))
    event["detail"].update(eventName=event_name, requestParameters=params, responseElements=response)
    [finding] = decide(parse_envelope(event), DRY_RUN).findings
    assert finding.rule == "role_trust" and finding.severity == "high" and finding.action is None
    assert says in finding.reason and finding.resource.arn and finding.resource.arn in finding.reason


def test_a_provider_change_in_remediate_mode_changes_nothing() -> None:
    context = EvalContext(Settings(live=False, modes={"role_trust": Mode.REMEDIATE}), AssumedState())
    [finding] = decide(parse_envelope(load_event("create-saml-provider.json")), context).findings
    result = act(finding, aws=None)  # type: ignore[arg-type]  # nothing may be called
    assert result.outcome == Outcome.SKIPPED and "nothing changed" in result.detail


def test_a_break_glass_caller_is_exempt_and_nothing_is_planned() -> None:
    context = EvalContext(
        Settings(live=False, break_glass_arns=frozenset({f"arn:aws:iam::{ACCOUNT}:user/alice"})), AssumedState()
    )
    finding = finding_of(update_event(policy(EVERYONE)), context)
    assert finding.exempt and finding.action is None and "break-glass" in finding.reason


# ---------------------------------------------------------------- against a moto account


@pytest.fixture
def account():
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_role(RoleName="app-server", AssumeRolePolicyDocument=json.dumps(policy(EC2, FOREIGN)))
        yield iam


def live(mode: Mode = Mode.REMEDIATE, **settings: Any) -> EvalContext:
    return EvalContext(Settings(modes={"role_trust": mode}, **settings), LiveState(boto3.client("iam")))


def trust_of(iam, role: str = "app-server") -> dict[str, Any]:
    return iam.get_role(RoleName=role)["Role"]["AssumeRolePolicyDocument"]


def test_remediate_strips_the_foreign_statement_and_verifies(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED
    assert trust_of(account) == policy(EC2)
    assert compact_in(policy(EC2, FOREIGN), result.detail)  # the message keeps the original


def compact_in(document: dict[str, Any], text: str) -> bool:
    return json.dumps(document, separators=(",", ":")) in text


def test_the_restore_command_really_restores(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    act(finding, AwsClients())
    words = shlex.split(finding.undo)
    account.update_assume_role_policy(RoleName=words[4], PolicyDocument=words[6])
    assert trust_of(account) == policy(EC2, FOREIGN)


def test_notify_mode_leaves_the_trust_policy_alone(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live(Mode.NOTIFY))
    assert act(finding, AwsClients()).outcome == Outcome.NOTIFIED
    assert trust_of(account) == policy(EC2, FOREIGN)


def test_an_exempt_tag_on_the_role_leaves_it_alone_even_in_remediate_mode(account) -> None:
    account.tag_role(RoleName="app-server", Tags=[{"Key": EXEMPT_TAG, "Value": "vendor access, ticket SEC-12"}])
    assert not finding_of(update_event(policy(EC2, FOREIGN)), live()).exempt  # tags are off by default
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live(honour_exempt_tags=True))
    assert finding.exempt and "SEC-12" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.EXEMPT
    assert trust_of(account) == policy(EC2, FOREIGN)


def test_a_break_glass_role_is_left_alone(account) -> None:
    context = live(break_glass_arns=frozenset({f"arn:aws:iam::{ACCOUNT}:role/app-server"}))
    finding = finding_of(update_event(policy(EC2, FOREIGN)), context)
    assert act(finding, AwsClients()).outcome == Outcome.EXEMPT
    assert trust_of(account) == policy(EC2, FOREIGN)


def test_a_trust_policy_changed_since_the_event_is_not_overwritten(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    later = policy(EC2, {**FOREIGN, "Principal": {"AWS": "arn:aws:iam::777788889999:root"}})
    account.update_assume_role_policy(RoleName="app-server", PolicyDocument=json.dumps(later))
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.SKIPPED and "changed after this event" in result.detail
    assert trust_of(account) == later


def test_a_second_delivery_after_the_fix_verifies_without_changing_anything(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    act(finding, AwsClients())
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert trust_of(account) == policy(EC2)


def test_a_deleted_role_is_skipped(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    account.delete_role(RoleName="app-server")
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED


def test_a_denied_update_is_a_failure(account, monkeypatch) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    aws = AwsClients()

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "UpdateAssumeRolePolicy")

    monkeypatch.setattr(aws.iam, "update_assume_role_policy", denied)
    result = act(finding, aws)
    assert result.outcome == Outcome.FAILED and "AccessDenied" in result.error
    assert trust_of(account) == policy(EC2, FOREIGN)


def test_live_the_missing_document_is_read_from_the_role(account) -> None:
    event = update_event({})
    event["detail"]["requestParameters"]["policyDocument"] = {"omitted": True}
    finding = finding_of(event, live())
    assert finding.severity == "high" and finding.action
    assert finding.details["original"] == policy(EC2, FOREIGN)
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert trust_of(account) == policy(EC2)


def test_live_a_denied_read_is_a_low_finding(account, monkeypatch) -> None:
    iam = boto3.client("iam")

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetRole")

    monkeypatch.setattr(iam, "get_role", denied)
    event = update_event({})
    event["detail"]["requestParameters"]["policyDocument"] = None
    finding = finding_of(event, EvalContext(Settings(), LiveState(iam)))
    assert finding.severity == "low" and finding.action is None and "AccessDenied" in finding.reason


def test_the_url_encoded_response_document_is_what_iam_stored(account) -> None:
    """CloudTrail's URL-encoded copy decodes to the very document the role holds."""
    event = load_event("create-role-trusting-everyone.json")
    encoded = event["detail"]["responseElements"]["role"]["assumeRolePolicyDocument"]
    account.create_role(RoleName="partner-reporting", AssumeRolePolicyDocument=urllib.parse.unquote(encoded))
    finding = finding_of(event, live())
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert [s["Effect"] for s in trust_of(account, "partner-reporting")["Statement"]] == ["Deny"]


def test_an_account_id_principal_stored_by_iam_as_its_root_arn_is_the_same_document(account) -> None:
    """IAM keeps "444455556666" as "arn:aws:iam::444455556666:root"; that is not a change since the event."""
    by_id = {**FOREIGN, "Principal": {"AWS": ["444455556666"]}}
    account.update_assume_role_policy(
        RoleName="app-server",
        PolicyDocument=json.dumps(policy(EC2, {**FOREIGN, "Principal": {"AWS": ["arn:aws:iam::444455556666:root"]}})),
    )
    result = act(finding_of(update_event(policy(EC2, by_id)), live()), AwsClients())
    assert result.outcome == Outcome.VERIFIED and '"444455556666"' in result.detail
    assert trust_of(account) == policy(EC2)


# ---------------------------------------------------------------- sessions issued before the strip
LAMBDA = {"Effect": "Allow", "Principal": {"Service": ["lambda.amazonaws.com"]}, "Action": "sts:AssumeRole"}
SAME_ACCOUNT = {
    "Effect": "Allow",
    "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:role/admin"},
    "Action": "sts:AssumeRole",
}
LIFT = "aws iam delete-role-policy --role-name app-server --policy-name AWSRevokeOlderSessions"


@pytest.mark.parametrize(
    "statements, services",
    [
        ((FOREIGN,), []),  # deny-all: nothing kept
        ((SAME_ACCOUNT, FOREIGN), []),  # a kept AWS principal: its sessions can simply be re-assumed
        ((EC2, FOREIGN), ["ec2.amazonaws.com"]),  # an instance profile would lose its credentials
        ((LAMBDA, FOREIGN), ["lambda.amazonaws.com"]),
        (
            (
                {
                    "Effect": "Allow",
                    "Principal": {"Service": ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"]},
                    "Action": "sts:AssumeRole",
                },
                FOREIGN,
            ),
            ["ecs-tasks.amazonaws.com", "ec2.amazonaws.com"],
        ),
    ],
)
def test_older_sessions_are_denied_unless_a_kept_statement_trusts_a_service(statements, services) -> None:
    finding = finding_of(update_event(policy(*statements)))
    assert finding.details["kept_services"] == services
    if services:
        assert (
            f"sessions already issued are not revoked, because the kept trust of {', '.join(services)}"
            in finding.action
            and "a human decides" in finding.action
        )
        assert LIFT not in finding.undo
    else:
        assert finding.action.endswith(
            "and deny every session issued before now (inline policy AWSRevokeOlderSessions)"
        )
        assert finding.undo.endswith(f" && {LIFT}")


def test_the_revocation_policy_is_the_one_iams_console_writes() -> None:
    from datetime import UTC, datetime

    from remediator.rules.role_trust import revoke_sessions_document

    document = revoke_sessions_document(datetime(2026, 11, 29, 22, 15, 3, 456789, tzinfo=UTC))
    assert document == {
        "Version": "2012-10-17",
        "Statement": [
            {
                "Effect": "Deny",
                "Action": ["*"],
                "Resource": ["*"],
                "Condition": {"DateLessThan": {"aws:TokenIssueTime": "2026-11-29T22:15:03.456Z"}},
            }
        ],
    }


def _revocation(iam, role: str = "app-server") -> dict[str, Any] | None:
    try:
        return iam.get_role_policy(RoleName=role, PolicyName="AWSRevokeOlderSessions")["PolicyDocument"]
    except iam.exceptions.NoSuchEntityException:
        return None


def test_a_strip_with_no_service_kept_denies_older_sessions_and_says_how_to_lift_it(account) -> None:
    account.update_assume_role_policy(RoleName="app-server", PolicyDocument=json.dumps(policy(SAME_ACCOUNT, FOREIGN)))
    finding = finding_of(update_event(policy(SAME_ACCOUNT, FOREIGN)), live())
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and trust_of(account) == policy(SAME_ACCOUNT)
    [deny] = _revocation(account)["Statement"]
    assert deny["Effect"] == "Deny" and deny["Action"] == ["*"] and deny["Resource"] == ["*"]
    issued = deny["Condition"]["DateLessThan"]["aws:TokenIssueTime"]
    assert f"Sessions of role app-server issued before {issued} are denied" in result.detail
    assert f"lift it with: {LIFT}" in result.detail
    again = act(finding, AwsClients())  # a repeated delivery keeps the revocation's time
    assert again.outcome == Outcome.VERIFIED and _revocation(account)["Statement"][0]["Condition"] == deny["Condition"]


def test_a_strip_that_keeps_an_ec2_trust_leaves_sessions_alone_and_says_so(account) -> None:
    finding = finding_of(update_event(policy(EC2, FOREIGN)), live())
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED and trust_of(account) == policy(EC2)
    assert _revocation(account) is None
    assert "were NOT revoked: the kept trust of ec2.amazonaws.com would lose its own sessions too" in result.detail


def test_a_denied_revocation_is_a_failure_that_says_the_trust_was_stripped(account, monkeypatch) -> None:
    account.update_assume_role_policy(RoleName="app-server", PolicyDocument=json.dumps(policy(FOREIGN)))
    finding = finding_of(update_event(policy(FOREIGN)), live())
    aws = AwsClients()

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "PutRolePolicy")

    monkeypatch.setattr(aws.iam, "put_role_policy", denied)
    result = act(finding, aws)
    assert result.outcome == Outcome.FAILED and "AccessDenied" in result.error
    assert "now trusts only what the kept statements allow" in result.detail and "could not be revoked" in result.detail


# ---------------------------------------------------------------- a caller trusting itself

CI_USER = f"arn:aws:iam::{ACCOUNT}:user/ci/ci-deployer"
ADMIN_ACCESS = "arn:aws:iam::aws:policy/AdministratorAccess"
S3_READ = policy({"Effect": "Allow", "Action": ["s3:GetObject", "s3:ListBucket"], "Resource": "*"})


def trusting(*principals: str, sid: str = "Deploy") -> dict[str, Any]:
    return {"Sid": sid, "Effect": "Allow", "Principal": {"AWS": list(principals)}, "Action": "sts:AssumeRole"}


def self_trust_event(document: dict[str, Any], identity: dict[str, Any] | None = None) -> dict[str, Any]:
    event = copy.deepcopy(load_event("update-assume-role-policy-self-trust.json"))
    event["detail"]["requestParameters"]["policyDocument"] = json.dumps(document)
    if identity is not None:
        event["detail"]["userIdentity"] = identity
    return event


def session_of(role_arn: str, session: str = "deploy-1234", role_id: str = "AROAZ3EXAMPLEDEPLOY1") -> dict[str, Any]:
    """A CloudTrail AssumedRole identity: the session ARN names the role without its path; the issuer has it."""
    name = role_arn.rsplit("/", 1)[-1]
    return {
        "type": "AssumedRole",
        "principalId": f"{role_id}:{session}",
        "arn": f"arn:aws:sts::{ACCOUNT}:assumed-role/{name}/{session}",
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAZ3EXAMPLEDEPLOY1",
        "sessionContext": {
            "sessionIssuer": {
                "type": "Role",
                "principalId": role_id,
                "arn": role_arn,
                "accountId": ACCOUNT,
                "userName": name,
            },
            "webIdFederationData": {},
            "attributes": {"creationDate": "2026-11-25T14:02:11Z", "mfaAuthenticated": "false"},
        },
    }


def test_dry_run_a_caller_trusting_itself_is_assumed_to_gain_power_and_would_be_stripped() -> None:
    finding = finding_of(load_event("update-assume-role-policy-self-trust.json"))
    assert (finding.severity, finding.mode) == ("high", Mode.NOTIFY)
    assert "names the caller's own user ci-deployer" in finding.reason and "assumed" in finding.reason
    assert finding.details["replacement"] == policy(EC2 | {"Sid": "Ec2"})
    assert "minus statement 1 (Deploy)" in finding.action


@pytest.mark.parametrize(
    "principal",
    [
        CI_USER,
        f"arn:aws:iam::{ACCOUNT}:user/ci-deployer",  # without the path
        f"arn:aws:iam::{ACCOUNT}:user/other/path/CI-Deployer",  # another path and case: still the one user
        "AIDAZ3EXAMPLECIDEPL1",  # the unique id IAM stores
    ],
)
def test_the_caller_is_recognised_whatever_path_case_or_form_names_it(principal: str) -> None:
    document = policy(EC2, trusting(f"arn:aws:iam::{ACCOUNT}:role/build", principal))
    finding = finding_of(self_trust_event(document))
    assert "caller's own user ci-deployer" in finding.reason
    assert finding.details["replacement"] == policy(EC2)


@pytest.mark.parametrize(
    "principal",
    [
        f"arn:aws:iam::{ACCOUNT}:root",  # the account itself: ordinary own-account trust
        ACCOUNT,
        f"arn:aws:iam::{ACCOUNT}:user/ci-deployer-2",
        f"arn:aws:iam::{ACCOUNT}:role/ci-deployer",  # a role of the same name is not the user
        "AIDAZ3EXAMPLEOTHER01",
    ],
)
def test_other_own_account_principals_are_not_self_trust(principal: str) -> None:
    decision = decide_event(self_trust_event(policy(EC2, trusting(principal))))
    assert decision.findings == [] and decision.skipped is None


@pytest.mark.parametrize(
    "principal",
    [
        f"arn:aws:iam::{ACCOUNT}:role/pipelines/deployer",
        f"arn:aws:iam::{ACCOUNT}:role/DEPLOYER",
        f"arn:aws:sts::{ACCOUNT}:assumed-role/deployer/another-session",
        "AROAZ3EXAMPLEDEPLOY1",
    ],
)
def test_a_session_naming_the_role_it_was_issued_by_trusts_itself(principal: str) -> None:
    identity = session_of(f"arn:aws:iam::{ACCOUNT}:role/pipelines/deployer")
    finding = finding_of(self_trust_event(policy(EC2, trusting(principal)), identity))
    assert "caller's own role deployer" in finding.reason and finding.severity == "high"


def test_the_session_name_is_not_the_caller() -> None:
    identity = session_of(f"arn:aws:iam::{ACCOUNT}:role/deployer", session="platform-admin")
    document = policy(EC2, trusting(f"arn:aws:iam::{ACCOUNT}:role/platform-admin"))
    assert decide_event(self_trust_event(document, identity)).findings == []


def test_a_self_trusting_statement_is_stripped_alongside_a_foreign_one() -> None:
    finding = finding_of(self_trust_event(policy(EC2, FOREIGN, trusting(CI_USER))))
    assert "outsiders" in finding.reason and "caller trusts itself" in finding.reason
    assert finding.details["replacement"] == policy(EC2)


@pytest.fixture
def ci_account(monkeypatch):
    """A CI user that can read S3 and nothing more, and an administrators' role trusting EC2."""
    monkeypatch.setenv("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")  # AWS managed policies are attached by ARN
    with mock_aws():
        iam = boto3.client("iam")
        iam.create_user(UserName="ci-deployer", Path="/ci/")
        iam.put_user_policy(UserName="ci-deployer", PolicyName="artifacts", PolicyDocument=json.dumps(S3_READ))
        iam.create_role(RoleName="platform-admin", AssumeRolePolicyDocument=json.dumps(policy(EC2)))
        iam.create_role(RoleName="deployer", Path="/pipelines/", AssumeRolePolicyDocument=json.dumps(policy(EC2)))
        iam.put_role_policy(RoleName="deployer", PolicyName="artifacts", PolicyDocument=json.dumps(S3_READ))
        yield iam


def enacted_self_trust(iam, document: dict[str, Any], identity: dict[str, Any] | None = None) -> dict[str, Any]:
    """The event, after the call it records happened in the moto account."""
    iam.update_assume_role_policy(RoleName="platform-admin", PolicyDocument=json.dumps(document))
    return self_trust_event(document, identity)


def test_live_a_weak_ci_user_trusting_itself_on_an_admin_role_is_stripped_and_verified(ci_account) -> None:
    ci_account.attach_role_policy(RoleName="platform-admin", PolicyArn=ADMIN_ACCESS)
    document = policy(EC2, trusting(f"arn:aws:iam::{ACCOUNT}:user/CI-Deployer"))
    finding = finding_of(enacted_self_trust(ci_account, document), live())
    assert finding.severity == "high" and "state assumed" not in finding.reason
    assert "role platform-admin is admin-equivalent (through AWS managed policy AdministratorAccess)" in finding.reason
    assert "user ci-deployer holds neither admin-equivalent nor escalating permissions" in finding.reason
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED
    assert trust_of(ci_account, "platform-admin") == policy(EC2)


def test_live_a_session_trusting_its_own_weak_role_on_an_admin_role_is_found(ci_account) -> None:
    ci_account.attach_role_policy(RoleName="platform-admin", PolicyArn=ADMIN_ACCESS)
    identity = session_of(f"arn:aws:iam::{ACCOUNT}:role/pipelines/deployer")
    document = policy(trusting(f"arn:aws:iam::{ACCOUNT}:role/deployer"))
    finding = finding_of(enacted_self_trust(ci_account, document, identity), live())
    assert "role deployer holds neither admin-equivalent nor escalating permissions" in finding.reason
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    after = trust_of(ci_account, "platform-admin")
    assert after["Statement"][0]["Effect"] == "Deny"  # nothing was left: deny-all
    assert ci_account.get_role_policy(RoleName="platform-admin", PolicyName="AWSRevokeOlderSessions")


def test_live_a_powerless_role_trusting_the_caller_is_no_finding(ci_account) -> None:
    document = policy(EC2, trusting(CI_USER))
    decision = decide_event(enacted_self_trust(ci_account, document), live())
    assert decision.findings == [] and decision.skipped is None


def test_live_a_caller_as_powerful_as_the_role_is_no_finding(ci_account) -> None:
    ci_account.attach_role_policy(RoleName="platform-admin", PolicyArn=ADMIN_ACCESS)
    ci_account.create_group(GroupName="admins")
    ci_account.attach_group_policy(GroupName="admins", PolicyArn=ADMIN_ACCESS)
    ci_account.add_user_to_group(GroupName="admins", UserName="ci-deployer")
    assert decide_event(enacted_self_trust(ci_account, policy(trusting(CI_USER))), live()).findings == []


def test_live_an_escalating_role_is_more_power_than_a_caller_with_none(ci_account) -> None:
    passrole = policy({"Effect": "Allow", "Action": ["iam:PutRolePolicy"], "Resource": "*"})
    ci_account.put_role_policy(RoleName="platform-admin", PolicyName="ops", PolicyDocument=json.dumps(passrole))
    finding = finding_of(enacted_self_trust(ci_account, policy(trusting(CI_USER))), live())
    assert "role platform-admin opens escalation paths" in finding.reason
    ci_account.put_user_policy(UserName="ci-deployer", PolicyName="ops", PolicyDocument=json.dumps(passrole))
    assert decide_event(self_trust_event(policy(trusting(CI_USER))), live()).findings == []


def test_live_a_boundary_that_caps_the_role_is_taken_into_account(ci_account) -> None:
    ci_account.attach_role_policy(RoleName="platform-admin", PolicyArn=ADMIN_ACCESS)
    ci_account.put_role_permissions_boundary(
        RoleName="platform-admin", PermissionsBoundary="arn:aws:iam::aws:policy/ReadOnlyAccess"
    )
    assert decide_event(enacted_self_trust(ci_account, policy(trusting(CI_USER))), live()).findings == []


def test_live_the_callers_power_unreadable_is_a_low_review_finding(ci_account, monkeypatch) -> None:
    ci_account.attach_role_policy(RoleName="platform-admin", PolicyArn=ADMIN_ACCESS)
    event = enacted_self_trust(ci_account, policy(trusting(CI_USER)))
    iam = boto3.client("iam")

    def denied(**_: Any) -> None:
        raise ClientError({"Error": {"Code": "AccessDenied", "Message": "no"}}, "GetUser")

    monkeypatch.setattr(iam, "get_user", denied)
    finding = finding_of(event, EvalContext(Settings(modes={"role_trust": Mode.REMEDIATE}), LiveState(iam)))
    assert finding.severity == "low" and finding.action is None
    assert "what user ci-deployer holds could not be read" in finding.reason and "AccessDenied" in finding.reason
    assert act(finding, AwsClients()).outcome != Outcome.VERIFIED
    assert trust_of(ci_account, "platform-admin") == policy(trusting(CI_USER))
