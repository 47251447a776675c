"""Decide, then act: the one path every event takes, in Lambda, in the CLI and in the demo."""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

from remediator.events import CloudTrailRecord
from remediator.findings import ActionResult, Decision, Finding, Mode, Outcome
from remediator.rules import RULES, rules_for
from remediator.rules.base import EvalContext
from remediator.store import ACTION_BUDGET_PER_HOUR, over_budget, resource_key

if TYPE_CHECKING:
    from remediator.aws import AwsClients
    from remediator.store import Claim, FindingsStore

FAILED_CALL = "failed call"
OWN_ACTION = "own action"


@cache
def remediation_actions() -> frozenset[str]:
    """Every `service:Action` some rule's remediation declares: all our functions ever change. Read only when
    one of our functions' sessions is the caller, so a cold start does not import the whole catalog for it."""
    return frozenset(action for rule in RULES.values() for action in rule.META.remediation_actions)


def action_of(record: CloudTrailRecord) -> str:
    """The record's call as an IAM action: `iam.amazonaws.com` + `UpdateAccessKey` -> `iam:UpdateAccessKey`."""
    return f"{record.eventSource.split('.', 1)[0]}:{record.eventName}"


def is_own_action(record: CloudTrailRecord, context: EvalContext) -> bool:
    """Our remediation, not a change to judge: one of our functions, in its own role's session (named after the
    function), making a call some rule's remediation declares. Anything else done with our roles is judged."""
    identity = record.identity
    settings = context.settings
    return (
        settings.is_own_session(identity.arn, identity.issuer_arn)
        or settings.is_member_session(identity.arn, identity.issuer_arn)
    ) and action_of(record) in remediation_actions()


def decide(record: CloudTrailRecord, context: EvalContext, rule_ids: tuple[str, ...] | None = None) -> Decision:
    """Every finding the given rules (default: all) report for one record; nothing is changed here."""
    decision = Decision(event_id=record.eventID, event_name=record.eventName, account=record.account)
    rules = [rule for rule in rules_for(rule_ids) if rule.META.reacts_to(record)]
    # A rule may narrow which of those events close its finding (console_mfa: only the user's own enrolment).
    resolvers = [
        rule
        for rule in rules_for(rule_ids)
        if record.eventName in rule.META.resolved_by and getattr(rule, "resolves", lambda _: True)(record)
    ]
    if not rules and not resolvers:
        decision.skipped = f"no rule for {record.eventName}"
        return decision
    if record.failed:
        # A failure changes nothing, so it is no finding, except for rules whose signal is the attempt itself.
        rules, resolvers = [rule for rule in rules if rule.META.reports_failure(record)], []
        if not rules:
            decision.skipped = FAILED_CALL
            return decision
    elif is_own_action(record, context):
        decision.skipped = OWN_ACTION
        return decision
    decision.resolves = [rule.META.id for rule in resolvers]
    for rule in rules:
        mode = context.settings.mode_of(rule.META.id, rule.META.default_mode)
        if mode == Mode.OFF:
            continue
        finding = rule.evaluate(record, context)
        if finding is not None:
            # A rule may hold one kind of finding back to notify (admin_grants: escalation-only grants).
            finding.mode = rule.mode_for(finding, context.settings, mode)
            decision.findings.append(finding)
    return decision


def held_back(finding: Finding) -> ActionResult | None:
    """Why nothing will change for this finding whatever the budget says, or None when its remediation runs."""
    if finding.exempt:
        return ActionResult(Outcome.EXEMPT, f"nothing changed: {finding.exempt_reason}.")
    if finding.mode != Mode.REMEDIATE:
        would = f"would {finding.action}" if finding.action else "has no automatic remediation"
        return ActionResult(Outcome.NOTIFIED, f"nothing changed (notify mode); remediate mode {would}.")
    if (hours := finding.details.get("grace_hours")) and finding.action:
        # A warning first (console_mfa's grace period, the sweep's old keys): the scheduled sweep acts when it is over.
        return ActionResult(
            Outcome.SKIPPED,
            f"warned: {finding.resource.name} has {hours:g} h before anything "
            "changes; the scheduled sweep acts then if the finding still holds.",
        )
    if not finding.action:
        if not RULES[finding.rule].META.remediation_actions:  # a report-only rule (root_activity, iam_user_sprawl)
            return ActionResult(Outcome.NOTIFIED, f"reported only: {finding.rule} never changes anything.")
        return ActionResult(Outcome.SKIPPED, "nothing changed: no safe automatic remediation for this finding.")
    return None


def act(
    finding: Finding, aws: AwsClients, store: FindingsStore | None = None, claim: Claim | None = None
) -> ActionResult:
    """Remediate when the mode says so, it is safe, and the resource's action budget allows; otherwise say why
    nothing changed. The budget: the event's `claim` in the ledger (it counted the change), else the store."""
    held = held_back(finding)
    if held is not None:
        return held
    if claim is not None:
        contested: bool | None = claim.first_contested if claim.over_budget else None
    elif store is not None and over_budget(store, finding.resource, finding.rule):
        contested = store.claim_contested(resource_key(finding.resource), finding.rule)
    else:
        contested = None
    if contested is not None:
        return ActionResult(
            Outcome.SKIPPED,
            f"nothing changed: {finding.rule} already changed "
            f"{finding.resource.name} {ACTION_BUDGET_PER_HOUR} times in the past hour (a contested "
            "resource); notify only until a human looks.",
            contested=contested,
        )
    return RULES[finding.rule].remediate(finding, aws)
