"""remediator_tampering: someone disables, blinds, widens or exempts themselves from the remediator.

An attacker who has read our source goes for us first: disable our EventBridge rules, point our
functions elsewhere, detach our roles' policies, unsubscribe the topic, purge the queues, schedule the
key's deletion, or tag themselves `remediator:exempt`. Any change to the stack's own rules, functions,
roles, topic, queues, key or stack by anyone but CloudFormation acting for the stack's deployers is a
finding; so is the exemption tag set or removed anywhere, a role or policy created under our IAM path,
and a session of one of our roles that is not our own function's. What is ours comes from the
environment the template sets (names and ARNs), never from anything the caller chooses. The one change
undone automatically is a disabled rule (re-enabled, then re-read); every other message carries the
command that undoes the change.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.config import EXEMPT_TAG
from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.own_resources import (
    CLOUDFORMATION,
    DEPLOY_NAMES,
    IAM_NAMES,
    LAMBDA_NAMES,
    OWN_PATH,
    Target,
    target_of,
)
from remediator.rules.base import EvalContext, RuleMeta, Trigger, keep_mode, resolves_nothing

CLOUDFORMATION_SERVICE = "cloudformation.amazonaws.com"

META = RuleMeta(
    id="remediator_tampering",
    title="Remediator disabled, changed or bypassed; exemption tag set",
    practice="Protect the detective and corrective controls: nobody disables or blinds them unseen",
    severity=Severity.CRITICAL,
    triggers=(
        Trigger(event_names=IAM_NAMES),
        Trigger(
            sources=("aws.events",),
            event_sources=("events.amazonaws.com",),
            hub_region_only=True,
            event_names=("DisableRule", "DeleteRule", "PutRule", "RemoveTargets", "PutTargets"),
        ),
        Trigger(
            sources=("aws.lambda",),
            event_sources=("lambda.amazonaws.com",),
            hub_region_only=True,
            event_names=LAMBDA_NAMES,
        ),
        Trigger(
            sources=("aws.sns",),
            event_sources=("sns.amazonaws.com",),
            hub_region_only=True,
            event_names=(
                "SetTopicAttributes",
                "DeleteTopic",
                "Subscribe",
                "Unsubscribe",
                "SetSubscriptionAttributes",
                "AddPermission",
                "RemovePermission",
                "PutDataProtectionPolicy",
            ),
        ),
        Trigger(
            sources=("aws.sqs",),
            event_sources=("sqs.amazonaws.com",),
            hub_region_only=True,
            event_names=("SetQueueAttributes", "PurgeQueue", "DeleteQueue", "AddPermission", "RemovePermission"),
        ),
        Trigger(
            sources=("aws.kms",),
            event_sources=("kms.amazonaws.com",),
            hub_region_only=True,
            event_names=(
                "DisableKey",
                "ScheduleKeyDeletion",
                "PutKeyPolicy",
                "DisableKeyRotation",
                "DeleteAlias",
                "UpdateAlias",
            ),
        ),
        Trigger(
            sources=("aws.cloudformation",),
            event_sources=(CLOUDFORMATION,),
            hub_region_only=True,
            event_names=DEPLOY_NAMES,
        ),
        # Any call made with one of our roles: only our own functions' sessions may use them.
        Trigger(sources=(), event_sources=(), issuer_wildcards=(f"arn:*:iam::*:role{OWN_PATH}*",)),
    ),
    resource_path="requestParameters (name, functionName, roleName, topicArn, queueUrl, keyId, stackName)",
    remediation="re-enable a disabled rule of the stack (then re-read it); anything else: notify with the "
    "command that undoes it",
    undo="aws events disable-rule --name {rule}",
    remediation_actions=("events:EnableRule", "events:DescribeRule"),
)

mode_for = keep_mode
resolve = resolves_nothing


def _tag_keys(record: CloudTrailRecord) -> list[str]:
    """The tag keys a call sets (`tags`) or removes (`tagKeys`); IAM writes them `key`/`Key`."""
    keys = [str(tag.get("key", tag.get("Key", ""))) for tag in record.params.get("tags") or [] if isinstance(tag, dict)]
    return keys + [str(key) for key in record.params.get("tagKeys") or [] if isinstance(key, str)]


_TAGGED = {
    "Role": ("roleName", "role", "role-name"),
    "User": ("userName", "user", "user-name"),
    "Policy": ("policyArn", "policy", "policy-arn"),
}


def _exempt_tag(record: CloudTrailRecord) -> Target | None:
    """The exemption tag set or removed: on whom, and the command that reverses it."""
    if not any(key.strip().lower() == EXEMPT_TAG for key in _tag_keys(record)):
        return None
    kind = next((k for k in _TAGGED if record.eventName.endswith(k)), "User")
    param, resource_kind, option = _TAGGED[kind]
    name = str(record.params.get(param) or "unknown")
    removed = record.eventName.startswith("Untag")
    lower = kind.lower()
    undo = (
        f"aws iam tag-{lower} --{option} {name} --tags Key={EXEMPT_TAG},Value=<the value it had>"
        if removed
        else f"aws iam untag-{lower} --{option} {name} --tag-keys {EXEMPT_TAG}"
    )
    reason = (
        f"the {EXEMPT_TAG} tag was {'removed from' if removed else 'set on'} {resource_kind} {name}: the tag "
        "exempts a principal from remediation, so setting it is how someone exempts themselves; confirm it was "
        "approved"
    )
    return Target(Resource(resource_kind, name.rsplit("/", 1)[-1], record.account), reason, undo)


def _foreign_session(record: CloudTrailRecord, context: EvalContext) -> str | None:
    """One of our roles used by a session that is not our own function's (Lambda names a function's session
    after the function). Our functions' own calls are held to their declared actions by their roles."""
    settings, identity = context.settings, record.identity
    if not (settings.is_own(identity.issuer_arn) or settings.is_own(identity.arn)):
        return None
    if settings.is_own_session(identity.arn, identity.issuer_arn):
        return None
    return (
        f"a session of the remediator's role that is not its function's ({identity.arn}) called "
        f"{record.eventName}: someone assumed our role or passed it to their own code"
    )


def _deployer(record: CloudTrailRecord, context: EvalContext) -> bool:
    identity = record.identity
    return bool({identity.arn, identity.issuer_arn} & context.settings.deployer_arns)


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    """A finding for any change to what is ours, the exemption tag anywhere, or a foreign use of our roles."""
    tag, foreign = _exempt_tag(record), _foreign_session(record, context)
    target = target_of(record, context.settings)
    severity = Severity.CRITICAL
    if target is not None and tag is None and foreign is None:
        by_cloudformation = record.identity.invokedBy == CLOUDFORMATION_SERVICE
        if _deployer(record, context) and (by_cloudformation or record.eventSource == CLOUDFORMATION):
            return None  # a deploy of the stack by its own deployers
        if record.eventSource == CLOUDFORMATION and record.eventName != "DeleteStack":
            severity = Severity.LOW  # deploying is how the stack changes: only who deployed is worth a note
        elif by_cloudformation and not context.settings.deployer_arns:
            severity = Severity.LOW  # CloudFormation with no deployer list to check it against (DeployerArns)
    found = [t for t in (target, tag) if t is not None]
    reasons = [t.reason for t in found] + ([foreign] if foreign else [])
    if not reasons:
        return None
    caller = record.identity
    reason = f"{caller.arn or caller.display_name} {record.eventName}: " + "; ".join(reasons) + "."
    if severity == Severity.LOW:
        reason += (
            " Reported as low: a deployment outside the DeployerArns principals (set that parameter to the"
            " principals and CloudFormation service role that deploy the stack)."
        )
    resource = (
        found[0].resource
        if found
        else Resource("principal", caller.display_name, record.account, caller.issuer_arn or caller.arn)
    )
    action = undo = None
    rule_name = target.rule_to_enable if target is not None and len(reasons) == 1 else None
    bus = target.event_bus if target is not None and rule_name else None
    if rule_name:
        on_bus = f" --event-bus-name {bus}" if bus else ""
        action = (
            f"re-enable the remediator's EventBridge rule {rule_name} "
            f"(aws events enable-rule --name {rule_name}{on_bus})"
        )
        undo = META.undo.format(rule=rule_name) + on_bus
    undos = [t.undo for t in found if t.undo and not rule_name]
    if undos:
        reason += " To undo: " + "; ".join(undos)
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=resource,
        action=action,
        undo=undo,
        details={"rule_name": rule_name, **({"event_bus": bus} if bus else {})},
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Enable the rule again, then read it back: a rule that stays disabled is a failure, said as such."""
    name = finding.details["rule_name"]
    on_bus = {"EventBusName": bus} if (bus := finding.details.get("event_bus")) else {}
    try:
        aws.events.enable_rule(Name=name, **on_bus)
        state = aws.events.describe_rule(Name=name, **on_bus).get("State")
    except ClientError as error:
        code = error_code(error)
        if code == "ResourceNotFoundException":
            return ActionResult(Outcome.FAILED, f"rule {name} no longer exists: redeploy the stack.", code)
        return ActionResult(Outcome.FAILED, f"could not re-enable rule {name}.", f"{code}: {error}")
    if state == "ENABLED":
        return ActionResult(Outcome.VERIFIED, f"rule {name} is enabled again (verified by re-reading).")
    return ActionResult(Outcome.FAILED, f"rule {name} still reads {state} after enabling it.")


__all__ = ["META", "Target", "evaluate", "mode_for", "remediate", "resolve"]
