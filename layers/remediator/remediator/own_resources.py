"""Which of the stack's own resources a call changes, as remediator_tampering reads it, and how to undo it.

What is ours comes from the environment the template sets (Settings: function names and roles, whose
names the rules carry, queue names, key ARN, stack id) and from the stack's IAM path; the caller chooses none of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from remediator.findings import Resource
from remediator.rules.base import partition_of

if TYPE_CHECKING:
    from remediator.config import Settings
    from remediator.events import CloudTrailRecord

OWN_PATH = "/compliance-remediator/"
CLOUDFORMATION = "cloudformation.amazonaws.com"

ROLE_NAMES = (
    "PutRolePolicy",
    "AttachRolePolicy",
    "DetachRolePolicy",
    "DeleteRolePolicy",
    "UpdateAssumeRolePolicy",
    "PutRolePermissionsBoundary",
    "DeleteRolePermissionsBoundary",
    "DeleteRole",
    "UpdateRole",
)
POLICY_NAMES = ("CreatePolicyVersion", "SetDefaultPolicyVersion", "DeletePolicyVersion", "DeletePolicy")
TAG_NAMES = ("TagRole", "UntagRole", "TagUser", "UntagUser", "TagPolicy", "UntagPolicy")
CREATE_NAMES = ("CreateRole", "CreateUser", "CreatePolicy")
IAM_NAMES = ROLE_NAMES + POLICY_NAMES + TAG_NAMES + CREATE_NAMES
# Lambda's CloudTrail eventNames carry the API version; code matches by the name before it.
LAMBDA_ACTIONS = (
    "UpdateFunctionConfiguration",
    "UpdateFunctionCode",
    "PutFunctionConcurrency",
    "DeleteFunctionConcurrency",
    "DeleteFunction",
    "RemovePermission",
    "AddPermission",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
    "DeleteFunctionEventInvokeConfig",
)
LAMBDA_NAMES = (
    "UpdateFunctionConfiguration20150331v2",
    "UpdateFunctionConfiguration20150331",
    "UpdateFunctionCode20150331v2",
    "UpdateFunctionCode20150331",
    "PutFunctionConcurrency20171031",
    "DeleteFunctionConcurrency20171031",
    "DeleteFunction20150331",
    "DeleteFunction",
    "RemovePermission20150331v2",
    "RemovePermission20150331",
    "AddPermission20150331v2",
    "AddPermission20150331",
    "PutFunctionEventInvokeConfig",
    "UpdateFunctionEventInvokeConfig",
    "DeleteFunctionEventInvokeConfig",
)
DEPLOY_NAMES = ("UpdateStack", "DeleteStack", "ExecuteChangeSet", "SetStackPolicy", "UpdateTerminationProtection")


@dataclass(frozen=True)
class Target:
    """One of our resources a call changed: what it is, why that matters, and the command that undoes it."""

    resource: Resource
    reason: str
    undo: str | None = None
    rule_to_enable: str | None = None  # a disabled rule of ours: the one change we undo ourselves
    event_bus: str | None = None  # the rule's bus when not the default one (the organization bus)


def _name(value: Any) -> str:
    """The last part of a name or ARN (`arn:...:function:NAME[:QUALIFIER]`, `arn:...:rule/NAME`)."""
    text = str(value or "")
    if ":function:" in text:
        return text.split(":function:", 1)[1].split(":", 1)[0]
    return text.rsplit("/", 1)[-1]


def lambda_action(event_name: str) -> str | None:
    """`UpdateFunctionConfiguration20150331v2` -> `UpdateFunctionConfiguration`; None for any other name."""
    for action in sorted(LAMBDA_ACTIONS, key=len, reverse=True):
        if event_name.startswith(action) and event_name[len(action) :][:1] in {"", "2"}:
            return action
    return None


def _resource(record: CloudTrailRecord, kind: str, name: str, arn: str | None = None) -> Resource:
    return Resource(kind, name, record.account, arn)


def _events_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    name = _name(record.params.get("name") or record.params.get("rule"))
    if not settings.is_own_rule(name):
        return None
    resource = _resource(record, "rule", name)
    if record.eventName == "DisableRule":
        bus = record.params.get("eventBusName")
        bus = bus if isinstance(bus, str) and bus.strip() and _name(bus) != "default" else None
        on_bus = f" --event-bus-name {bus}" if bus else ""
        return Target(
            resource,
            f"the remediator's EventBridge rule {name}{f' (bus {bus})' if bus else ''} was disabled: "
            "its events no longer reach us",
            f"aws events enable-rule --name {name}{on_bus}",
            rule_to_enable=name,
            event_bus=bus,
        )
    return Target(
        resource,
        f"the remediator's EventBridge rule {name} was changed ({record.eventName}): its events may no longer reach us",
        "redeploy the stack (sam deploy) to restore the rule and its targets",
    )


def _lambda_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    name = _name(record.params.get("functionName"))
    action = lambda_action(record.eventName)
    if action is None or name not in settings.own_functions:
        return None
    undo = {
        "PutFunctionConcurrency": f"aws lambda delete-function-concurrency --function-name {name}",
        "AddPermission": f"aws lambda remove-permission --function-name {name} --statement-id "
        f"{record.params.get('statementId', '<statement id>')}",
    }.get(action, "redeploy the stack (sam deploy) to restore the function")
    return Target(
        _resource(record, "function", name),
        f"the remediator's function {name} was changed ({action}): "
        "its code, settings or who may invoke it are no longer what was deployed",
        undo,
    )


def _role_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    params = record.params
    if record.eventName in ROLE_NAMES:
        name = str(params.get("roleName") or "")
        own = next((arn for arn in settings.own_role_arns if arn.rsplit("/", 1)[-1] == name), None)
        if own is None and settings.member_role and name == settings.member_role.rsplit("/", 1)[-1]:
            # organization mode: the member role the hub acts through, in whichever account holds it
            own = f"arn:{partition_of(record)}:iam::{record.account}:role{settings.member_role}"
        if own is None:
            return None
        return Target(
            _resource(record, "role", name, own),
            f"the remediator's role {name} was changed "
            f"({record.eventName}): what our functions may do is no longer what was deployed",
            "redeploy the stack (sam deploy) to restore the role",
        )
    if record.eventName in POLICY_NAMES and f":policy{OWN_PATH}" in str(params.get("policyArn") or ""):
        arn = str(params["policyArn"])
        return Target(
            _resource(record, "policy", _name(arn), arn),
            f"the remediator's managed policy {arn} was changed ({record.eventName})",
            "redeploy the stack (sam deploy) to restore the policy",
        )
    if record.eventName in {"CreateRole", "CreatePolicy"} and str(params.get("path") or "") == OWN_PATH:
        kind = "role" if record.eventName == "CreateRole" else "policy"
        name = str(params.get("roleName") or params.get("policyName") or "unknown")
        undo = (
            f"aws iam delete-role --role-name {name}"
            if kind == "role"
            else f"aws iam delete-policy --policy-arn arn:aws:iam::{record.account}:policy{OWN_PATH}{name}"
        )
        return Target(
            _resource(record, kind, name),
            f"a {kind} {name} was created under the remediator's own IAM "
            f"path {OWN_PATH}, where only the stack creates roles and policies",
            undo,
        )
    return None


def _topic_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    topic = str(record.params.get("topicArn") or "")
    if not topic and (subscription := str(record.params.get("subscriptionArn") or "")):
        topic = subscription.rsplit(":", 1)[0]
    if not settings.topic_arn or topic != settings.topic_arn:
        return None
    undo = (
        "aws sns subscribe --topic-arn {t} (re-subscribe the endpoint)"
        if record.eventName == "Unsubscribe"
        else "redeploy the stack (sam deploy) to restore the topic and its policy"
    ).format(t=topic)
    return Target(
        _resource(record, "topic", _name(topic).rsplit(":", 1)[-1], topic),
        f"the remediator's findings topic was changed ({record.eventName}): findings may no longer reach people",
        undo,
    )


def _queue_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    """A queue URL (`https://sqs.<region>.amazonaws.com/<account>/<name>`) of this account naming one of ours."""
    parts = str(record.params.get("queueUrl") or "").split("/")
    if len(parts) < 5 or parts[3] != record.account or parts[4] not in settings.own_queue_names:
        return None
    return Target(
        _resource(record, "queue", parts[4]),
        f"the remediator's dead-letter queue {parts[4]} was "
        f"changed ({record.eventName}): failed events may be lost unseen",
        "redeploy the stack (sam deploy) to restore the queue; purged messages cannot be restored",
    )


def _key_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    key = settings.own_key_arn
    given = str(record.params.get("keyId") or record.params.get("targetKeyId") or "")
    alias = str(record.params.get("aliasName") or "")
    if not key or not (given in {key, _name(key)} or alias.startswith("alias/compliance-remediator/")):
        return None
    undo = {
        "ScheduleKeyDeletion": f"aws kms cancel-key-deletion --key-id {key} && aws kms enable-key --key-id {key}",
        "DisableKey": f"aws kms enable-key --key-id {key}",
        "DisableKeyRotation": f"aws kms enable-key-rotation --key-id {key}",
    }.get(record.eventName, "redeploy the stack (sam deploy) to restore the key policy and alias")
    return Target(
        _resource(record, "key", _name(key), key),
        f"the remediator's key was changed ({record.eventName}):"
        " without it the topic, queues and tables cannot be read or written",
        undo,
    )


def _stack_target(record: CloudTrailRecord, settings: Settings) -> Target | None:
    stack = settings.own_stack_id
    given = str(record.params.get("stackName") or record.params.get("changeSetName") or "")
    if not stack or not given:
        return None
    name = stack.split(":stack/", 1)[-1].split("/", 1)[0]
    if (
        given not in {stack, name}
        and not given.startswith(f"{stack.rsplit('/', 1)[0]}/")
        and f":stack/{name}/" not in given
    ):
        return None
    return Target(
        _resource(record, "stack", name, stack),
        f"the remediator's stack {name} was changed ({record.eventName})",
        "redeploy the stack from its source (sam deploy)",
    )


_BY_SOURCE = {
    "events.amazonaws.com": _events_target,
    "lambda.amazonaws.com": _lambda_target,
    "iam.amazonaws.com": _role_target,
    "sns.amazonaws.com": _topic_target,
    "sqs.amazonaws.com": _queue_target,
    "kms.amazonaws.com": _key_target,
    CLOUDFORMATION: _stack_target,
}


def target_of(record: CloudTrailRecord, settings: Settings) -> Target | None:
    """The stack's own resource this call changes, or None."""
    reader = _BY_SOURCE.get(record.eventSource)
    return reader(record, settings) if reader else None
