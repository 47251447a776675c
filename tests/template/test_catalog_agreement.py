"""The template agrees with the rule catalog: one function per FUNCTIONS entry, its EventBridge
patterns equal to its rules' Trigger.event_pattern(), and a mode parameter per rule."""

from __future__ import annotations

import json
from typing import Any

from remediator.config import mode_variable
from remediator.findings import Mode
from remediator.rules import FUNCTIONS, RULES
from remediator.rules.base import API_CALL
from tests.template.conftest import ROOT, Resolver, resources_of_type, rules_targeting


def _canonical(pattern: dict[str, Any]) -> str:
    return json.dumps(pattern, sort_keys=True)


def test_every_function_of_the_catalog_is_in_the_template_and_nothing_else(cfn_template, functions):
    template_functions = {logical for logical, _ in resources_of_type(cfn_template, "AWS::Lambda::Function")}
    assert template_functions == {f.logical_id for f in functions.values()}
    for name, function in functions.items():
        props = cfn_template["Resources"][function.logical_id]["Properties"]
        assert props["Handler"] == "app.lambda_handler"
        assert "lambda_handler" in (ROOT / "functions" / name / "app.py").read_text()
        assert props["Environment"]["Variables"]["POWERTOOLS_SERVICE_NAME"] == name
    assert {rule for ids in FUNCTIONS.values() for rule in ids} == set(RULES), "every rule runs in some function"


def test_each_function_pattern_equals_its_rules_triggers(cfn_template, functions):
    for function in functions.values():
        expected = sorted({_canonical(trigger.event_pattern())
                           for rule_id in function.rule_ids for trigger in RULES[rule_id].META.triggers})
        rules = rules_targeting(cfn_template, function.logical_id)
        actual = sorted(_canonical(rule["Properties"]["EventPattern"]) for rule in rules.values())
        assert actual == expected, f"{function.logical_id}: template patterns differ from the rules' triggers"
        for rule in rules.values():
            assert rule["Properties"].get("EventBusName", "default") == "default"


def test_rules_for_any_call_also_see_read_only_calls(cfn_template, functions):
    """SPEC §3: root_activity counts read-only calls too; EventBridge delivers Get*/List*/Describe* only
    to rules in state ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS. Rules naming eventNames stay ENABLED."""
    for function in functions.values():
        for logical, rule in rules_targeting(cfn_template, function.logical_id).items():
            pattern = rule["Properties"]["EventPattern"]
            any_call = "eventName" not in pattern["detail"] and pattern["detail-type"] == [API_CALL]
            expected = "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS" if any_call else "ENABLED"
            assert rule["Properties"].get("State", "ENABLED") == expected, logical


def test_template_patterns_are_exact_copies_not_just_equivalent(cfn_template, functions):
    """Key order and list order too: a reader can diff template.yaml against event_pattern() output."""
    for function in functions.values():
        triggers = [t.event_pattern() for rule_id in function.rule_ids for t in RULES[rule_id].META.triggers]
        for rule in rules_targeting(cfn_template, function.logical_id).values():
            pattern = rule["Properties"]["EventPattern"]
            assert any(pattern == trigger for trigger in triggers)


def test_every_rule_has_a_mode_parameter_in_every_function(cfn_template, functions):
    parameters = cfn_template["Parameters"]
    for function in functions.values():
        variables = cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
        for rule_id, rule in RULES.items():
            value = variables.get(mode_variable(rule_id))
            assert isinstance(value, dict) and "Ref" in value, f"{function.logical_id}: {mode_variable(rule_id)}"
            parameter = parameters[value["Ref"]]
            assert set(parameter["AllowedValues"]) == {str(mode) for mode in Mode}
            assert parameter["Default"] == str(rule.META.default_mode)
            assert parameter.get("Description")


def test_functions_know_every_stack_role_as_their_own(cfn_template, functions):
    """OWN_ROLE_ARNS lists every function's role, so no function acts on another's remediation."""
    resolve = Resolver(cfn_template)
    all_roles = {f"getatt:{f.role_id}.Arn" for f in functions.values()}
    explicit_roles = {f"getatt:{logical}.Arn" for logical, _ in resources_of_type(cfn_template, "AWS::IAM::Role")}
    assert all_roles == explicit_roles, "every role of the stack belongs to a function"
    for function in functions.values():
        variables = resolve(cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"])
        assert set(variables["OWN_ROLE_ARNS"].split(",")) == all_roles


def test_settings_variables_come_from_parameters(cfn_template, functions):
    expected = {
        "BREAK_GLASS_ARNS": "BreakGlassArns", "TRUSTED_ACCOUNT_IDS": "TrustedAccountIds",
        "TRUSTED_ORG_IDS": "TrustedOrgIds", "TRUSTED_OIDC_SUBJECTS": "TrustedOidcSubjects", "LOG_LEVEL": "LogLevel",
        "MFA_GRACE_PERIOD_HOURS": "MfaGracePeriodHours", "CONSOLE_MFA_REMEDIATION": "ConsoleMfaRemediation",
        "ROLES_ONLY_ACCOUNT": "RolesOnlyAccount", "DENY_WITHOUT_MFA_POLICY_ARN": "DenyWithoutMfaPolicy",
        "IDEMPOTENCY_TABLE": "IdempotencyTable", "FINDINGS_TABLE": "FindingsTable",
    }
    for function in functions.values():
        variables = cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
        for variable, parameter in expected.items():
            assert variables[variable] == {"Ref": parameter}
        assert variables["TOPIC_ARN"] == {"Ref": "FindingsTopic"}
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ComplianceRemediator"


def test_tracing_is_off_unless_the_parameter_turns_it_on(cfn_template, functions):
    assert cfn_template["Parameters"]["EnableTracing"]["Default"] == "false"
    for tracing, mode, disabled in (("false", "PassThrough", "true"), ("true", "Active", "false")):
        resolve = Resolver(cfn_template, {"EnableTracing": tracing})
        for function in functions.values():
            props = resolve(cfn_template["Resources"][function.logical_id]["Properties"])
            assert props["TracingConfig"]["Mode"] == mode
            assert props["Environment"]["Variables"]["POWERTOOLS_TRACE_DISABLED"] == disabled


def test_runtime_and_architecture_match_the_layer(sam_template, cfn_template, functions):
    layer = sam_template["Resources"]["RemediatorLayer"]
    assert layer["Metadata"] == {"BuildMethod": "python3.13", "BuildArchitecture": "x86_64"}
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/remediator"
    (layer_id, _), = resources_of_type(cfn_template, "AWS::Lambda::LayerVersion")
    for function in functions.values():
        props = cfn_template["Resources"][function.logical_id]["Properties"]
        assert props["Runtime"] == "python3.13"
        assert props["Architectures"] == layer["Properties"]["CompatibleArchitectures"] == ["x86_64"]
        assert props["Layers"] == [{"Ref": layer_id}]


def test_every_parameter_is_a_sensible_guided_question(sam_template):
    """`sam deploy --guided` asks each parameter: each has a description and a safe default."""
    for name, parameter in sam_template["Parameters"].items():
        assert parameter.get("Description"), name
        assert "Default" in parameter, f"{name}: --guided would demand a value"
        if "AllowedValues" in parameter:
            assert str(parameter["Default"]) in {str(v) for v in parameter["AllowedValues"]}, name
        elif parameter["Type"] == "String":
            assert parameter.get("AllowedPattern"), f"{name}: free text without a pattern"
    grouped = {p for group in sam_template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
               for p in group["Parameters"]}
    assert grouped == set(sam_template["Parameters"])
