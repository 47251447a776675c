"""Security Hub: findings as ASFF, valid for BatchImportFindings, imported on moto, resolved when fixed."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.session import get_session
from botocore.validate import ParamValidator
from moto import mock_aws

from remediator.asff import CONTROLS, finding_id, import_finding, resolve_findings, to_asff
from remediator.aws import AwsClients
from remediator.cli import main
from remediator.events import parse_envelope
from remediator.findings import ActionResult, Outcome
from remediator.rules import RULE_IDS
from tests.conftest import EVENTS

ACCOUNT = "123456789012"
FINDINGS_SHAPE = get_session().get_service_model("securityhub").operation_model("BatchImportFindings").input_shape


def _valid(findings: list[dict]) -> None:
    report = ParamValidator().validate({"Findings": findings}, FINDINGS_SHAPE)
    assert not report.has_errors(), report.generate_report()


def _asff_lines(capsys, *names: str) -> list[dict]:
    assert main(["evaluate", "--format", "asff", *(str(EVENTS / name) for name in names)]) == 0
    return [json.loads(line) for line in capsys.readouterr().out.splitlines()]


def test_every_demo_event_gives_findings_security_hub_accepts(capsys) -> None:
    findings = _asff_lines(capsys, *sorted(path.name for path in EVENTS.glob("*.json")))
    assert {f["GeneratorId"].rsplit("/", 1)[-1] for f in findings} == set(RULE_IDS)
    _valid(findings)
    for finding in findings:
        region = finding["Region"]  # the CLI imports where the event happened; Lambda where it runs
        assert finding["ProductArn"] == f"arn:aws:securityhub:{region}:{ACCOUNT}:product/{ACCOUNT}/default"
        assert finding["Resources"][0]["Type"] in {
            "AwsIamUser",
            "AwsIamRole",
            "AwsIamPolicy",
            "AwsIamGroup",
            "AwsIamAccessKey",
            "AwsEc2Instance",
            "AwsS3Bucket",
            "AwsEc2SecurityGroup",
            "Other",
        }
        assert finding["Workflow"]["Status"] in {"NEW", "SUPPRESSED"}
        assert finding["Remediation"]["Recommendation"]["Text"]


def test_ids_are_stable_per_event_and_rule_and_controls_apply(capsys) -> None:
    first = _asff_lines(capsys, "create-root-access-key.json")
    again = _asff_lines(capsys, "create-root-access-key.json")
    assert [f["Id"] for f in first] == [f["Id"] for f in again]
    assert len({f["Id"] for f in first}) == 2  # access_keys and root_activity: one finding each
    key = next(f for f in first if f["GeneratorId"].endswith("/access_keys"))
    assert key["Severity"]["Label"] == "CRITICAL" and key["Compliance"]["SecurityControlId"] == "IAM.4"
    user = _asff_lines(capsys, "attach-administrator-access-to-user.json")[0]
    assert user["Resources"][0] == {
        "Type": "AwsIamUser",
        "Id": f"arn:aws:iam::{ACCOUNT}:user/bob",
        "Partition": "aws",
        "Region": "us-east-1",
    }
    assert "CIS AWS Foundations Benchmark v1.4.0/1.16" in user["Compliance"]["RelatedRequirements"]
    assert "aws iam attach-user-policy" in user["ProductFields"]["remediator/undo"]
    assert set(CONTROLS) == set(RULE_IDS)


def test_import_on_moto_and_a_verified_fix_is_resolved() -> None:
    record = parse_envelope(json.loads((EVENTS / "create-access-key-for-another-user.json").read_text()))
    from remediator.config import Settings
    from remediator.engine import decide
    from remediator.rules.base import EvalContext
    from remediator.state import AssumedState

    [finding] = decide(record, EvalContext(Settings(live=False), AssumedState())).findings
    with mock_aws():
        aws = AwsClients(region="us-east-1")
        assert import_finding(aws, finding, record, ActionResult(Outcome.NOTIFIED, "nothing changed")) is None
        hub = boto3.client("securityhub", region_name="us-east-1")
        [stored] = hub.get_findings()["Findings"]
        assert stored["Id"] == finding_id(finding, record) and stored["Workflow"]["Status"] == "NEW"
        assert import_finding(aws, finding, record, ActionResult(Outcome.VERIFIED, "key Inactive")) is None
        [stored] = hub.get_findings()["Findings"]  # same Id: updated, not duplicated
        assert stored["Workflow"]["Status"] == "RESOLVED" and stored["Compliance"]["Status"] == "PASSED"


def test_a_resolving_event_resolves_the_open_findings_of_that_user() -> None:
    record = parse_envelope(json.loads((EVENTS / "console-login-without-mfa.json").read_text()))
    from remediator.config import Settings
    from remediator.engine import decide
    from remediator.rules.base import EvalContext
    from remediator.state import AssumedState

    [finding] = decide(record, EvalContext(Settings(live=False), AssumedState())).findings
    with mock_aws():
        aws = AwsClients(region="us-east-1")
        import_finding(aws, finding, record, ActionResult(Outcome.NOTIFIED, "nothing changed"))
        assert resolve_findings(aws, "console_mfa", finding.resource.arn, "EnableMFADevice") == 1
        [stored] = boto3.client("securityhub", region_name="us-east-1").get_findings()["Findings"]
        assert stored["Workflow"]["Status"] == "RESOLVED"
        assert resolve_findings(aws, "console_mfa", finding.resource.arn, "EnableMFADevice") == 0


@pytest.mark.parametrize("outcome", list(Outcome))
def test_every_outcome_is_a_valid_import(outcome: Outcome) -> None:
    record = parse_envelope(json.loads((EVENTS / "create-role-trusting-everyone.json").read_text()))
    from remediator.config import Settings
    from remediator.engine import decide
    from remediator.rules.base import EvalContext
    from remediator.state import AssumedState

    [finding] = decide(record, EvalContext(Settings(live=False), AssumedState())).findings
    _valid([to_asff(finding, record, ActionResult(outcome, "detail " * 300))])


def test_the_runtime_imports_security_hub_only_when_enabled(monkeypatch) -> None:
    import subprocess
    import sys

    code = (
        "import os, sys; os.environ.pop('ENABLE_SECURITY_HUB', None); import remediator.runtime; "
        "print('remediator.asff' in sys.modules)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "False"
