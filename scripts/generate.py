#!/usr/bin/env python3
"""Write what the rule catalog determines: each rule's metadata is the one source, this is the one writer.

From RULE_IDS and FUNCTIONS (remediator/rules/__init__.py), each rule's META and remediator/permissions.py:
- template.yaml, between its marker comments: the mode parameters, the per-function blocks (function and
  its EventBridge rules, role, log group, queues, queue policy, alarms), the lists of every function's
  role, and the outputs. Everything outside the markers is written by hand.
- docs/rules.md, whole: one section per rule.
- README.md, between its marker comments: the flow diagram and the rules summary.
- functions/<name>/app.py of every FUNCTIONS entry: the handler, whole.
- regional-forwarder.yaml, between its marker comments: the rules that send the hub what other regions record.
- member.yaml, between its marker comments: a member account's forwarding rules and the member role's grants.

    scripts/generate.py           rewrite what is stale
    scripts/generate.py --check   write nothing; exit 1 naming what is stale
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import textwrap
from collections.abc import Callable, Iterable
from dataclasses import dataclass, replace
from importlib import import_module
from pathlib import Path
from typing import Any

import yaml

from remediator.config import mode_variable
from remediator.permissions import (
    RESOURCE_ARNS,
    RESOURCE_CONDITIONS,
    STACK_POLICY_ONLY,
    rule_resource_kind,
)
from remediator.rules import FUNCTIONS, RULE_IDS, RULES
from remediator.rules.base import API_CALL, CONSOLE_SIGN_IN, RuleMeta, RuleSetting, Trigger

ROOT = Path(__file__).resolve().parent.parent
MAKE = "do not edit; run make generate"
# The marker comments around a generated region: `# --- generated from the rule catalog (NAME): ... ---` in
# YAML, `<!-- generated from the rule catalog (NAME): ... -->` in Markdown; the region ends at its end marker.
BEGIN = re.compile(
    r"^(?P<indent>\s*)(?:# ---|<!--) generated from the rule catalog \((?P<name>[a-z-]+)\): "
    + re.escape(MAKE)
    + r" (?:---|-->)$"
)
END = "{indent}{open} end generated ({name}) {close}"
MODES = ("off", "notify", "remediate")
# Per kind of resource: the statement id suffix of a rule's actions on it, in the role's order.
KIND_SIDS = {
    "user": "Users",
    "group": "Groups",
    "role": "Roles",
    "policy": "Policies",
    "account": "AccountLevel",
    "trail": "Trails",
    "event_rule": "OwnEventRules",
    "queue": "OwnQueues",
    "bucket": "Buckets",
}
# The stack names its functions, roles and EventBridge rules `<stack name>-<function>[-<n>]`, so each can be
# named (an ARN with !Sub, no circular reference) in the others' policies and in the functions' environment.
STACK_PREFIX = "${AWS::StackName}-"
OWN_PATH = "/compliance-remediator/"
# What only remediator_tampering's function reads: the stack's own resources, besides the function roles.
TAMPERING_FUNCTION = "remediator_tampering"
FUNCTION_ARN = "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:"
# Security Hub (EnableSecurityHub): findings are imported under the account's own default product; a rule that
# an event resolves reads its open findings back from the hub (remediator/asff.py).
SECURITY_HUB_ARN = "arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:"
SECURITY_HUB_PRODUCT = SECURITY_HUB_ARN + "product/${AWS::AccountId}/default"
SECURITY_HUB_HUB = SECURITY_HUB_ARN + "hub/default"
# The SAM event name of a trigger, by the kind of event it reacts to (a number is added when one repeats).
EVENT_NAMES = {API_CALL: "CloudTrail", CONSOLE_SIGN_IN: "ConsoleSignIn"}


def camel(name: str) -> str:
    """access_keys -> AccessKeys: the prefix of a function's or rule's logical ids and parameters."""
    return "".join(part.capitalize() for part in name.split("_"))


def mode_parameter(rule_id: str) -> str:
    return f"{camel(rule_id)}Mode"


def stack_named(name: str) -> str:
    """The name the stack gives function `name`'s function, role (and, with `-<n>`, rules), for !Sub."""
    return f"{STACK_PREFIX}{name}"


def own_iam_arns(indent: int) -> str:
    """Every role and managed policy of the stack, by exact ARN: what no function may ever change."""
    pad = " " * indent
    roles = [stack_named(f.name) for f in functions()] + [
        stack_named(name) for name in ("sweep", "sweep-schedule", "slack-channel")
    ]
    return (
        "".join(
            f'{pad}- !Sub "arn:${{AWS::Partition}}:iam::${{AWS::AccountId}}:role{OWN_PATH}{role}"\n' for role in roles
        )
        + f"{pad}- !Ref DenyWithoutMfaPolicy\n"
    )


# ---------------------------------------------------------------- YAML text

_PLAIN = re.compile(r"[A-Za-z][A-Za-z0-9 ._/@()+=:*-]*")
_RESERVED = {"y", "n", "yes", "no", "on", "off", "true", "false", "null"}


def scalar(value: Any) -> str:
    """A YAML scalar, plain when that cannot be misread, else double-quoted (JSON is valid YAML)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return json.dumps(value)
    text = str(value)
    if (
        _PLAIN.fullmatch(text)
        and text == text.strip()
        and text.lower() not in _RESERVED
        and ": " not in text
        and not text.endswith(":")
    ):
        return text
    return json.dumps(text)


def flow(value: Any) -> str:
    """A list or mapping on one line: `[a, b]`, `{ exists: false }`."""
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{scalar(k)}: {flow(v)}" for k, v in value.items()) + " }"
    if isinstance(value, list | tuple):
        return "[" + ", ".join(flow(item) for item in value) + "]"
    return scalar(value)


def block(mapping: dict[str, Any], indent: int) -> list[str]:
    """Nested mappings as block YAML, lists in flow style: the way template.yaml writes event patterns."""
    lines = []
    for key, value in mapping.items():
        if isinstance(value, dict) and value:
            lines.append(f"{' ' * indent}{scalar(key)}:")
            lines.extend(block(value, indent + 2))
        else:
            lines.append(f"{' ' * indent}{scalar(key)}: {flow(value)}")
    return lines


def folded(text: str, indent: int, width: int = 110) -> str:
    """A long description as a folded block scalar (`>-`), wrapped for reading."""
    pad = " " * indent
    return ">-\n" + "\n".join(pad + line for line in textwrap.wrap(text, width - indent, break_on_hyphens=False))


def lower_first(text: str) -> str:
    """ "The root user was used" -> "the root user was used"; "IAM user created" stays."""
    first = text.split(" ", 1)[0]
    return text if len(first) > 1 and first.isupper() else text[:1].lower() + text[1:]


def sentence(text: str) -> str:
    text = text.strip()
    return text[:1].upper() + text[1:] + ("" if text.endswith(".") else ".")


# ---------------------------------------------------------------- the catalog, as the template needs it


@dataclass(frozen=True)
class Event:
    """One EventBridge rule of a function: its SAM event name and pattern."""

    name: str
    pattern: dict[str, Any]

    @property
    def any_call(self) -> bool:
        """Any API call (no eventName): read-only calls reach it only when the rule asks for them."""
        return self.pattern.get("detail-type") == [API_CALL] and "eventName" not in self.pattern.get("detail", {})


@dataclass(frozen=True)
class Function:
    """One FUNCTIONS entry: functions/<name>/, its rules, and what the template builds for it."""

    name: str
    metas: tuple[RuleMeta, ...]

    @property
    def id(self) -> str:
        return camel(self.name)

    @property
    def rules_text(self) -> str:
        ids = ", ".join(meta.id for meta in self.metas)
        return f"rule {ids}" if len(self.metas) == 1 else f"rules {ids}"

    @property
    def description(self) -> str:
        return "; ".join(meta.title for meta in self.metas)

    def events(self) -> list[Event]:
        patterns: list[dict[str, Any]] = []
        for meta in self.metas:
            for trigger in meta.triggers:
                if trigger.event_pattern() not in patterns:
                    patterns.append(trigger.event_pattern())
        events: list[Event] = []
        seen: dict[str, int] = {}
        for pattern in patterns:
            detail_type = (pattern.get("detail-type") or ["Event"])[0]
            base = EVENT_NAMES.get(detail_type) or re.sub(r"[^A-Za-z0-9]", "", detail_type.title())
            seen[base] = seen.get(base, 0) + 1
            events.append(Event(base if seen[base] == 1 else f"{base}{seen[base]}", pattern))
        return events

    def grants(self) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
        """The rules' actions by resource kind: (unconditioned, limited to the stack's deny-unless-MFA policy)."""
        free = {a for meta in self.metas for a in meta.iam_actions if a not in meta.stack_policy_only}
        limited = {a for meta in self.metas for a in meta.stack_policy_only} - free
        for meta in self.metas:
            if unlimited := (STACK_POLICY_ONLY & set(meta.iam_actions)) - set(meta.stack_policy_only):
                raise SystemExit(
                    f"{meta.id}: {sorted(unlimited)} may only be granted for the stack's policy: "
                    "list them in stack_policy_only"
                )
            if stray := set(meta.stack_policy_only) - set(meta.iam_actions):
                raise SystemExit(f"{meta.id}: stack_policy_only lists {sorted(stray)}, which it does not declare")
        rule_ids = [meta.id for meta in self.metas]
        return by_kind(free, rule_ids), by_kind(limited, rule_ids)


def by_kind(actions: Iterable[str], rule_ids: Iterable[str] = ()) -> dict[str, list[str]]:
    """Actions grouped by the resource kind permissions.py scopes them to in a role running `rule_ids`, in the
    table's order of kinds."""
    rules = tuple(rule_ids)
    try:
        kind_of = {action: rule_resource_kind(action, rules) for action in set(actions)}
    except ValueError as error:
        raise SystemExit(str(error)) from None
    kinds: dict[str, list[str]] = {}
    for action in sorted(kind_of, key=lambda a: (list(RESOURCE_ARNS).index(kind_of[a]), a)):
        kinds.setdefault(kind_of[action], []).append(action)
    return kinds


def functions() -> list[Function]:
    for name, rule_ids in FUNCTIONS.items():
        unknown = [rule_id for rule_id in rule_ids if rule_id not in RULE_IDS]
        if unknown:
            raise SystemExit(f"FUNCTIONS[{name!r}] runs {unknown}, which RULE_IDS does not list")
    return [Function(name, tuple(RULES[rule_id].META for rule_id in rule_ids)) for name, rule_ids in FUNCTIONS.items()]


# ---------------------------------------------------------------- template.yaml regions


def rule_settings() -> list[RuleSetting]:
    """Every rule's own settings (RuleMeta.settings), in catalog order."""
    return [setting for rule_id in RULE_IDS for setting in RULES[rule_id].META.settings]


def region_mode_group() -> str:
    names = ", ".join(mode_parameter(rule_id) for rule_id in RULE_IDS)
    out = f"      - Label: {{ default: Rule modes (off | notify | remediate) }}\n        Parameters: [{names}]\n"
    if settings := rule_settings():
        out += (
            "      - Label: { default: Rule settings of single rules }\n"
            f"        Parameters: [{', '.join(setting.parameter for setting in settings)}]\n"
        )
    return out


def _setting_bounds(setting: RuleSetting) -> str:
    if isinstance(setting.default, str):
        pattern = scalar(setting.pattern or ".*")
        return f"    Type: String\n    Default: {scalar(setting.default)}\n    AllowedPattern: {pattern}\n"
    bounds = f"    MinValue: {setting.minimum}\n    MaxValue: {setting.maximum}\n"
    return f"    Type: Number\n    Default: {setting.default}\n{bounds}"


def region_rule_setting_parameters() -> str:
    """A parameter per RuleMeta.settings entry (Number, or String for a text setting); its function alone gets
    the variable."""
    return "".join(
        f"  {setting.parameter}:\n{_setting_bounds(setting)}    Description: {folded(setting.description, 6)}\n"
        for setting in rule_settings()
    )


def _setting_variables(function: Function) -> str:
    return "".join(
        f"          {setting.variable}: !Ref {setting.parameter}\n"
        for meta in function.metas
        for setting in meta.settings
    )


def region_mode_parameters() -> str:
    out = []
    for rule_id in RULE_IDS:
        meta = RULES[rule_id].META
        about = (
            f"Rule {meta.id} ({lower_first(meta.title)}). remediate: {meta.remediation}. "
            "notify reports what remediate would do; off switches the rule off. Details: docs/rules.md."
        )
        out.append(f"""\
  {mode_parameter(rule_id)}:
    Type: String
    Default: {scalar(str(meta.default_mode))}
    AllowedValues: {flow(list(MODES))}
    Description: {folded(about, 6)}
""")
    return "".join(out)


def region_mode_variables() -> str:
    return "".join(f"        {mode_variable(rule_id)}: !Ref {mode_parameter(rule_id)}\n" for rule_id in RULE_IDS)


def _role_list(indent: int) -> str:
    return "".join(f"{' ' * indent}- !GetAtt {function.id}FunctionRole.Arn\n" for function in functions())


def region_publishers() -> str:
    return _role_list(16)


def region_publishers_only() -> str:
    return _role_list(18)


def region_outputs() -> str:
    return "".join(
        f"""\
  {f.id}FunctionName:
    Description: {f.name} function
    Value: !Ref {f.id}Function
  {f.id}FunctionDLQUrl:
    Description: {f.name} processing failures (redrive after fixing the cause)
    Value: !Ref {f.id}FunctionDLQ
  {f.id}RuleDLQUrl:
    Description: {f.name} delivery failures from EventBridge
    Value: !Ref {f.id}RuleDLQ
"""
        for f in functions()
    )


def _events(function: Function) -> str:
    out = []
    for number, event in enumerate(function.events(), 1):
        state = ""
        if event.any_call:
            state = (
                "            # No eventName filter: read-only calls (Get*, List*, Describe*) count as use too.\n"
                "            State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS\n"
            )
        pattern = "\n".join(block(event.pattern, 14))
        if yaml.safe_load(pattern) != event.pattern:
            raise SystemExit(f"{function.name}: the pattern does not read back as written: {event.pattern}")
        out.append(f"""\
        {event.name}:
          Type: EventBridgeRule
          Properties:
            RuleName: !Sub "{stack_named(function.name)}-{number}"
{state}            Pattern:
{pattern}
            RetryPolicy:
              MaximumRetryAttempts: 185
              MaximumEventAgeInSeconds: 86400
            DeadLetterConfig:
              Arn: !GetAtt {function.id}RuleDLQ.Arn
""")
    return "".join(out)


def _rule_statements(function: Function) -> str:
    free, limited = function.grants()
    if not free and not limited:
        return f"              # {sentence(function.rules_text)[:-1]} only reports: no IAM action at all.\n"
    return iam_statements(f"Rule{function.id}", free, limited)


def iam_statements(sid: str, free: dict[str, list[str]], limited: dict[str, list[str]]) -> str:
    """One Allow per resource kind, each on the kind's ARN pattern; the actions limited to the stack's
    deny-unless-MFA policy in statements of their own, with the iam:PolicyARN condition."""
    out = []
    for kind, actions in free.items():
        if RESOURCE_ARNS[kind] == ("*",):
            out.append('              # No resource type for these (account-level): the one place they are on "*".\n')
        out.append(f"""\
              - Sid: {sid}{KIND_SIDS.get(kind, camel(kind))}
                Effect: Allow
                Action: {flow(actions)}
                Resource: {_resource(kind)}
""")
        if condition := RESOURCE_CONDITIONS.get(kind):
            out.append("                Condition:\n" + "".join(f"{line}\n" for line in block(condition, 18)))
    if limited:
        out.append("              # Only the stack's deny-unless-MFA policy, never any other.\n")
    for kind, actions in limited.items():
        suffix = "" if len(limited) == 1 else KIND_SIDS.get(kind, camel(kind))
        out.append(f"""\
              - Sid: {sid}DenyWithoutMfaPolicyOnly{suffix}
                Effect: Allow
                Action: {flow(actions)}
                Resource: {_resource(kind)}
                Condition:
                  ArnEquals: {{ iam:PolicyARN: !Ref DenyWithoutMfaPolicy }}
""")
    return "".join(out)


def region_sweep_iam() -> str:
    """The sweep's IAM actions (remediator/sweep/permissions.py), scoped by the same table as the rules'."""
    from remediator.sweep import permissions as sweep

    limited = set(sweep.ATTACH_ACTIONS)
    if unlimited := (STACK_POLICY_ONLY & set(sweep.ROLE_ACTIONS)) - limited:
        raise SystemExit(f"sweep: {sorted(unlimited)} may only be granted for the stack's policy (ATTACH_ACTIONS)")
    return iam_statements("Sweep", by_kind(set(sweep.ROLE_ACTIONS) - limited), by_kind(limited))


# The sweep's own queues, hand-written in template.yaml: the coverage check watches them with the functions'.
SWEEP_QUEUES = ("SweepScheduleDLQ", "SweepFunctionDLQ")


def region_sweep_watched() -> str:
    """What the sweep's coverage check watches, compactly (Lambda allows 4 KB of environment): each function
    with its number of EventBridge rules, which are named `<stack>-<function>-<n>` and must target the function
    `<stack>-<function>`; every dead-letter queue is named `<stack>-<function>-rule-dlq` / `-function-dlq`
    (the sweep's own: `<stack>-sweep-function-dlq`, `<stack>-sweep-schedule-dlq`)."""
    watched = ",".join(f"{f.name}:{len(f.events())}" for f in functions())
    return f'          WATCHED_FUNCTIONS: "{watched}"\n          STACK_NAME: !Ref AWS::StackName\n'


def _resource(kind: str) -> str:
    arns = ['"*"' if arn == "*" else f'!Sub "{arn}"' for arn in RESOURCE_ARNS[kind]]
    return arns[0] if len(arns) == 1 else "[" + ", ".join(arns) + "]"


def _alarm(logical_id: str, description: str, namespace: str, metric: str, dimension: str, statistic: str) -> str:
    return f"""\
  {logical_id}:
    Type: AWS::CloudWatch::Alarm
    Properties:
      AlarmDescription: {description}
      Namespace: {namespace}
      MetricName: {metric}
      Dimensions: [{{ {dimension} }}]
      Statistic: {statistic}
      Period: 300
      EvaluationPeriods: 1
      Threshold: 0
      ComparisonOperator: GreaterThanThreshold
      TreatMissingData: notBreaching
      AlarmActions: [!Ref FindingsTopic]
"""


# Organization mode: assume the member role in the organization's accounts, name them, find their OUs, read
# per-account and per-OU modes.
ORGANIZATION_STATEMENTS = """\
              - !If
                - OrganizationMode
                - Sid: ActInMemberAccounts
                  Effect: Allow
                  Action: sts:AssumeRole
                  Resource: !Sub "arn:${AWS::Partition}:iam::*:role/compliance-remediator/${MemberRoleName}"
                  Condition:
                    StringEquals: { aws:ResourceOrgID: !Ref OrganizationId }
                - !Ref AWS::NoValue
              - !If
                - OrganizationMode
                - Sid: NameMemberAccounts
                  Effect: Allow
                  Action: organizations:DescribeAccount
                  Resource: !Sub "arn:${AWS::Partition}:organizations::*:account/${OrganizationId}/*"
                - !Ref AWS::NoValue
              - !If
                - OrganizationMode
                - Sid: PlaceMemberAccounts
                  Effect: Allow
                  Action: organizations:ListParents
                  Resource:
                    - !Sub "arn:${AWS::Partition}:organizations::*:account/${OrganizationId}/*"
                    - !Sub "arn:${AWS::Partition}:organizations::*:ou/${OrganizationId}/ou-*"
                - !Ref AWS::NoValue
              - !If
                - HasAccountModes
                - Sid: ReadAccountModes
                  Effect: Allow
                  Action: ssm:GetParameter
                  Resource: !Sub "MODES_PARAMETER_ARN"
                - !Ref AWS::NoValue
""".replace(
    "MODES_PARAMETER_ARN",
    "arn:${AWS::Partition}:ssm:${AWS::Region}:${AWS::AccountId}:parameter${AccountModesParameter}",
)

# Why checkov's findings on the functions do not apply; the same for every function.
CHECKOV_SKIPS = (
    (
        "CKV_AWS_116",
        "Failed async invocations go to an on-failure destination (the function's DLQ), which records "
        "the error as well as the event.",
    ),
    ("CKV_AWS_117", "The function calls only AWS service endpoints (IAM, SNS, DynamoDB); it reaches no VPC resource."),
    (
        "CKV_AWS_115",
        "Reserved concurrency would fail deployment in accounts with the default 10-concurrency quota; "
        "IAM throttling is handled by adaptive client retries.",
    ),
    (
        "CKV_AWS_173",
        "The variables hold modes, ARNs, names and account IDs, no secrets; the Lambda service key "
        "encrypts them at rest.",
    ),
)
LOG_GROUP_ARN = "arn:${{AWS::Partition}}:logs:${{AWS::Region}}:${{AWS::AccountId}}:log-group:${{{}LogGroup}}:*"


# The stack's baseline instance role (ec2_without_role attaches its profile): nothing but passing it to EC2, which
# only the function that declares iam:PassRole is allowed (permissions.py), is ever possible on it.
BASELINE_ROLE_ARN = RESOURCE_ARNS["baseline_instance_role"][0]
NEVER_MODIFY_BASELINE_ROLE = f"""\
              - Sid: NeverModifyTheBaselineInstanceRole
                Effect: Deny
                NotAction: iam:PassRole
                Resource: !Sub "{BASELINE_ROLE_ARN}"
"""


def _checkov_skips() -> str:
    return "".join(f"          - id: {check}\n            comment: {comment}\n" for check, comment in CHECKOV_SKIPS)


def _security_hub_statements(f: Function) -> str:
    """Present only when Security Hub is on: import findings; read them back only where an event resolves one."""
    grants = [("ImportFindingsToSecurityHub", "securityhub:BatchImportFindings", SECURITY_HUB_PRODUCT)]
    if any(meta.resolved_by for meta in f.metas):
        grants.append(("ReadFindingsToResolve", "securityhub:GetFindings", SECURITY_HUB_HUB))
    return "".join(
        f"""\
              - !If
                - SecurityHubEnabled
                - Sid: {sid}
                  Effect: Allow
                  Action: {action}
                  Resource: !Sub "{arn}"
                - !Ref AWS::NoValue
"""
        for sid, action, arn in grants
    )


def function_block(f: Function) -> str:
    """Everything one function needs, in the order a reader follows an event through it."""
    sources = ", ".join(f"!GetAtt {f.id}Function{event.name}.Arn" for event in f.events())
    return f"""\
  # ---------------------------------------------------------------- {f.name}
  {f.id}Function:
    Type: AWS::Serverless::Function
    Metadata:
      checkov:
        skip:
{_checkov_skips()}    Properties:
      Description: {scalar(f"{sentence(f.rules_text)[:-1]}: {f.description}")}
      FunctionName: !Sub "{stack_named(f.name)}"
      CodeUri: functions/{f.name}/
      Handler: app.lambda_handler
      Role: !GetAtt {f.id}FunctionRole.Arn
      LoggingConfig:
        LogGroup: !Ref {f.id}LogGroup
      Environment:
        Variables:
          POWERTOOLS_SERVICE_NAME: {f.name}
{_setting_variables(f)}{_own_resources(f)}      EventInvokeConfig:
        MaximumRetryAttempts: 2
        MaximumEventAgeInSeconds: 21600
        DestinationConfig:
          OnFailure:
            Type: SQS
            Destination: !GetAtt {f.id}FunctionDLQ.Arn
      # One EventBridge rule per distinct Trigger.event_pattern() of its rules.
      Events:
{_events(f)}
  {f.id}FunctionRole:
    Type: AWS::IAM::Role
    Properties:
      Description: {f.name} function - only what {f.rules_text} needs
      RoleName: !Sub "{stack_named(f.name)}"
      Path: {OWN_PATH}
      # Only Lambda, for this account's functions; the Deny below narrows it to the one function.
      AssumeRolePolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: {{ Service: lambda.amazonaws.com }}
            Action: sts:AssumeRole
            Condition:
              StringEquals: {{ aws:SourceAccount: !Ref AWS::AccountId }}
      Policies:
        - PolicyName: {f.name.replace("_", "-")}
          PolicyDocument:
            Version: "2012-10-17"
            Statement:
{_rule_statements(f)}\
              # However the Allows above grow, a remediator can never widen or weaken itself: the stack's
              # roles and managed policy, by exact ARN (a role someone else creates under our path stays fixable).
              - Sid: NeverModifyOurOwnRolesOrPolicies
                Effect: Deny
                Action: iam:*
                Resource:
{own_iam_arns(18)}\
{NEVER_MODIFY_BASELINE_ROLE}\
              # Only this function's code may use the role: code Lambda runs for any other function (our role
              # passed to it) is denied everything. Calls Lambda itself makes outside the function (the
              # on-failure destination) carry no source function, hence the Null test.
              - Sid: OnlyOurOwnFunction
                Effect: Deny
                Action: "*"
                Resource: "*"
                Condition:
                  ArnNotEquals:
                    lambda:SourceFunctionArn: !Sub "{FUNCTION_ARN}{stack_named(f.name)}"
                  "Null": {{ lambda:SourceFunctionArn: "false" }}
              - Sid: PublishFindings
                Effect: Allow
                Action: sns:Publish
                Resource: !Ref FindingsTopic
              # The topic, the queues and the tables are encrypted with the stack's key.
              - Sid: UseKeyThroughOurServices
                Effect: Allow
                Action: [kms:GenerateDataKey, kms:Decrypt]
                Resource: !GetAtt RemediatorKey.Arn
                Condition:
                  StringEquals:
                    kms:ViaService:
                      - !Sub sns.${{AWS::Region}}.amazonaws.com
                      - !Sub sqs.${{AWS::Region}}.amazonaws.com
                      - !Sub dynamodb.${{AWS::Region}}.amazonaws.com
              # The event ledger: one conditional UpdateItem claims an event and counts the budget; releasing a
              # claim after a failure is an UpdateItem too.
              - Sid: IdempotencyRecords
                Effect: Allow
                Action: [dynamodb:UpdateItem]
                Resource: !GetAtt IdempotencyTable.Arn
              - Sid: FindingsRecords
                Effect: Allow
                Action: [dynamodb:GetItem, dynamodb:PutItem, dynamodb:UpdateItem, dynamodb:Query]
                Resource:
                  - !GetAtt FindingsTable.Arn
                  - !Sub "${{FindingsTable.Arn}}/index/*"
              # The central exemption list: read, never written (only the exemption admins write it).
              - Sid: ReadExemptionList
                Effect: Allow
                Action: dynamodb:Scan
                Resource: !GetAtt ExemptionsTable.Arn
              - Sid: SendFailedEventsToOwnDLQ
                Effect: Allow
                Action: sqs:SendMessage
                Resource: !GetAtt {f.id}FunctionDLQ.Arn
              - Sid: WriteOwnLogs
                Effect: Allow
                Action: [logs:CreateLogStream, logs:PutLogEvents]
                Resource: !Sub "{LOG_GROUP_ARN.format(f.id)}"
              - !If
                - TracingEnabled
                - Sid: XRayTracing
                  Effect: Allow
                  Action: [xray:PutTraceSegments, xray:PutTelemetryRecords]
                  Resource: "*"
                - !Ref AWS::NoValue
{_security_hub_statements(f)}
{ORGANIZATION_STATEMENTS}
  {f.id}LogGroup:
    Type: AWS::Logs::LogGroup
    Properties:
      LogGroupName: !Sub /compliance-remediator/${{AWS::StackName}}/{f.name}
      RetentionInDays: !Ref LogRetentionDays
      KmsKeyId: !GetAtt RemediatorKey.Arn

  # Delivery failures (EventBridge could not invoke the function) after the rule's retries.
  {f.id}RuleDLQ:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "{stack_named(f.name)}-rule-dlq"
      KmsMasterKeyId: !Ref RemediatorKey
      MessageRetentionPeriod: 1209600

  {f.id}RuleDLQPolicy:
    Type: AWS::SQS::QueuePolicy
    Properties:
      Queues: [!Ref {f.id}RuleDLQ]
      PolicyDocument:
        Version: "2012-10-17"
        Statement:
          - Sid: RuleDeadLetters
            Effect: Allow
            Principal: {{ Service: events.amazonaws.com }}
            Action: sqs:SendMessage
            Resource: !GetAtt {f.id}RuleDLQ.Arn
            Condition:
              ArnEquals: {{ aws:SourceArn: [{sources}] }}

  # Processing errors (the handler raised) after Lambda's async retries.
  {f.id}FunctionDLQ:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "{stack_named(f.name)}-function-dlq"
      KmsMasterKeyId: !Ref RemediatorKey
      MessageRetentionPeriod: 1209600

{
        _alarm(
            f"{f.id}RuleDLQAlarm",
            f"{f.name} - events EventBridge could not deliver to the function are in the rule DLQ",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            f"Name: QueueName, Value: !GetAtt {f.id}RuleDLQ.QueueName",
            "Maximum",
        )
    }
{
        _alarm(
            f"{f.id}FunctionDLQAlarm",
            f"{f.name} - events the function failed to process are in the function DLQ",
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            f"Name: QueueName, Value: !GetAtt {f.id}FunctionDLQ.QueueName",
            "Maximum",
        )
    }
{
        _alarm(
            f"{f.id}ErrorsAlarm",
            f"{f.name} - the function raised (Lambda retries, then dead-letters the event)",
            "AWS/Lambda",
            "Errors",
            f"Name: FunctionName, Value: !Ref {f.id}Function",
            "Sum",
        )
    }
"""


def _own_resources(f: Function) -> str:
    """remediator_tampering's view of the stack besides its functions and roles (every function knows those, and
    the rules and queues are named after the functions): its key and id, and who deploys it."""
    if f.name != TAMPERING_FUNCTION:
        return ""
    # Its queues are named after their functions (OWN_FUNCTION_NAMES): Lambda allows 4 KB of environment.
    return (
        "          OWN_KEY_ARN: !GetAtt RemediatorKey.Arn\n"
        "          OWN_STACK_ID: !Ref AWS::StackId\n"
        "          DEPLOYER_ARNS: !Ref DeployerArns\n"
    )


def region_own_functions() -> str:
    """OWN_FUNCTION_NAMES: every function's name, which is also its role's (Lambda names a session after it)."""
    names = [stack_named(f.name) for f in functions()] + [stack_named("sweep")]
    return "".join(f'            - !Sub "{name}"\n' for name in names)


def region_own_iam() -> str:
    return own_iam_arns(18)


def region_functions() -> str:
    return "".join(function_block(function) for function in functions())


def organization_events(f: Function) -> list[tuple[int, Event]]:
    """The function's EventBridge rules member accounts can feed (not the hub's own resources), each with the
    number its organization-bus twin is named with: after the default bus's, so `<stack>-<function>-<n>` stays
    the stack's naming of its rules."""
    member_patterns = [t.event_pattern() for meta in f.metas for t in meta.triggers if not t.hub_region_only]
    events = f.events()
    chosen = [event for event in events if event.pattern in member_patterns]
    return [(len(events) + number, event) for number, event in enumerate(chosen, 1)]


def region_organization_rule_arns() -> str:
    return "".join(
        f"                  - !GetAtt {f.id}OrganizationRule{number}.Arn\n"
        for f in functions()
        for number, _ in organization_events(f)
    )


def region_organization_rules() -> str:
    """Organization mode: each function's rules again, on the organization bus member accounts forward to."""
    out = []
    for f in functions():
        for number, event in organization_events(f):
            logical = f"{f.id}OrganizationRule{number}"
            out.append(f"""\
  {logical}:
    Type: AWS::Events::Rule
    Condition: OrganizationMode
    Properties:
      Name: !Sub "{stack_named(f.name)}-{number}"
      Description: {scalar(f"{f.name} {event.name}, forwarded by member accounts")}
      EventBusName: !GetAtt OrganizationBus.Name
      EventPattern:
{chr(10).join(block(event.pattern, 8))}
      Targets:
        - Id: function
          Arn: !GetAtt {f.id}Function.Arn
          RetryPolicy: {{ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 }}
          DeadLetterConfig: {{ Arn: !GetAtt OrganizationRuleDLQ.Arn }}
  {logical}Permission:
    Type: AWS::Lambda::Permission
    Condition: OrganizationMode
    Properties:
      Action: lambda:InvokeFunction
      FunctionName: !Ref {f.id}Function
      Principal: events.amazonaws.com
      SourceArn: !GetAtt {logical}.Arn
""")
    return "".join(out)


def _log_group_names() -> list[str]:
    """Every function's log group (the catalog's, then the sweep's), as the template names them."""
    return [f"/compliance-remediator/${{AWS::StackName}}/{name}" for name in [*FUNCTIONS, "sweep"]]


def region_log_groups() -> str:
    """The LogGroupNames list of each saved Logs Insights query."""
    return "".join(f"        - !Sub {name}\n" for name in _log_group_names())


def region_dashboard_log_groups() -> str:
    """The dashboard's log widget reads every function's log group (SOURCE a | SOURCE b ...)."""
    return "".join(f"              - !Sub \"'{name}'\"\n" for name in _log_group_names())


TEMPLATE_REGIONS: dict[str, Callable[[], str]] = {
    "mode-parameter-group": region_mode_group,
    "mode-parameters": region_mode_parameters,
    "rule-setting-parameters": region_rule_setting_parameters,
    "mode-variables": region_mode_variables,
    "own-functions": region_own_functions,
    "own-iam": region_own_iam,
    "publishers": region_publishers,
    "only-publishers": region_publishers_only,
    "functions": region_functions,
    "organization-rules": region_organization_rules,
    "organization-rule-arns": region_organization_rule_arns,
    "sweep-iam": region_sweep_iam,
    "sweep-watched": region_sweep_watched,
    "outputs": region_outputs,
    "log-groups": region_log_groups,
    "dashboard-log-groups": region_dashboard_log_groups,
}


def fill_regions(text: str, regions: dict[str, Callable[[], str]], path: str) -> str:
    """Replace the lines between each begin and end marker with the region's text; fail on a missing marker."""
    lines = text.splitlines(keepends=True)
    out: list[str] = []
    done: set[str] = set()
    index = 0
    while index < len(lines):
        line = lines[index]
        out.append(line)
        index += 1
        match = BEGIN.match(line.rstrip("\n"))
        if not match:
            continue
        name, indent = match["name"], match["indent"]
        if name not in regions:
            raise SystemExit(f"{path}: unknown generated region {name!r}")
        markdown = line.lstrip().startswith("<!--")
        end = END.format(
            indent=indent, open="<!--" if markdown else "# ---", close="-->" if markdown else "---", name=name
        )
        while index < len(lines) and lines[index].rstrip("\n") != end:
            index += 1
        if index == len(lines):
            raise SystemExit(f"{path}: region {name!r} has no end marker {end.strip()!r}")
        out.append(regions[name]())
        out.append(lines[index])
        index += 1
        done.add(name)
    if missing := set(regions) - done:
        raise SystemExit(f"{path}: no marker for the generated region(s) {sorted(missing)}")
    return "".join(out)


# ---------------------------------------------------------------- regional-forwarder.yaml


def is_iam(trigger: Trigger) -> bool:
    return trigger.event_sources == ("iam.amazonaws.com",)


def regional(trigger: Trigger) -> bool:
    """What every region records: all but IAM's own (IAM events reach EventBridge only in us-east-1) and the
    hub's own resources (remediator_tampering: they live in the hub region)."""
    return not is_iam(trigger) and not trigger.hub_region_only


def forwarded(
    select: Callable[[Trigger], bool] = regional, prefix: str = "Forward"
) -> list[tuple[str, Trigger, tuple[str, ...]]]:
    """What must reach the hub's rules from elsewhere: the triggers `select` picks (default: what other regions
    record). Triggers that differ only in the caller kinds or eventNames share one rule whose
    pattern is their union (any eventName when one of them takes any, failed calls when one of them wants
    them): the hub's rules decide precisely."""
    groups: dict[Trigger, tuple[list[str], list[str], list[str]]] = {}
    failing: set[Trigger] = set()
    for rule_id in RULE_IDS:
        for trigger in RULES[rule_id].META.triggers:
            if not select(trigger):
                continue
            key = replace(trigger, identity_types=(), event_names=(), include_failed_calls=False)
            kinds, names, rules = groups.setdefault(key, ([], [], []))
            if trigger.include_failed_calls:  # the union forwards failures when any member wants them
                failing.add(key)
            kinds += [kind for kind in trigger.identity_types if kind not in kinds]
            if not trigger.event_names or (names and names[0] == ""):
                names[:] = [""]
            else:
                names += [name for name in trigger.event_names if name not in names]
            rules += [rule_id] if rule_id not in rules else []
    out, used = [], set()
    for key, (kinds, names, rules) in groups.items():
        merged = replace(
            key,
            identity_types=tuple(kinds),
            event_names=tuple(n for n in names if n),
            include_failed_calls=key in failing,
        )
        if len(rules) == 1:
            name = f"{prefix}{camel(rules[0])}"
        elif CONSOLE_SIGN_IN in key.detail_types:
            name = f"{prefix}ConsoleSignIns"
        else:
            name = prefix + camel((key.sources or ("events",))[0].removeprefix("aws.").replace(".", "_"))
        number = 1
        while (name if number == 1 else f"{name}{number}") in used:
            number += 1
        name = name if number == 1 else f"{name}{number}"
        used.add(name)
        out.append((name, merged, tuple(rules)))
    return out


HUB_DEFAULT_BUS = "!Sub arn:${AWS::Partition}:events:${HubRegion}:${AWS::AccountId}:event-bus/default"


def forward_rules(
    rules: list[tuple[str, Trigger, tuple[str, ...]]],
    target: str = HUB_DEFAULT_BUS,
    condition: str | None = None,
    where: str = "in this region",
) -> str:
    out = []
    for name, trigger, rule_ids in rules:
        event = Event(name, trigger.event_pattern())
        state = "      State: ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS\n" if event.any_call else ""
        what = describe(trigger, " on any service")
        if len(what) > 300:  # EventBridge descriptions hold 512 characters: the pattern lists the calls
            what = f"{len(trigger.event_names)} calls on {', '.join(trigger.event_sources)}"
        about = f"{what} {where}, for {' and '.join(rule_ids)}".replace("`", "")
        only = f"    Condition: {condition}\n" if condition else ""
        out.append(f"""\
  {name}:
    Type: AWS::Events::Rule
{only}    Properties:
      Description: {scalar(sentence(about)[:-1])}
{state}      EventPattern:
{chr(10).join(block(event.pattern, 8))}
      Targets:
        - Id: hub-bus
          Arn: {target}
          RoleArn: !GetAtt ForwarderRole.Arn
          RetryPolicy: {{ MaximumRetryAttempts: 185, MaximumEventAgeInSeconds: 86400 }}
          DeadLetterConfig: {{ Arn: !GetAtt ForwardingDLQ.Arn }}

""")
    return "".join(out)


def region_forwarded_rules() -> str:
    return forward_rules(forwarded())


def region_forwarded_arns() -> str:
    return "".join(f"                  - !GetAtt {name}.Arn\n" for name, _, _ in forwarded())


FORWARDER_REGIONS: dict[str, Callable[[], str]] = {
    "forwarded-rules": region_forwarded_rules,
    "forwarded-rule-arns": region_forwarded_arns,
}


# ---------------------------------------------------------------- member.yaml (organization mode)

MEMBER_PRIMARY = "IsPrimaryRegion"
HUB_ROLE_ARN = "arn:${{AWS::Partition}}:iam::${{HubAccountId}}:role" + OWN_PATH + "${{HubStackName}}-{}"


def member_forwarded() -> list[tuple[tuple[str, Trigger, tuple[str, ...]], str | None]]:
    """A member's rules: what every region records, and in the primary region (us-east-1) IAM's own events
    too. The hub's own resources (hub_region_only) live in the hub account only."""
    return [(rule, None) for rule in forwarded()] + [
        (rule, MEMBER_PRIMARY) for rule in forwarded(is_iam, prefix="ForwardGlobal")
    ]


def region_member_forwarded_rules() -> str:
    return "".join(
        forward_rules([rule], "!Ref HubBusArn", condition, "in this region" if condition is None else "(us-east-1)")
        for rule, condition in member_forwarded()
    )


def region_member_forwarded_arns() -> str:
    return "".join(
        f"                  - !GetAtt {name}.Arn\n"
        if condition is None
        else f"                  - !If [{condition}, !GetAtt {name}.Arn, !Ref AWS::NoValue]\n"
        for (name, _, _), condition in member_forwarded()
    )


def member_functions() -> list[str]:
    """The hub functions whose roles may assume the member role: every rule's function, and the sweep."""
    return [f.name for f in functions()] + ["sweep"]


def region_member_trusted_roles() -> str:
    return "".join(f'                  - !Sub "{HUB_ROLE_ARN.format(name)}"\n' for name in member_functions())


def member_actions() -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """The union of every rule's declared actions (remediation and state) and the sweep's IAM actions (the
    organization sweep reads each member's credential report), as the hub's roles scope them."""
    from remediator.sweep import permissions as sweep

    free = {a for f in functions() for kind in f.grants()[0].values() for a in kind}
    free |= set(sweep.IAM_ACTIONS) - set(sweep.ATTACH_ACTIONS)
    limited = {a for f in functions() for kind in f.grants()[1].values() for a in kind} | set(sweep.ATTACH_ACTIONS)
    return by_kind(free, RULE_IDS), by_kind(limited - free, RULE_IDS)


def region_member_role_statements() -> str:
    return iam_statements("Member", *member_actions())


def region_member_deny_policy() -> str:
    """The deny-unless-MFA document console_mfa attaches, the same as the hub's (remediator/data)."""
    document = json.loads((ROOT / "layers/remediator/remediator/data/deny_without_mfa.json").read_text())
    return "".join(f"        {line}\n" for line in yaml.safe_dump(document, sort_keys=False).splitlines())


MEMBER_REGIONS: dict[str, Callable[[], str]] = {
    "member-forwarded-rules": region_member_forwarded_rules,
    "member-forwarded-rule-arns": region_member_forwarded_arns,
    "member-trusted-roles": region_member_trusted_roles,
    "member-role-statements": region_member_role_statements,
    "member-deny-policy": region_member_deny_policy,
}


# ---------------------------------------------------------------- docs/rules.md and README.md


def describe(trigger: Trigger, anywhere: str = ", any service and region") -> str:
    """One line a person reads: which calls, of which service, by whom."""
    names = ", ".join(f"`{name}`" for name in trigger.event_names)
    if API_CALL in trigger.detail_types:
        what = names or "any API call"
    elif CONSOLE_SIGN_IN in trigger.detail_types:
        what = f"console sign-in ({names})" if names else "any console sign-in"
    else:
        what = f"{names or 'any event'} ({', '.join(trigger.detail_types)})"
    if trigger.event_sources:
        what += " on " + ", ".join(f"`{source}`" for source in trigger.event_sources)
    elif API_CALL in trigger.detail_types:
        what += anywhere
    if trigger.issuer_wildcards:
        what += " in a session of a role matching " + " or ".join(f"`{w}`" for w in trigger.issuer_wildcards)
    if trigger.identity_types:
        kinds = [f"`{kind}`" for kind in trigger.identity_types]
        what += " by " + (", ".join(kinds[:-1]) + " or " + kinds[-1] if len(kinds) > 1 else kinds[0])
    return what


def _permissions(actions: Iterable[str], limited: Iterable[str], rule_id: str) -> str:
    listed = []
    for action in sorted(actions):
        arns = (
            " and ".join(f"`{arn}`" for arn in RESOURCE_ARNS[rule_resource_kind(action, (rule_id,))])
            .replace("arn:${AWS::Partition}:", "")
            .replace("${AWS::AccountId}", "<account>")
        )
        only = " (the deny-unless-MFA policy only)" if action in limited else ""
        listed.append(f"`{action}` on {arns}{only}")
    return "<br>".join(listed) or "none"


def _doc(rule_id: str) -> str:
    """The rule module's docstring: what the rule decides, in its author's words."""
    text = textwrap.dedent(import_module(f"remediator.rules.{rule_id}").__doc__ or "").strip()
    text = re.sub(r"\s*\(SPEC[^)]*\)", "", text)  # the project's internal spec is not published with the docs
    text = text.removeprefix(f"{rule_id}: ")
    return text[:1].upper() + text[1:]


def rules_markdown() -> str:
    function_of = {rule_id: name for name, rule_ids in FUNCTIONS.items() for rule_id in rule_ids}
    out = [
        "# Rules\n",
        "<!-- generated from the rule catalog by scripts/generate.py: " + MAKE + " -->\n",
        "Every rule lives in `layers/remediator/remediator/rules/<id>.py`: its metadata (below), `evaluate` and",
        "`remediate`. This page is written from that metadata, as are the rule's EventBridge rules, its function's",
        "role and its mode parameter in `template.yaml`. Severity is the usual one; `evaluate` may raise or lower",
        "it per event. The IAM permissions are all the function's role grants besides the stack's own plumbing",
        "(its topic, key, tables, queues and logs); `remediator/permissions.py` says what each is scoped to.\n",
        "| rule | title | severity | default mode | function |",
        "|---|---|---|---|---|",
    ]
    for rule_id in RULE_IDS:
        meta = RULES[rule_id].META
        out.append(
            f"| [`{rule_id}`](#{rule_id}) | {meta.title} | {meta.severity} | {meta.default_mode} "
            f"(`{mode_parameter(rule_id)}`) | `{function_of.get(rule_id, '-')}` |"
        )
    for rule_id in RULE_IDS:
        meta = RULES[rule_id].META
        limited = set(meta.stack_policy_only)
        rows = [
            ("practice", meta.practice),
            ("reacts to", "<br>".join(describe(trigger) for trigger in meta.triggers)),
            ("resolved by", ", ".join(f"`{name}`" for name in meta.resolved_by)),
            ("resource", f"`{meta.resource_path}` (JMESPath into the CloudTrail record)"),
            ("severity", str(meta.severity)),
            (
                "default mode",
                f"{meta.default_mode} (parameter `{mode_parameter(rule_id)}`, variable `{mode_variable(rule_id)}`)",
            ),
            ("remediate", meta.remediation),
            (
                "settings",
                "<br>".join(
                    f"`{s.parameter}` (variable `{s.variable}`, default {s.default}): {s.description}"
                    for s in meta.settings
                ),
            ),
            ("undo", f"`{meta.undo}`" if meta.undo.startswith("aws ") else meta.undo),
            ("IAM permissions (remediation)", _permissions(meta.remediation_actions, limited, rule_id)),
            ("IAM permissions (state)", _permissions(meta.state_actions, limited, rule_id)),
            ("references", "<br>".join(f"<{ref}>" if ref.startswith("https://") else ref for ref in meta.references)),
        ]
        out += [
            f"\n## {rule_id}\n",
            f"**{meta.title}** ([source](../layers/remediator/remediator/rules/{rule_id}.py), "
            f"[tests](../tests/unit/rules/test_{rule_id}.py))\n",
            _doc(rule_id) + "\n",
            "| | |",
            "|---|---|",
            *(f"| {name} | {value.replace('|', chr(92) + '|')} |" for name, value in rows if value),
            "\nEventBridge patterns (`Trigger.event_pattern()`, one rule each in `template.yaml`):\n",
            "```json",
            *(json.dumps(trigger.event_pattern()) for trigger in meta.triggers),
            "```",
        ]
    return "\n".join(out) + "\n"


def region_readme_flow() -> str:
    nodes = [(f"F{n}", function.name) for n, function in enumerate(functions(), 1)]
    fan = " & ".join(node for node, _ in nodes)
    lines = [
        "```mermaid",
        "flowchart LR",
        "    CT[CloudTrail<br/>management events] --> EB[EventBridge<br/>us-east-1 default bus]",
    ]
    for n, (node, name) in enumerate(nodes):
        arrow = '-- "rule per concern" -->' if n == 0 else "-->"
        lines.append(f"    EB {arrow} {node}[{name}]")
    lines += [
        "    SCH[EventBridge Scheduler] --> SW[sweep<br/>credential report]",
        f"    {fan} & SW --> IAM[(IAM: revert,<br/>then re-read)]",
        f"    {fan} & SW --> SNS[SNS topic<br/>KMS CMK]",
        "    SNS --> EMAIL[email] & CHAT[AWS Chatbot: Slack/Teams]",
        f"    {fan} --> DDB[(DynamoDB:<br/>idempotency, findings)]",
        "    EB -. delivery failures .-> RDLQ[rule DLQ] --> ALARM[CloudWatch alarms] --> SNS",
        f"    {nodes[0][0]} -. processing errors .-> FDLQ[function DLQ] --> ALARM",
        "```",
    ]
    return "\n".join(lines) + "\n"


def region_readme_rules() -> str:
    lines = ["| rule | catches | severity | remediate (in `remediate` mode) |", "|---|---|---|---|"]
    for rule_id in RULE_IDS:
        meta = RULES[rule_id].META
        lines.append(
            f"| [`{rule_id}`](docs/rules.md#{rule_id}) | {meta.title} | {meta.severity} | "
            f"{meta.remediation.replace('|', chr(92) + '|')} |"
        )
    return "\n".join(lines) + "\n"


def region_readme_variables() -> str:
    """The table of variables `evaluate` reads; its first rows are what the rule catalog determines (each rule's
    mode and own settings), the rest of the table is written by hand after the end marker."""
    modes = ", ".join(f"`{mode_variable(rule_id)}`" for rule_id in RULE_IDS)
    rows = [
        "| variable | default | meaning |\n",
        "|---|---|---|\n",
        f"| {modes} | `notify` | `off`, `notify` or `remediate` per rule (the `mode` of each finding) |\n",
    ]
    for rule_id in RULE_IDS:
        for setting in RULES[rule_id].META.settings:
            rows.append(f"| `{setting.variable}` | {setting.default} | {setting.description} |\n")
    return "".join(rows)


README_REGIONS: dict[str, Callable[[], str]] = {
    "flow": region_readme_flow,
    "rules": region_readme_rules,
    "variables": region_readme_variables,
}


def handler(function: Function) -> str:
    """functions/<name>/app.py: the glue between Lambda and the rules FUNCTIONS gives the function."""
    sources = ", ".join(f"rules/{meta.id}.py" for meta in function.metas)
    return f'''"""{function.name}: {lower_first(function.description)} ({sources}).

Written by scripts/generate.py from FUNCTIONS: {MAKE}.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("{function.name}")
'''


def generated() -> dict[str, str]:
    """Every generated file's full text, by path relative to the repository."""
    return {
        **{f"functions/{function.name}/app.py": handler(function) for function in functions()},
        "template.yaml": fill_regions((ROOT / "template.yaml").read_text(), TEMPLATE_REGIONS, "template.yaml"),
        "docs/rules.md": rules_markdown(),
        "regional-forwarder.yaml": fill_regions(
            (ROOT / "regional-forwarder.yaml").read_text(), FORWARDER_REGIONS, "regional-forwarder.yaml"
        ),
        "README.md": fill_regions((ROOT / "README.md").read_text(), README_REGIONS, "README.md"),
        "member.yaml": fill_regions((ROOT / "member.yaml").read_text(), MEMBER_REGIONS, "member.yaml"),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="write nothing; exit 1 when a file is stale")
    args = parser.parse_args(argv)
    texts = generated()
    changed = [path for path, text in texts.items() if not (ROOT / path).is_file() or (ROOT / path).read_text() != text]
    if args.check:
        for path in changed:
            print(f"{path} is stale: run make generate", file=sys.stderr)
        return 1 if changed else 0
    for path in changed:
        (ROOT / path).parent.mkdir(parents=True, exist_ok=True)
        (ROOT / path).write_text(texts[path])
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
