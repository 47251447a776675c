"""other_credentials: each kind of credential decided in dry run, and each remediation on moto or, where moto
has no such API (service-specific credentials, Roles Anywhere), on botocore's Stubber."""

from __future__ import annotations

import copy
from datetime import UTC, datetime
from typing import Any

import boto3
import pytest
from botocore.stub import Stubber
from moto import mock_aws

from remediator.aws import AwsClients
from remediator.config import EXEMPT_TAG, Settings
from remediator.engine import act, decide
from remediator.events import parse_envelope
from remediator.findings import Finding, Mode, Outcome
from remediator.rules.base import EvalContext
from remediator.rules.other_credentials import REVOKE_POLICY
from remediator.state import AssumedState, LiveState
from remediator_dev.credential_enactors import self_signed_certificate
from tests.conftest import load_event

DRY_RUN = EvalContext(Settings(live=False), AssumedState())
ACCOUNT = "123456789012"


def decide_event(name: str, context: EvalContext = DRY_RUN, **changes: Any):
    event = copy.deepcopy(load_event(name))
    event["detail"].update(changes)
    return decide(parse_envelope(event), context, rule_ids=("other_credentials",))


def finding_of(name: str, context: EvalContext = DRY_RUN, **changes: Any) -> Finding:
    [finding] = decide_event(name, context, **changes).findings
    return finding


@pytest.mark.parametrize(
    "event, severity",
    [
        ("upload-ssh-public-key-for-another-user.json", "high"),
        ("reactivate-ssh-public-key.json", "high"),
        ("create-own-service-specific-credential.json", "medium"),
        ("upload-signing-certificate-by-a-role.json", "high"),
        ("get-federation-token.json", "high"),
        ("create-roles-anywhere-trust-anchor.json", "high"),
        ("create-roles-anywhere-profile.json", "high"),
    ],
)
def test_every_new_credential_is_a_finding_with_its_severity(event: str, severity: str) -> None:
    finding = finding_of(event)
    assert (finding.rule, finding.severity, finding.mode) == ("other_credentials", severity, Mode.NOTIFY)
    assert finding.action and not finding.exempt


def test_what_remediate_would_do_names_the_credential_and_its_user() -> None:
    assert finding_of("upload-ssh-public-key-for-another-user.json").action == (
        "set SSH public key APKAZ3EXAMPLEBOBSSH1 of user bob Inactive"
    )
    assert finding_of("create-roles-anywhere-trust-anchor.json").action == (
        "disable Roles Anywhere trust anchor contractor-ca in eu-west-1"
    )
    federation = finding_of("get-federation-token.json")
    assert f"put inline policy {REVOKE_POLICY} on user deploy-bot" in federation.action
    assert "other temporary sessions" in federation.action  # the consequence is said before it happens


def test_a_user_name_that_differs_only_in_case_is_still_their_own_credential() -> None:
    params = {"userName": "ALICE", "serviceName": "codecommit.amazonaws.com"}
    assert finding_of("create-own-service-specific-credential.json", requestParameters=params).severity == "medium"


def test_a_role_acting_on_a_user_of_the_same_name_is_someone_else() -> None:
    identity = load_event("upload-signing-certificate-by-a-role.json")["detail"]["userIdentity"]
    params = {"userName": "ci-deployer", "certificateBody": "..."}
    finding = finding_of("upload-signing-certificate-by-a-role.json", requestParameters=params, userIdentity=identity)
    assert finding.severity == "high"


@pytest.mark.parametrize(
    "event_name", ["UpdateSSHPublicKey", "UpdateSigningCertificate", "UpdateServiceSpecificCredential"]
)
def test_setting_a_credential_inactive_is_not_a_finding_but_active_is(event_name: str) -> None:
    ids = {
        "sSHPublicKeyId": "APKAZ3EXAMPLECAROL01",
        "certificateId": "Z3EXAMPLEDAVECERT0000000000000001",
        "serviceSpecificCredentialId": "ACCAZ3EXAMPLEALICE01",
    }
    params = {"userName": "carol", **ids}
    inactive = decide_event(
        "reactivate-ssh-public-key.json", eventName=event_name, requestParameters={**params, "status": "Inactive"}
    )
    assert inactive.findings == [] and inactive.skipped is None
    active = finding_of(
        "reactivate-ssh-public-key.json", eventName=event_name, requestParameters={**params, "status": "Active"}
    )
    assert active.action and "re-activated" in active.reason


def test_roots_own_signing_certificate_is_critical_and_left_to_root() -> None:
    root = {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
    finding = finding_of(
        "upload-signing-certificate-by-a-role.json", userIdentity=root, requestParameters={"certificateBody": "..."}
    )
    assert finding.severity == "critical" and finding.action is None and "only root" in finding.reason


def test_a_federation_token_of_root_cannot_be_revoked_by_a_policy() -> None:
    root = {"type": "Root", "arn": f"arn:aws:iam::{ACCOUNT}:root", "accountId": ACCOUNT}
    finding = finding_of("get-federation-token.json", userIdentity=root)
    assert finding.severity == "high" and finding.action is None and "root" in finding.reason


def test_an_event_that_does_not_name_the_credential_is_reported_with_nothing_to_change() -> None:
    finding = finding_of("upload-ssh-public-key-for-another-user.json", responseElements=None)
    assert finding.action is None and "does not name" in finding.reason


def test_a_trust_anchor_created_disabled_is_still_a_finding_and_enabling_one_is_too() -> None:
    event = copy.deepcopy(load_event("create-roles-anywhere-trust-anchor.json"))["detail"]
    event["requestParameters"]["enabled"] = False
    assert finding_of("create-roles-anywhere-trust-anchor.json", requestParameters=event["requestParameters"]).action
    enabled = finding_of(
        "create-roles-anywhere-trust-anchor.json",
        eventName="EnableTrustAnchor",
        requestParameters={"trustAnchorId": "4d07f6a0-1c50-44d3-951b-b68b783daa0a"},
        responseElements=None,
    )
    assert enabled.action and "enabled" in enabled.reason


def test_a_break_glass_caller_is_reported_exempt_and_nothing_is_planned() -> None:
    settings = Settings(live=False, break_glass_arns=frozenset({f"arn:aws:iam::{ACCOUNT}:user/alice"}))
    finding = finding_of("upload-ssh-public-key-for-another-user.json", EvalContext(settings, AssumedState()))
    assert finding.exempt and finding.action is None and "break-glass" in finding.reason


def test_a_failed_call_is_no_finding() -> None:
    assert decide_event("get-federation-token.json", errorCode="AccessDenied").skipped == "failed call"


# ---------------------------------------------------------------- remediation on moto


@pytest.fixture
def iam():
    with mock_aws():
        client = boto3.client("iam")
        for user in ("alice", "bob", "carol", "dave", "deploy-bot"):
            client.create_user(UserName=user)
        yield client


def live(**overrides: Any) -> EvalContext:
    settings = Settings(modes={"other_credentials": Mode.REMEDIATE}, **overrides)
    return EvalContext(settings, LiveState(boto3.client("iam")))


def test_an_ssh_key_uploaded_for_another_user_goes_inactive_and_the_undo_restores_it(iam) -> None:
    key = iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]["SSHPublicKeyId"]
    event = copy.deepcopy(load_event("upload-ssh-public-key-for-another-user.json"))
    event["detail"]["responseElements"]["sSHPublicKey"]["sSHPublicKeyId"] = key
    [finding] = decide(parse_envelope(event), live(), ("other_credentials",)).findings
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED, result
    assert iam.list_ssh_public_keys(UserName="bob")["SSHPublicKeys"][0]["Status"] == "Inactive"
    assert finding.undo == f"aws iam update-ssh-public-key --ssh-public-key-id {key} --user-name bob --status Active"


def test_a_signing_certificate_goes_inactive(iam) -> None:
    body = self_signed_certificate("dave")
    certificate = iam.upload_signing_certificate(UserName="dave", CertificateBody=body)["Certificate"]
    event = copy.deepcopy(load_event("upload-signing-certificate-by-a-role.json"))
    event["detail"]["responseElements"]["certificate"]["certificateId"] = certificate["CertificateId"]
    [finding] = decide(parse_envelope(event), live(), ("other_credentials",)).findings
    assert act(finding, AwsClients()).outcome == Outcome.VERIFIED
    assert iam.list_signing_certificates(UserName="dave")["Certificates"][0]["Status"] == "Inactive"


def test_the_exemption_tag_on_the_user_leaves_the_key_active(iam) -> None:
    key = iam.upload_ssh_public_key(UserName="bob", SSHPublicKeyBody=SSH_KEY)["SSHPublicKey"]["SSHPublicKeyId"]
    iam.tag_user(UserName="bob", Tags=[{"Key": EXEMPT_TAG, "Value": "git mirror"}])
    event = copy.deepcopy(load_event("upload-ssh-public-key-for-another-user.json"))
    event["detail"]["responseElements"]["sSHPublicKey"]["sSHPublicKeyId"] = key
    # the operator turned tag exemptions on, and the tag did not come with this event
    [finding] = decide(parse_envelope(event), live(honour_exempt_tags=True), ("other_credentials",)).findings
    assert finding.exempt and act(finding, AwsClients()).outcome == Outcome.EXEMPT
    assert iam.list_ssh_public_keys(UserName="bob")["SSHPublicKeys"][0]["Status"] == "Active"


def test_a_federation_token_denies_the_users_older_sessions_and_the_undo_lifts_it(iam) -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    finding = finding_of("get-federation-token.json", live())
    result = act(finding, AwsClients())
    assert result.outcome == Outcome.VERIFIED, result
    document = iam.get_user_policy(UserName="deploy-bot", PolicyName=REVOKE_POLICY)["PolicyDocument"]
    [statement] = document["Statement"]
    assert (statement["Effect"], statement["Action"], statement["Resource"]) == ("Deny", "*", "*")
    cutoff = datetime.fromisoformat(statement["Condition"]["DateLessThan"]["aws:TokenIssueTime"])
    assert cutoff >= before  # the token, issued before we acted, falls under the deny
    assert "other temporary sessions" in result.detail
    assert finding.undo == f"aws iam delete-user-policy --user-name deploy-bot --policy-name {REVOKE_POLICY}"


def test_a_credential_deleted_before_we_act_is_skipped(iam) -> None:
    finding = finding_of("upload-ssh-public-key-for-another-user.json", live())
    assert act(finding, AwsClients()).outcome == Outcome.SKIPPED


# ---------------------------------------------------------------- Stubber: APIs moto does not have


class StubbedClients(AwsClients):
    """AwsClients whose IAM and regional clients answer from botocore Stubbers."""

    def __init__(self) -> None:
        super().__init__(region="us-east-1")
        self.iam_client = boto3.client("iam", region_name="us-east-1")
        self.iam_stub = Stubber(self.iam_client)
        self.anywhere = boto3.client("rolesanywhere", region_name="eu-west-1")
        self.anywhere_stub = Stubber(self.anywhere)

    @property  # type: ignore[override]
    def iam(self) -> Any:
        return self.iam_client

    def regional(self, service: str, region: str | None) -> Any:
        assert (service, region) == ("rolesanywhere", "eu-west-1")  # the anchor's own region
        return self.anywhere


def test_a_service_specific_credential_is_set_inactive_and_re_read() -> None:
    finding = finding_of("create-own-service-specific-credential.json")
    aws = StubbedClients()
    key = {"UserName": "alice", "ServiceSpecificCredentialId": "ACCAZ3EXAMPLEALICE01"}
    aws.iam_stub.add_response("update_service_specific_credential", {}, {**key, "Status": "Inactive"})
    aws.iam_stub.add_response(
        "list_service_specific_credentials",
        {
            "ServiceSpecificCredentials": [
                {
                    **key,
                    "Status": "Inactive",
                    "ServiceUserName": "alice-at-123456789012",
                    "CreateDate": datetime.now(UTC),
                    "ServiceName": "codecommit.amazonaws.com",
                }
            ]
        },
        {"UserName": "alice"},
    )
    finding.mode = Mode.REMEDIATE
    with aws.iam_stub:
        result = act(finding, aws)
    assert result.outcome == Outcome.VERIFIED, result
    aws.iam_stub.assert_no_pending_responses()


@pytest.mark.parametrize(
    "event, disable, get, key",
    [
        ("create-roles-anywhere-trust-anchor.json", "disable_trust_anchor", "get_trust_anchor", "trustAnchor"),
        ("create-roles-anywhere-profile.json", "disable_profile", "get_profile", "profile"),
    ],
)
def test_a_roles_anywhere_anchor_or_profile_is_disabled_in_its_region(event, disable, get, key) -> None:
    finding = finding_of(event)
    finding.mode = Mode.REMEDIATE
    ident = finding.details["id"]
    params = {f"{key}Id": ident}
    for enabled, outcome in ((False, Outcome.VERIFIED), (True, Outcome.FAILED)):
        aws = StubbedClients()
        aws.anywhere_stub.add_response(disable, {key: {f"{key}Id": ident, "enabled": False}}, params)
        aws.anywhere_stub.add_response(get, {key: {f"{key}Id": ident, "enabled": enabled}}, params)
        with aws.anywhere_stub:
            assert act(finding, aws).outcome == outcome
    assert finding.undo and finding.undo.endswith(f"{ident} --region eu-west-1")


SSH_KEY = (
    "ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQDlZ1wr2dbvKvu4JKqBXq6WApz3Pe1OjUm1LbhXvoiqdeWZhqu4g27WcvDSp7Y7J9LJ"
    "xIBkVjfXGk3e2wQ+2GjfVRyR2YsUtGJvJGdEwVNyo5fSLtCmXc4GyK3PNQRlJ1zSL/QR5ZzpEB5uu9VQ+wxMkxmJYfCl3FNnO5zR5ZQj4"
    "y0A2XZL0u4ZSJt0kIg7I8xfQ8jdTc76Rf4QRgGk2zD3H3Bt9wAw1lU6z3jUDP5yT4Ar6QjI0GtTvq3Ao1i4Lq7Q4u4o4I1D3u1lWg5Z8"
    "rO2Nh7mhtlT0hNQ/O0dR1xzhZ7ZOQD7kB3F0bqzM9sk7u8L3OPjZCPD8Qbc5 test@example"
)
