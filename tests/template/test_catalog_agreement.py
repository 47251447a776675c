"""The template agrees with the rule catalog: one function per FUNCTIONS entry, its EventBridge
patterns equal to its rules' Trigger.event_pattern(), and a mode parameter per rule; one function per
SCHEDULED entry (the sweep), run by its EventBridge Scheduler schedule and by nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from remediator.config import Settings, mode_variable
from remediator.findings import Mode
from remediator.rules import FUNCTIONS, RULES
from remediator.rules.base import API_CALL
from tests.template.conftest import (
    ACCOUNT,
    ROOT,
    SCHEDULED,
    STACK,
    Resolver,
    resources_of_type,
    rules_targeting,
    schedule_roles,
    schedules_targeting,
)


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


def test_each_function_runs_on_its_rules_or_on_its_schedule_never_both(cfn_template, functions):
    assert {f.name for f in functions.values() if f.scheduled} == set(SCHEDULED)
    for function in functions.values():
        rules = rules_targeting(cfn_template, function.logical_id)
        schedules = schedules_targeting(cfn_template, function.logical_id)
        if function.scheduled:
            assert not rules, f"{function.logical_id}: a scheduled function has no EventBridge rule"
            assert len(schedules) == 1, f"{function.logical_id}: one schedule runs it"
        else:
            assert rules and not schedules, f"{function.logical_id}: an event function runs on its rules only"
    targets = [s["Properties"]["Target"]["Arn"] for _, s in resources_of_type(cfn_template, "AWS::Scheduler::Schedule")]
    assert len(targets) == len(SCHEDULED), "every schedule runs a SCHEDULED function"


def test_the_sweep_schedule_runs_at_the_rate_parameter(cfn_template, functions):
    """Issue 6: EventBridge Scheduler, the rate a parameter, daily by default."""
    sweep = functions["sweep"]
    (schedule,) = (s["Properties"] for s in schedules_targeting(cfn_template, sweep.logical_id).values())
    assert schedule["ScheduleExpression"] == {"Ref": "SweepRate"}
    assert cfn_template["Parameters"]["SweepRate"]["Default"] == "rate(1 day)"
    assert schedule["FlexibleTimeWindow"] == {"Mode": "OFF"}
    assert schedule.get("State", "ENABLED") == "ENABLED"
    assert "Name" not in schedule, "a fixed name collides when two stacks share an account and region"
    assert "Input" not in schedule["Target"], "the handler reads nothing from the event"
    assert schedule["Target"]["RoleArn"]["Fn::GetAtt"][0] in schedule_roles(cfn_template)
    props = cfn_template["Resources"][sweep.logical_id]["Properties"]
    assert props["Timeout"] == 900, "the sweep stops acting 20 s before its deadline: give it Lambda's maximum"
    assert props["MemorySize"] >= 512


@pytest.mark.parametrize(
    "expression, valid",
    [
        ("rate(1 day)", True),
        ("rate(3 days)", True),
        ("rate(1 hour)", True),
        ("rate(12 hours)", True),
        ("rate(84 hours)", True),
        ("cron(0 3 * * ? *)", True),
        ("rate(5 minutes)", False),
        ("rate(1 days)", False),
        ("rate(2 day)", False),
        ("rate(0 days)", False),
        ("at(2030-01-01T00:00:00)", False),
        ("", False),
        # SweepNotRunAlarm looks back two intervals, and CloudWatch at most 7 days
        ("rate(4 days)", False),
        ("rate(7 days)", False),
        ("rate(85 hours)", False),
    ],
)
def test_sweep_rate_accepts_scheduler_rates_and_cron_only(sam_template, expression, valid):
    pattern = sam_template["Parameters"]["SweepRate"]["AllowedPattern"]
    assert bool(re.fullmatch(pattern, expression)) is valid, expression


def test_each_function_pattern_equals_its_rules_triggers(cfn_template, functions):
    for function in functions.values():
        expected = sorted(
            {
                _canonical(trigger.event_pattern())
                for rule_id in function.rule_ids
                for trigger in RULES[rule_id].META.triggers
            }
        )
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
    """Every function knows every function's role (OWN_ROLE_PREFIX + its name), so no function acts on another's
    remediation. The only other roles are the ones EventBridge Scheduler assumes, which can call no IAM action
    (test_iam_least_privilege)."""
    resolve = Resolver(cfn_template)
    all_roles = {f"getatt:{f.role_id}.Arn" for f in functions.values()}
    explicit_roles = {
        f"getatt:{logical}.Arn"
        for logical, _ in resources_of_type(cfn_template, "AWS::IAM::Role")
        if logical not in schedule_roles(cfn_template) | {"SlackChannelRole", "Ec2BaselineRole"}
    }
    assert all_roles == explicit_roles, "every role of the stack belongs to a function, runs a schedule or is Chatbot's"
    # The one role for instances (ec2_without_role attaches it): EC2 may assume it, and it may only use Systems Manager.
    baseline = cfn_template["Resources"]["Ec2BaselineRole"]["Properties"]
    [trust] = baseline["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "ec2.amazonaws.com"} and trust["Action"] == "sts:AssumeRole"
    assert not baseline.get("Policies")
    assert [resolve(arn) for arn in baseline["ManagedPolicyArns"]] == [
        "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore"
    ]
    chatbot = cfn_template["Resources"]["SlackChannelRole"]
    actions = {
        action
        for policy in chatbot["Properties"]["Policies"]
        for statement in policy["PolicyDocument"]["Statement"]
        for action in statement["Action"]
    }
    assert chatbot["Condition"] == "HasSlackChannel" and all(a.startswith("cloudwatch:") for a in actions)
    assert len(schedule_roles(cfn_template)) == len(SCHEDULED)
    for function in functions.values():
        variables = resolve(cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"])
        prefix = variables["OWN_ROLE_PREFIX"]
        assert prefix == f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/"
        role_names = {
            resolve(cfn_template["Resources"][f.role_id]["Properties"]["RoleName"]) for f in functions.values()
        }
        assert set(variables["OWN_FUNCTION_NAMES"].split(",")) == role_names


def test_settings_variables_come_from_parameters(cfn_template, functions):
    expected = {
        "BREAK_GLASS_ARNS": "BreakGlassArns",
        "TRUSTED_ACCOUNT_IDS": "TrustedAccountIds",
        "TRUSTED_ORG_IDS": "TrustedOrgIds",
        "TRUSTED_OIDC_SUBJECTS": "TrustedOidcSubjects",
        "LOG_LEVEL": "LogLevel",
        "MFA_GRACE_PERIOD_HOURS": "MfaGracePeriodHours",
        "CONSOLE_MFA_REMEDIATION": "ConsoleMfaRemediation",
        "ROLES_ONLY_ACCOUNT": "RolesOnlyAccount",
        "DENY_WITHOUT_MFA_POLICY_ARN": "DenyWithoutMfaPolicy",
        "IDEMPOTENCY_TABLE": "IdempotencyTable",
        "FINDINGS_TABLE": "FindingsTable",
    }
    for function in functions.values():
        variables = cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
        for variable, parameter in expected.items():
            assert variables[variable] == {"Ref": parameter}
        assert variables["TOPIC_ARN"] == {"Ref": "FindingsTopic"}
        assert variables["POWERTOOLS_METRICS_NAMESPACE"] == "ComplianceRemediator"


def test_sweep_settings_come_from_parameters_with_the_settings_defaults(cfn_template, functions):
    """The variables Settings.from_env reads for the sweep, each from its parameter, defaults agreeing."""
    expected = {
        "MODE_SWEEP": ("SweepMode", "sweep_mode"),
        "KEY_MAX_AGE_DAYS": ("KeyMaxAgeDays", "key_max_age_days"),
        "KEY_WARNING_DAYS": ("KeyWarningDays", "key_warning_days"),
        "UNUSED_CREDENTIAL_DAYS": ("UnusedCredentialDays", "unused_credential_days"),
    }
    variables = cfn_template["Resources"][functions["sweep"].logical_id]["Properties"]["Environment"]["Variables"]
    defaults = Settings()
    for variable, (parameter, field) in expected.items():
        assert variables[variable] == {"Ref": parameter}, variable
        assert str(cfn_template["Parameters"][parameter]["Default"]) == str(getattr(defaults, field)), parameter
        parsed = Settings.from_env({variable: str(cfn_template["Parameters"][parameter]["Default"])})
        assert getattr(parsed, field) == getattr(defaults, field), variable
    assert set(cfn_template["Parameters"]["SweepMode"]["AllowedValues"]) == {str(mode) for mode in Mode}
    for function in functions.values():
        if not function.scheduled:
            env = cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"]
            assert not set(expected) & set(env), f"{function.logical_id}: sweep settings belong to the sweep"


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
    assert layer["Metadata"] == {"BuildMethod": "makefile", "BuildArchitecture": "x86_64"}
    build = (ROOT / "layers" / "remediator" / "Makefile").read_text()  # wheels for Lambda's platform, and bytecode
    assert "build-RemediatorLayer:" in build
    assert "--platform manylinux2014_x86_64" in build and "--python-version 3.13" in build
    assert "compileall" in build
    assert layer["Properties"]["CompatibleRuntimes"] == ["python3.13"]
    assert layer["Properties"]["ContentUri"].rstrip("/") == "layers/remediator"
    ((layer_id, _),) = resources_of_type(cfn_template, "AWS::Lambda::LayerVersion")
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
    grouped = {
        p
        for group in sam_template["Metadata"]["AWS::CloudFormation::Interface"]["ParameterGroups"]
        for p in group["Parameters"]
    }
    assert grouped == set(sam_template["Parameters"])


def test_every_function_knows_its_stacks_functions_by_name(cfn_template, functions):
    """OWN_FUNCTION_NAMES names every function as the template names it, and each function's role has the same name:
    a session of our role is our function's only when it is named after that function."""
    resolve = Resolver(cfn_template)
    names = {
        resolve(f_props["FunctionName"])
        for f_props in (cfn_template["Resources"][f.logical_id]["Properties"] for f in functions.values())
    }
    for function in functions.values():
        props = cfn_template["Resources"][function.logical_id]["Properties"]
        assert resolve(props["FunctionName"]) == resolve(
            cfn_template["Resources"][function.role_id]["Properties"]["RoleName"]
        )
        variables = resolve(props["Environment"]["Variables"])
        assert set(variables["OWN_FUNCTION_NAMES"].split(",")) == names


# Lambda rejects a function whose environment variables (names and values) exceed 4 KB in all.
ENVIRONMENT_LIMIT = 4096
LONGEST_STACK_NAME = 40  # README: keep the stack name to 40 characters or fewer


def _worst_case_length(value: str) -> int:
    """The length a resolved variable can reach in a real deployment: the longest stack name we document, and
    the longest name or ARN AWS may give each resource we only know by reference."""
    import re

    value = value.replace(STACK, "s" * LONGEST_STACK_NAME)
    value = re.sub(r"getatt:[A-Za-z0-9]+\.QueueName", "q" * 80, value)
    return len(re.sub(r"(getatt|ref):[A-Za-z0-9.]+", "a" * 140, value))


def test_environment_stays_under_lambdas_limit(cfn_template, functions):
    resolve = Resolver(cfn_template, {"DeployerArns": "arn:aws:iam::123456789012:role/platform-deployer," * 2})
    for function in functions.values():
        variables = resolve(cfn_template["Resources"][function.logical_id]["Properties"]["Environment"]["Variables"])
        size = sum(len(name) + _worst_case_length(str(value)) for name, value in variables.items())
        assert size < ENVIRONMENT_LIMIT, f"{function.name}: {size} bytes of environment"
