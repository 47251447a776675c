"""Each function's role, read from the offline-translated template: exactly the IAM actions its rules
declare (RuleMeta.iam_actions) or, for the scheduled sweep, its package declares (remediator/sweep/
permissions.py), each on the narrowest resource, the plumbing actions on the stack's own resources only,
and no way to modify the stack's own roles. The schedule's role can only start the sweep."""

from __future__ import annotations

import re
from fnmatch import fnmatchcase
from pathlib import Path
from typing import Any

import pytest

from remediator.permissions import (
    ACTION_RESOURCE,
    RESOURCE_ARNS,
    RULE_ACTION_RESOURCE,
    STACK_POLICY_ONLY,
    resource_arns,
    rule_resource_kind,
)
from remediator.rules import RULES
from remediator.sweep.permissions import REPORT_ACTIONS
from tests.template.conftest import (
    ACCOUNT,
    REGION,
    STACK,
    FunctionUnderTest,
    Resolver,
    resources_of_type,
    schedule_roles,
    schedules_targeting,
)

# The narrowest resource each IAM action a rule may declare can be granted on: the package's table.
IAM_ACTION_RESOURCE = {
    action: resource_arns(action, partition="aws", region=REGION, account=ACCOUNT, stack=STACK)
    for action in ACTION_RESOURCE
}


def _narrowest(function: FunctionUnderTest, action: str) -> list[str]:
    """Where `action` belongs in `function`'s role: the table's kind, or the wider one a rule of it declares."""
    kind = rule_resource_kind(action, function.rule_ids)
    if kind == ACTION_RESOURCE[action]:
        return IAM_ACTION_RESOURCE[action]
    values = {"Partition": "aws", "Region": REGION, "AccountId": ACCOUNT, "StackName": STACK}
    arns = []
    for pattern in RESOURCE_ARNS[kind]:
        for name, value in values.items():
            pattern = pattern.replace("${AWS::" + name + "}", value)
        arns.append(pattern)
    return arns


# Attaching is conditioned to the one policy a rule may attach (the deny-unless-MFA policy): a role that could
# attach any policy could grant anyone admin. Detaching any policy is how admin_grants reverts a grant.
ATTACH_CONDITIONED = STACK_POLICY_ONLY

# Actions AWS only grants on "*" (no resource-level permissions): X-Ray when tracing is on, and the actions the
# package's table scopes to the account; each only for a function whose rules (or sweep) declare it.
TRACING_ON_STAR = {"xray:PutTraceSegments", "xray:PutTelemetryRecords"}
ACCOUNT_LEVEL = {action for action, kind in ACTION_RESOURCE.items() if kind == "account"}
ALLOWED_ON_STAR = TRACING_ON_STAR | ACCOUNT_LEVEL

OUR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/SomeFunctionRole-ABC"
MUTATING_ON_OUR_ROLES = (
    "iam:PutRolePolicy",
    "iam:AttachRolePolicy",
    "iam:UpdateAssumeRolePolicy",
    "iam:DeleteRolePolicy",
    "iam:DetachRolePolicy",
    "iam:UpdateRole",
    "iam:TagRole",
)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _statements(cfn: dict[str, Any], role_id: str, tracing: str, security_hub: str = "false") -> list[dict[str, Any]]:
    resolve = Resolver(cfn, {"EnableTracing": tracing, "EnableSecurityHub": security_hub})
    role = resolve(cfn["Resources"][role_id]["Properties"])
    assert not role.get("ManagedPolicyArns"), f"{role_id}: managed policies hide what the role can do"
    statements = [s for policy in role.get("Policies", []) for s in policy["PolicyDocument"]["Statement"]]
    for statement in statements:
        statement["Action"] = _list(statement.get("Action", []))
        statement["Resource"] = _list(statement.get("Resource", []))
    return statements


def _expected_plumbing(cfn: dict[str, Any], function: FunctionUnderTest) -> dict[str, set[str]]:
    """Every non-IAM action a function needs, and the only resources it may have them on."""
    function_id = function.logical_id
    props = cfn["Resources"][function_id]["Properties"]
    log_group = props["LoggingConfig"]["LogGroup"]["Ref"]
    (invoke_config,) = (
        r["Properties"]
        for _, r in resources_of_type(cfn, "AWS::Lambda::EventInvokeConfig")
        if r["Properties"]["FunctionName"] == {"Ref": function_id}
    )
    dlq = invoke_config["DestinationConfig"]["OnFailure"]["Destination"]["Fn::GetAtt"][0]
    log_arn = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:ref:{log_group}:*"
    key = "getatt:RemediatorKey.Arn"
    tables = {"getatt:IdempotencyTable.Arn", "getatt:FindingsTable.Arn", "getatt:FindingsTable.Arn/index/*"}
    common = {
        "sns:Publish": {"ref:FindingsTopic"},
        "sqs:SendMessage": {f"getatt:{dlq}.Arn"},
        "kms:GenerateDataKey": {key},
        "kms:Decrypt": {key},
        "logs:CreateLogStream": {log_arn},
        "logs:PutLogEvents": {log_arn},
    }
    if function.scheduled:  # no idempotency table: a schedule invocation is no CloudTrail event to de-duplicate
        findings = {"getatt:FindingsTable.Arn", "getatt:FindingsTable.Arn/index/*"}
        return {**common, **dict.fromkeys(function.store_actions, findings)}
    return {
        **common,
        "dynamodb:GetItem": tables - {"getatt:IdempotencyTable.Arn"},
        "dynamodb:PutItem": tables - {"getatt:IdempotencyTable.Arn"},
        "dynamodb:UpdateItem": tables,  # the event ledger: its one write per finding is all it needs
        "dynamodb:Query": {"getatt:FindingsTable.Arn", "getatt:FindingsTable.Arn/index/*"},
        "dynamodb:Scan": {"getatt:ExemptionsTable.Arn"},  # the exemption list: read only
    }


def _granted(statements: list[dict[str, Any]]) -> dict[str, set[str]]:
    granted: dict[str, set[str]] = {}
    for statement in statements:
        if statement["Effect"] == "Allow":
            for action in statement["Action"]:
                granted.setdefault(action, set()).update(statement["Resource"])
    return granted


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_iam_actions_are_exactly_the_rules_actions(cfn_template, functions, tracing):
    for function in functions.values():
        granted = _granted(_statements(cfn_template, function.role_id, tracing))
        declared = set(function.iam_actions)
        # Every IAM action, and any other service's action a rule declares, is the rule's; the rest is plumbing.
        iam_granted = {action for action in granted if action.lower().startswith("iam:") or action in declared}
        if not function.scheduled:
            assert declared == {a for rule_id in function.rule_ids for a in RULES[rule_id].META.iam_actions}
        assert iam_granted == declared, f"{function.role_id}: IAM actions differ from the declared iam_actions"


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_no_wildcards_in_allows(cfn_template, functions, tracing):
    for function in functions.values():
        for statement in _statements(cfn_template, function.role_id, tracing):
            if statement["Effect"] != "Allow":
                continue
            assert "NotAction" not in statement and "NotResource" not in statement, statement
            for action in statement["Action"]:
                assert "*" not in action and "?" not in action, f"{function.role_id}: wildcard action {action}"
            if "*" in statement["Resource"]:
                unexplained = [a for a in statement["Action"] if a not in ALLOWED_ON_STAR]
                assert not unexplained, f"{function.role_id}: {unexplained} on Resource '*'"
                for action in set(statement["Action"]) & ACCOUNT_LEVEL:
                    assert action in function.iam_actions, (function.role_id, action)


def test_only_declared_account_level_actions_and_tracing_are_on_star(cfn_template, functions):
    """An action on "*" is one AWS grants on no narrower resource, declared by the function's own rules (or
    sweep), alone with its kind in an unconditioned statement; the credential report is the sweep's only."""
    assert set(REPORT_ACTIONS) <= ACCOUNT_LEVEL
    for function in functions.values():
        on_star = {
            a
            for s in _statements(cfn_template, function.role_id, "false")
            if s["Effect"] == "Allow" and "*" in s["Resource"]
            for a in s["Action"]
        }
        assert on_star == ACCOUNT_LEVEL & set(function.iam_actions), function.role_id
        assert bool(on_star & set(REPORT_ACTIONS)) == (function.name == "sweep"), function.role_id
        for statement in _statements(cfn_template, function.role_id, "false"):
            if ACCOUNT_LEVEL & set(statement["Action"]):
                assert statement["Resource"] == ["*"] and set(statement["Action"]) <= ACCOUNT_LEVEL
                assert "Condition" not in statement


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_each_iam_action_is_on_its_narrowest_resource(cfn_template, functions, tracing):
    for function in functions.values():
        for statement in _statements(cfn_template, function.role_id, tracing):
            iam = [a for a in statement["Action"] if a.startswith("iam:") or a in function.iam_actions]
            if statement["Effect"] != "Allow" or not iam:
                continue
            for action in iam:
                assert action in IAM_ACTION_RESOURCE, f"add {action}'s narrowest resource to remediator/permissions.py"
                assert statement["Resource"] == _narrowest(function, action), (function.role_id, action)
            if ATTACH_CONDITIONED & set(iam):
                assert set(iam) <= ATTACH_CONDITIONED | {"iam:DetachUserPolicy"}, "attach: own conditioned statement"
                assert statement.get("Condition") == {"ArnEquals": {"iam:PolicyARN": "ref:DenyWithoutMfaPolicy"}}


@pytest.mark.parametrize("tracing", ["false", "true"])
def test_plumbing_actions_only_on_the_stacks_own_resources(cfn_template, functions, tracing):
    for function in functions.values():
        statements = _statements(cfn_template, function.role_id, tracing)
        granted = _granted(statements)
        expected = _expected_plumbing(cfn_template, function)
        if tracing == "true":
            expected |= {action: {"*"} for action in TRACING_ON_STAR}
        plumbing = {
            action: resources
            for action, resources in granted.items()
            if not action.startswith("iam:") and action not in function.iam_actions
        }
        assert plumbing.keys() == expected.keys(), f"{function.role_id}: unexpected or missing actions"
        for action, resources in plumbing.items():
            assert resources <= expected[action], f"{function.role_id}: {action} on {resources - expected[action]}"
        # The stack's own key, used through SNS, SQS and DynamoDB (a rule's own kms: actions are checked above).
        kms = [
            s for s in statements if any(a.startswith("kms:") and a not in function.iam_actions for a in s["Action"])
        ]
        assert all(
            set(s["Condition"]["StringEquals"]["kms:ViaService"])
            == {f"{service}.{REGION}.amazonaws.com" for service in ("sns", "sqs", "dynamodb")}
            for s in kms
        )


def test_sns_publish_only_on_the_findings_topic(cfn_template, functions):
    for function in functions.values():
        granted = _granted(_statements(cfn_template, function.role_id, "true"))
        assert granted["sns:Publish"] == {"ref:FindingsTopic"}


def _denied(statements: list[dict[str, Any]], action: str, resource: str) -> bool:
    return any(
        s["Effect"] == "Deny"
        and "Condition" not in s
        and (
            any(fnmatchcase(action, pattern) for pattern in s["Action"])
            or ("NotAction" in s and not any(fnmatchcase(action, pattern) for pattern in _list(s["NotAction"])))
        )
        and any(fnmatchcase(resource, pattern) for pattern in s["Resource"])
        for s in statements
    )


def _role_arn(cfn_template, logical: str) -> str:
    name = cfn_template["Resources"][logical]["Properties"]["RoleName"]["Fn::Sub"].replace("${AWS::StackName}", STACK)
    return f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/{name}"


def test_no_role_can_modify_the_stacks_own_roles(cfn_template, functions):
    """Every role lives under /compliance-remediator/, and each function role denies itself iam:* on every role and
    policy of the stack, named exactly: a role someone else creates under that path stays fixable."""
    roles = dict(resources_of_type(cfn_template, "AWS::IAM::Role"))
    for logical, role in roles.items():
        assert role["Properties"]["Path"] == "/compliance-remediator/", logical
    for policy_id, policy in resources_of_type(cfn_template, "AWS::IAM::ManagedPolicy"):
        assert policy["Properties"]["Path"] == "/compliance-remediator/", policy_id
    ours = [_role_arn(cfn_template, logical) for logical in roles]
    for function in functions.values():
        statements = _statements(cfn_template, function.role_id, "true")
        for action in MUTATING_ON_OUR_ROLES:
            for role in ours:
                assert _denied(statements, action, role), f"{function.role_id} could {action} {role}"
            assert not _denied(statements, action, OUR_ROLE), f"{function.role_id}: an outsider's role stays fixable"
        assert _denied(statements, "iam:CreatePolicyVersion", "ref:DenyWithoutMfaPolicy")
        assert not _denied(statements, "iam:UpdateAccessKey", f"arn:aws:iam::{ACCOUNT}:user/alice")


def test_roles_trust_only_lambda_of_this_account(cfn_template, functions):
    for function in functions.values():
        trust = cfn_template["Resources"][function.role_id]["Properties"]["AssumeRolePolicyDocument"]
        assert trust["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "lambda.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": {"Ref": "AWS::AccountId"}}},
            }
        ]


def test_only_the_functions_own_code_may_use_its_role(cfn_template, functions):
    """Our role passed to someone else's function is denied everything: the function ARN the Deny names is the
    one function that runs with the role (its explicit name), and calls carrying no source function (Lambda's own
    on-failure delivery) are left to the Allows."""
    for function in functions.values():
        statements = _statements(cfn_template, function.role_id, "false")
        [deny] = [s for s in statements if s.get("Sid") == "OnlyOurOwnFunction"]
        name = cfn_template["Resources"][function.logical_id]["Properties"]["FunctionName"]["Fn::Sub"]
        own = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:" + name.replace("${AWS::StackName}", STACK)
        assert deny["Effect"] == "Deny" and deny["Action"] == ["*"] and deny["Resource"] == ["*"]
        assert deny["Condition"] == {
            "ArnNotEquals": {"lambda:SourceFunctionArn": own},
            "Null": {"lambda:SourceFunctionArn": "false"},
        }
        role = cfn_template["Resources"][function.role_id]["Properties"]
        assert name == role["RoleName"]["Fn::Sub"], "a function and its role share the stack-prefixed name"


def test_generated_permissions_let_only_our_rules_invoke(cfn_template, functions):
    for function in functions.values():
        permissions = [
            r["Properties"]
            for _, r in resources_of_type(cfn_template, "AWS::Lambda::Permission")
            if r["Properties"]["FunctionName"] == {"Ref": function.logical_id}
        ]
        if function.scheduled:  # the schedule invokes it with its own role: no resource policy at all
            assert not permissions, f"{function.logical_id}: nothing but its schedule's role may invoke it"
            continue
        assert permissions
        for permission in permissions:
            assert permission["Principal"] == "events.amazonaws.com"
            assert permission["Action"] == "lambda:InvokeFunction"
            assert "Fn::GetAtt" in permission["SourceArn"]


def test_schedule_roles_can_only_start_their_function_and_dead_letter(cfn_template, functions):
    """EventBridge Scheduler's role: trusted by the scheduler of this account only; invoke the one function,
    send to the schedule's own DLQ (through the stack's key, via SQS only), nothing of IAM."""
    resolve = Resolver(cfn_template)
    scheduled = [f for f in functions.values() if f.scheduled]
    assert len(scheduled) == len(schedule_roles(cfn_template))
    for function in scheduled:
        (schedule,) = (s["Properties"] for s in schedules_targeting(cfn_template, function.logical_id).values())
        role_id = schedule["Target"]["RoleArn"]["Fn::GetAtt"][0]
        assert role_id != function.role_id
        role = resolve(cfn_template["Resources"][role_id]["Properties"])
        assert role["Path"] == "/compliance-remediator/" and not role.get("ManagedPolicyArns")
        assert role["AssumeRolePolicyDocument"]["Statement"] == [
            {
                "Effect": "Allow",
                "Principal": {"Service": "scheduler.amazonaws.com"},
                "Action": "sts:AssumeRole",
                "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}},
            }
        ]
        statements = _statements(cfn_template, role_id, "true")
        assert all(s["Effect"] == "Allow" for s in statements)
        dlq = schedule["Target"]["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
        key = "getatt:RemediatorKey.Arn"
        assert _granted(statements) == {
            "lambda:InvokeFunction": {f"getatt:{function.logical_id}.Arn"},
            "sqs:SendMessage": {f"getatt:{dlq}.Arn"},
            "kms:GenerateDataKey": {key},
            "kms:Decrypt": {key},
        }
        for statement in statements:
            if any(a.startswith("kms:") for a in statement["Action"]):
                assert statement["Condition"] == {"StringEquals": {"kms:ViaService": f"sqs.{REGION}.amazonaws.com"}}
            else:
                assert "Condition" not in statement


def test_stack_policy_only_actions_carry_the_policy_condition(cfn_template, functions):
    """A rule's stack_policy_only actions are granted only for the deny-unless-MFA policy, and attaching always is."""
    condition = {"ArnEquals": {"iam:PolicyARN": "ref:DenyWithoutMfaPolicy"}}
    for function in functions.values():
        if function.scheduled:
            continue
        metas = [RULES[rule_id].META for rule_id in function.rule_ids]
        for meta in metas:
            assert set(ATTACH_CONDITIONED) & set(meta.iam_actions) <= set(meta.stack_policy_only), meta.id
            assert set(meta.stack_policy_only) <= set(meta.iam_actions), meta.id
        free = {a for meta in metas for a in meta.iam_actions if a not in meta.stack_policy_only}
        expected = {a for meta in metas for a in meta.stack_policy_only} - free
        statements = _statements(cfn_template, function.role_id, "false")
        conditioned = {
            a for s in statements if s["Effect"] == "Allow" and s.get("Condition") == condition for a in s["Action"]
        }
        assert conditioned == expected, function.role_id


SECURITY_HUB_PRODUCT = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:product/{ACCOUNT}/default"
SECURITY_HUB_HUB = f"arn:aws:securityhub:{REGION}:{ACCOUNT}:hub/default"
ASFF_SOURCE = Path(__file__).parents[2] / "layers/remediator/remediator/asff.py"


def _security_hub_calls() -> set[str]:
    """The Security Hub API calls the package makes, as IAM actions (BatchImportFindings, ...)."""
    calls = set(re.findall(r"\.securityhub\.([a-z_]+)\(", ASFF_SOURCE.read_text()))
    return {"securityhub:" + "".join(word.title() for word in call.split("_")) for call in calls}


@pytest.mark.parametrize("security_hub", ["false", "true"])
def test_security_hub_actions_exactly_when_it_is_enabled(cfn_template, functions, security_hub):
    """Off: no securityhub action at all. On: importing under the account's own default product, and reading
    findings back from the hub only where an event resolves one of the function's rules; nothing else changes."""
    seen: set[str] = set()
    for function in functions.values():
        statements = _statements(cfn_template, function.role_id, "false", security_hub)
        granted = _granted(statements)
        hub = {action: resources for action, resources in granted.items() if action.startswith("securityhub:")}
        expected: dict[str, set[str]] = {}
        if security_hub == "true" and not function.scheduled:  # the sweep imports nothing
            expected["securityhub:BatchImportFindings"] = {SECURITY_HUB_PRODUCT}
            if any(RULES[rule_id].META.resolved_by for rule_id in function.rule_ids):
                expected["securityhub:GetFindings"] = {SECURITY_HUB_HUB}
        assert hub == expected, function.role_id
        for statement in statements:
            if any(action.startswith("securityhub:") for action in statement["Action"]):
                assert len(statement["Action"]) == 1 and "Condition" not in statement, statement
        off = _granted(_statements(cfn_template, function.role_id, "false"))
        assert {a: r for a, r in granted.items() if a not in hub} == off, function.role_id
        seen |= hub.keys()
    if security_hub == "true":
        assert seen == _security_hub_calls()  # every call the package makes is granted, and no other


def test_pass_role_is_only_the_baseline_instance_role_and_only_to_ec2(cfn_template, functions):
    """ec2_without_role attaches the stack's baseline instance profile: its role may pass that one role, to EC2
    only; no other role may pass any."""
    baseline = f"arn:aws:iam::{ACCOUNT}:role/compliance-remediator/{STACK}-ec2-baseline"
    for function in functions.values():
        passing = [s for s in _statements(cfn_template, function.role_id, "false") if "iam:PassRole" in s["Action"]]
        passing = [s for s in passing if s["Effect"] == "Allow"]
        if "iam:PassRole" not in function.iam_actions:
            assert not passing, function.role_id
            continue
        [statement] = passing
        assert statement["Action"] == ["iam:PassRole"] and statement["Resource"] == [baseline]
        assert statement["Condition"] == {"StringEquals": {"iam:PassedToService": "ec2.amazonaws.com"}}


def test_a_rule_widens_an_action_only_in_its_own_functions_role(cfn_template, functions) -> None:
    """external_access reads the policy of any queue of the account; the sweep still reads only the stack's own."""
    assert RULE_ACTION_RESOURCE["external_access"]["sqs:GetQueueAttributes"] == "account_queue"
    for function in functions.values():
        granted = _granted(_statements(cfn_template, function.role_id, "false")).get("sqs:GetQueueAttributes")
        if "external_access" in function.rule_ids:
            assert granted == {f"arn:aws:sqs:*:{ACCOUNT}:*"}, function.role_id
        elif granted is not None:
            assert granted == {f"arn:aws:sqs:{REGION}:{ACCOUNT}:{STACK}-*"}, function.role_id
    assert any(f.name == "sweep" and "sqs:GetQueueAttributes" in f.iam_actions for f in functions.values())
