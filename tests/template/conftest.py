"""Shared fixtures: template.yaml as written, its offline CloudFormation translation, and the
function <-> rule catalog mapping the tests compare against.

Every Lambda function of the template is either an entry of FUNCTIONS (remediator/rules/__init__.py: rules
triggered by EventBridge patterns, its role = the rules' iam_actions) or an entry of SCHEDULED below (run by
an EventBridge Scheduler schedule, its role = the IAM actions its package declares)."""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
ACCOUNT = "123456789012"
REGION = "us-east-1"
STACK = "remediator"
NO_VALUE = object()

os.environ.setdefault("AWS_DEFAULT_REGION", REGION)
os.environ.setdefault("SAM_CLI_TELEMETRY", "0")


def _load_translate_module() -> Any:
    spec = importlib.util.spec_from_file_location("translate_template", ROOT / "scripts" / "translate_template.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("translate_template", module)
    spec.loader.exec_module(module)
    return module


translate_template = _load_translate_module()


@pytest.fixture(scope="session")
def sam_template() -> dict[str, Any]:
    return translate_template.load_sam(TEMPLATE)


@pytest.fixture(scope="session")
def cfn_template() -> dict[str, Any]:
    return translate_template.translate(TEMPLATE)


class Resolver:
    """Evaluates the intrinsics our template uses, with symbolic values for what only a deploy knows.

    `Ref` to a resource gives "ref:<LogicalId>", `GetAtt` gives "getatt:<LogicalId>.<Attribute>";
    parameters take their defaults unless overridden; pseudo parameters take fixed test values.
    """

    def __init__(self, template: dict[str, Any], parameters: dict[str, str] | None = None) -> None:
        self.template = template
        self.values = {name: str(p.get("Default", "")) for name, p in template.get("Parameters", {}).items()}
        self.values.update(parameters or {})
        self.values.update(
            {
                "AWS::Partition": "aws",
                "AWS::AccountId": ACCOUNT,
                "AWS::Region": REGION,
                "AWS::StackName": STACK,
                "AWS::URLSuffix": "amazonaws.com",
                "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT}:stack/{STACK}/0a1b2c3d",
            }
        )

    def condition(self, name: str) -> bool:
        return bool(self(self.template["Conditions"][name]))

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.values:
            return self.values[name]
        assert name in self.template["Resources"], f"Ref to unknown {name}"
        return f"ref:{name}"

    def sub(self, text: str, variables: dict[str, Any]) -> str:
        import re

        def one(match: re.Match[str]) -> str:
            name = match.group(1)
            if name in variables:
                return str(self(variables[name]))
            if "." in name and not name.startswith("AWS::"):
                return f"getatt:{name}"
            return str(self.ref(name))

        return re.sub(r"\$\{([^}!]+)\}", one, text)

    def __call__(self, value: Any) -> Any:
        if isinstance(value, list):
            return [item for item in (self(v) for v in value) if item is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            ((key, arg),) = value.items()
            if key == "Ref":
                return self.ref(arg)
            if key == "Fn::GetAtt":
                logical, attribute = arg if isinstance(arg, list) else arg.split(".", 1)
                return f"getatt:{logical}.{attribute}"
            if key == "Fn::Sub":
                text, variables = (arg, {}) if isinstance(arg, str) else arg
                return self.sub(text, variables)
            if key == "Fn::Split":
                return str(self(arg[1])).split(arg[0])
            if key == "Fn::Join":
                return arg[0].join(str(item) for item in self(arg[1]))
            if key == "Fn::Split":
                return str(self(arg[1])).split(arg[0])
            if key == "Fn::Select":
                return self(arg[1])[int(self(arg[0]))]
            if key == "Fn::If":
                return self(arg[1] if self.condition(arg[0]) else arg[2])
            if key == "Fn::Equals":
                return self(arg[0]) == self(arg[1])
            if key == "Fn::Not":
                return not self(arg[0])
            if key == "Fn::And":
                return all(self(item) for item in arg)
            if key == "Fn::Or":
                return any(self(item) for item in arg)
            if key == "Condition":
                return self.condition(arg)
        return {k: r for k, r in ((k, self(v)) for k, v in value.items()) if r is not NO_VALUE}


def _scheduled() -> dict[str, Any]:
    from remediator.sweep import permissions as sweep

    return {"sweep": sweep}


# Functions a schedule runs (functions/<name>/) -> the module declaring the actions its code calls
# (ROLE_ACTIONS: granted through the action -> resource table, REPORT_ACTIONS: the account-level ones,
# STORE_ACTIONS: on the findings table).
SCHEDULED: dict[str, Any] = _scheduled()


@dataclass(frozen=True)
class FunctionUnderTest:
    """One entry of FUNCTIONS or SCHEDULED and what the translated template builds for it."""

    name: str  # FUNCTIONS or SCHEDULED key, functions/<name>/
    rule_ids: tuple[str, ...]  # () for a scheduled function
    logical_id: str
    role_id: str  # logical id of its AWS::IAM::Role
    iam_actions: tuple[str, ...] = ()  # exactly the IAM actions (and a schedule's checks) its role may have
    scheduled: bool = False
    store_actions: tuple[str, ...] = ()  # a scheduled function's findings-table actions


def functions_of(cfn: dict[str, Any]) -> dict[str, FunctionUnderTest]:
    """Map each FUNCTIONS and SCHEDULED entry to its Lambda function in the translated template (by code location)."""
    from remediator.rules import FUNCTIONS, RULES

    by_code: dict[str, str] = {}
    for logical, resource in cfn["Resources"].items():
        if resource["Type"] == "AWS::Lambda::Function":
            key = resource["Properties"]["Code"]["S3Key"]
            by_code[key] = logical
    assert not set(FUNCTIONS) & set(SCHEDULED), "a function is triggered by rules or by a schedule, not both"
    entries = [
        (name, rule_ids, tuple(sorted({a for r in rule_ids for a in RULES[r].META.iam_actions})), None)
        for name, rule_ids in FUNCTIONS.items()
    ]
    entries += [(name, (), tuple(sorted(declared.ROLE_ACTIONS)), declared) for name, declared in SCHEDULED.items()]
    found = {}
    for name, rule_ids, iam_actions, declared in entries:
        scheduled = declared is not None
        key = translate_template.code_key(f"functions/{name}/")
        catalog = "SCHEDULED" if scheduled else "FUNCTIONS"
        assert key in by_code, f"{catalog}[{name!r}] has no function with CodeUri functions/{name}/ in template.yaml"
        logical = by_code[key]
        role = cfn["Resources"][logical]["Properties"]["Role"]
        assert "Fn::GetAtt" in role, f"{logical} must use its own explicit AWS::IAM::Role"
        found[name] = FunctionUnderTest(
            name,
            rule_ids,
            logical,
            role["Fn::GetAtt"][0],
            iam_actions,
            scheduled,
            tuple(declared.STORE_ACTIONS) if scheduled else (),
        )
    return found


@pytest.fixture(scope="session")
def functions(cfn_template: dict[str, Any]) -> dict[str, FunctionUnderTest]:
    return functions_of(cfn_template)


def resources_of_type(template: dict[str, Any], kind: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for logical, resource in template["Resources"].items():
        if resource["Type"] == kind:
            yield logical, resource


def rules_targeting(
    cfn: dict[str, Any], function_logical_id: str, *, organization: bool = False
) -> dict[str, dict[str, Any]]:
    """The EventBridge rules whose targets include the function: on the default bus, or (organization) their
    twins on the organization bus, which exist only in organization mode."""
    return {
        logical: resource
        for logical, resource in resources_of_type(cfn, "AWS::Events::Rule")
        if (resource.get("Condition") == "OrganizationMode") == organization
        and any(
            target["Arn"] == {"Fn::GetAtt": [function_logical_id, "Arn"]}
            for target in resource["Properties"].get("Targets", [])
        )
    }


def schedules_targeting(cfn: dict[str, Any], function_logical_id: str) -> dict[str, dict[str, Any]]:
    """The EventBridge Scheduler schedules whose target is the function."""
    return {
        logical: resource
        for logical, resource in resources_of_type(cfn, "AWS::Scheduler::Schedule")
        if resource["Properties"]["Target"]["Arn"] == {"Fn::GetAtt": [function_logical_id, "Arn"]}
    }


def schedule_roles(cfn: dict[str, Any]) -> set[str]:
    """Logical ids of the roles EventBridge Scheduler assumes to run the schedules."""
    return {
        schedule["Properties"]["Target"]["RoleArn"]["Fn::GetAtt"][0]
        for _, schedule in resources_of_type(cfn, "AWS::Scheduler::Schedule")
    }
