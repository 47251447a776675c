"""Operations: the dashboard draws the metrics the functions emit, the saved queries read every function's
logs, the Slack channel and Security Hub are opt-in, and the stack can be published to the Serverless
Application Repository."""

from __future__ import annotations

import json
import re
from pathlib import Path

from remediator.rules import FUNCTIONS
from tests.template.conftest import ROOT, SCHEDULED, Resolver, resources_of_type


def _dashboard(cfn_template) -> dict:
    body = Resolver(cfn_template)(cfn_template["Resources"]["OperationsDashboard"]["Properties"]["DashboardBody"])
    return json.loads(body)


def test_the_dashboard_draws_what_the_runtime_emits_per_rule(cfn_template) -> None:
    from remediator import runtime

    widgets = _dashboard(cfn_template)["widgets"]
    searches = [m[0]["expression"] for w in widgets if w["type"] == "metric" for m in w["properties"]["metrics"]]
    text = "\n".join(searches)
    per_rule = [s for s in searches if "rule,service}" in s]
    assert per_rule and all(s.startswith(f"SEARCH('{{{runtime.NAMESPACE},rule,service}}") for s in per_rule)
    emitted = Path(runtime.__file__).read_text()
    assert 'f"Remediation{result.outcome.title()}"' in emitted
    for metric in ("RemediationVerified", "RemediationFailed", "RemediationSkipped"):
        assert f'"{metric}"' in text, metric
    for metric in (
        "Findings",
        "FindingsExempt",
        "SkippedNoRule",
        "SkippedFailedCall",
        "SkippedFailedSignIn",
        "SkippedOwnAction",
        "SkippedMalformed",
        "DuplicateDeliveries",
        "SecurityHubImportErrors",
    ):
        assert f'"{metric}"' in text and f'"{metric}"' in emitted, metric
    for metric in ("Errors", "Duration", "ApproximateNumberOfMessagesVisible"):
        assert f'MetricName="{metric}" "remediator"' in text  # this stack's functions and queues (test stack name)


def test_saved_queries_read_every_functions_log_group(cfn_template) -> None:
    resolve = Resolver(cfn_template)
    groups = {
        resolve(group["Properties"]["LogGroupName"])
        for _, group in resources_of_type(cfn_template, "AWS::Logs::LogGroup")
    }
    assert len(groups) == len(FUNCTIONS) + len(SCHEDULED)
    queries = dict(resources_of_type(cfn_template, "AWS::Logs::QueryDefinition"))
    assert "WhatWeChangedQuery" in queries
    for logical, query in queries.items():
        assert set(resolve(query["Properties"]["LogGroupNames"])) == groups, logical
    changed = queries["WhatWeChangedQuery"]["Properties"]["QueryString"]
    assert 'message = "finding"' in changed and 'outcome = "verified"' in changed
    log_widget = next(w for w in _dashboard(cfn_template)["widgets"] if w["type"] == "log")
    assert all(f"SOURCE '{group}'" in log_widget["properties"]["query"] for group in groups)


def test_slack_channel_only_with_both_ids_and_it_can_do_nothing(cfn_template) -> None:
    channel = cfn_template["Resources"]["SlackChannel"]
    assert channel["Condition"] == "HasSlackChannel"
    assert Resolver(cfn_template).condition("HasSlackChannel") is False
    assert Resolver(cfn_template, {"SlackWorkspaceId": "T0123456789"}).condition("HasSlackChannel") is False
    both = Resolver(cfn_template, {"SlackWorkspaceId": "T0123456789", "SlackChannelId": "C0123456789"})
    assert both.condition("HasSlackChannel")
    properties = both(channel["Properties"])
    assert properties["SnsTopicArns"] == ["ref:FindingsTopic"]
    assert properties["GuardrailPolicies"] == ["arn:aws:iam::aws:policy/AWSDenyAll"]


def test_security_hub_is_off_by_default_and_reaches_every_function(cfn_template) -> None:
    parameter = cfn_template["Parameters"]["EnableSecurityHub"]
    assert parameter["Default"] == "false" and set(parameter["AllowedValues"]) == {"true", "false"}
    from remediator.asff import ENABLE_VARIABLE

    for _, function in resources_of_type(cfn_template, "AWS::Lambda::Function"):
        variables = function["Properties"]["Environment"]["Variables"]
        assert variables[ENABLE_VARIABLE] == {"Ref": "EnableSecurityHub"}


def test_serverless_application_repository_metadata(sam_template) -> None:
    import tomllib

    app = sam_template["Metadata"]["AWS::ServerlessRepo::Application"]
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    assert app["SemanticVersion"] == version
    assert app["SpdxLicenseId"] == "Apache-2.0"
    for field in ("LicenseUrl", "ReadmeUrl"):
        assert (ROOT / app[field]).is_file(), field
    assert "Apache License" in (ROOT / app["LicenseUrl"]).read_text()[:200]
    for field in ("HomePageUrl", "SourceCodeUrl"):
        assert re.fullmatch(r"https://\S+", app[field]), field
    assert app["Name"] and app["Description"] and app["Author"] and app["Labels"]
