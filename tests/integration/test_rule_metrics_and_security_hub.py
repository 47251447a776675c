"""A handler on moto: per-rule metrics carry the rule dimension the dashboard draws, and with
ENABLE_SECURITY_HUB the finding reaches Security Hub (resolved once the fix is verified)."""

from __future__ import annotations

import copy
import json

import boto3
import pytest
from moto import mock_aws

from remediator_dev.demo import LocalLambdaContext
from tests.conftest import load_event, load_function
from tests.integration.conftest import Inbox

pytestmark = pytest.mark.integration


def _emf(output: str) -> list[tuple[str, dict, float]]:
    """(metric name, dimensions, value) of every EMF document on stdout."""
    found = []
    for line in output.splitlines():
        if line.startswith("{") and '"_aws"' in line:
            document = json.loads(line)
            for directive in document["_aws"]["CloudWatchMetrics"]:
                dimensions = {name: document[name] for names in directive["Dimensions"] for name in names}
                for metric in directive["Metrics"]:
                    value = document[metric["Name"]]
                    found.append((metric["Name"], dimensions, sum(value) if isinstance(value, list) else value))
    return found


@pytest.mark.parametrize("security_hub", ["true", "false"])
def test_a_remediated_key_is_counted_per_rule_and_resolved_in_security_hub(monkeypatch, capsys, security_hub):
    with mock_aws():
        iam = boto3.client("iam")
        Inbox(monkeypatch)
        iam.create_user(UserName="bob")
        key_id = iam.create_access_key(UserName="bob")["AccessKey"]["AccessKeyId"]
        monkeypatch.setenv("MODE_ACCESS_KEYS", "remediate")
        monkeypatch.setenv("ENABLE_SECURITY_HUB", security_hub)
        event = copy.deepcopy(load_event("create-access-key-for-another-user.json"))
        event["detail"]["responseElements"]["accessKey"]["accessKeyId"] = key_id
        capsys.readouterr()
        result = load_function("access_keys").lambda_handler(event, LocalLambdaContext(function_name="access-keys"))
        findings = boto3.client("securityhub").get_findings()["Findings"]
    assert result["findings"][0]["outcome"] == "verified"
    metrics = _emf(capsys.readouterr().out)
    per_rule = {"service": "access_keys", "rule": "access_keys"}
    assert ("Findings", per_rule, 1.0) in metrics and ("RemediationVerified", per_rule, 1.0) in metrics
    if security_hub == "true":
        [finding] = findings
        assert finding["GeneratorId"] == "compliance-remediator/access_keys"
        assert finding["Workflow"]["Status"] == "RESOLVED"
        assert finding["ProductFields"]["remediator/outcome"] == "verified"
    else:
        assert findings == []
