"""root_activity: any use of the root user, read-only calls, console sign-ins and failed attempts included.

Practice 1: the root user is locked away and never used day to day. Nothing is changed (only root
can change root's credentials); every use is a critical finding with where it came from. The deployed stack
sends one message per root session, not per call (remediator/root_sessions.py).
"""

from __future__ import annotations

from remediator.aws import AwsClients
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Outcome, Resource, Severity
from remediator.root_sessions import SESSION_WINDOW, session_of, thread_of
from remediator.rules.base import CONSOLE_SIGN_IN, EvalContext, RuleMeta, Trigger, keep_mode, resolves_nothing

META = RuleMeta(
    id="root_activity",
    title="The root user was used",
    practice="Lock away the root user: no daily use, no access keys, MFA on",
    severity=Severity.CRITICAL,
    triggers=(
        # Any service and region; the template enables the rule for read-only management events too.
        # Failed calls and sign-ins too: a failure means someone holds, or is guessing, root's credentials.
        Trigger(sources=(), event_sources=(), identity_types=("Root",), include_failed_calls=True),
        Trigger(
            sources=("aws.signin",),
            event_sources=("signin.amazonaws.com",),
            detail_types=(CONSOLE_SIGN_IN,),
            identity_types=("Root",),
            include_failed_calls=True,
        ),
    ),
    resource_path="userIdentity.arn",
    remediation="none: notify only (only root itself can change root's credentials)",
    undo="nothing is changed",
    references=("CIS AWS Foundations Benchmark 1.7 / 4.3: eliminate use of the root user",),
)

mode_for = keep_mode
resolve = resolves_nothing


# `invokedBy` values that still mean a person at the keyboard with root's session (console calls).
_CONSOLE_ORIGINS = frozenset({"signin.amazonaws.com", "console.amazonaws.com", "AWS Console"})


def _on_behalf_of_root(record: CloudTrailRecord) -> bool:
    """A service acting for root (`invokedBy` e.g. autoscaling.amazonaws.com) or an AWS service event is not
    a person using root's credentials: CIS's root-usage filter excludes both, and the root call that set the
    service up was itself reported. Calls made through the console (invokedBy sign-in) are root's own."""
    invoked_by = record.identity.invokedBy
    return bool(invoked_by and invoked_by not in _CONSOLE_ORIGINS) or record.eventType == "AwsServiceEvent"


def _what(record: CloudTrailRecord) -> str:
    if record.eventName == "ConsoleLogin":
        if record.failed:
            return "failed to sign in to the console"
        mfa = (record.additionalEventData or {}).get("MFAUsed")
        return f"signed in to the console (MFA used: {mfa})" if isinstance(mfa, str) else "signed in to the console"
    region = f" in {record.awsRegion}" if record.awsRegion else ""
    if record.failed:
        failure = record.errorCode or record.response.get(record.eventName)
        return f"tried {record.eventName} on {record.eventSource}{region}, which failed ({failure})"
    return f"called {record.eventName} on {record.eventSource}{region}"


def _why(record: CloudTrailRecord) -> str:
    if record.failed:
        return "someone holds, or is guessing, root's credentials: confirm who did this and change them if unsure."
    return "root should be locked away, so confirm who did this and why."


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if _on_behalf_of_root(record):
        return None
    caller = record.identity
    account = record.account
    exemption = exemption_for(context, record, "root", None, caller.arn, rule=META.id)
    source = record.sourceIPAddress or "an unknown address"
    agent = record.userAgent or "no user agent"
    reason = f"The root user of account {account or 'unknown'} {_what(record)} from {source} ({agent}); {_why(record)}"
    session = session_of(record)
    if session:
        hours = int(SESSION_WINDOW.total_seconds() // 3600)
        reason += f" Later calls of this session within {hours} h are recorded without a message of their own."
    reason = exemption.explained(reason)
    return Finding(
        rule=META.id,
        severity=Severity.HIGH if record.failed else Severity.CRITICAL,
        reason=reason,
        resource=Resource("root", "root", account, caller.arn),
        action=None,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        details={
            "source_ip": record.sourceIPAddress,
            "user_agent": record.userAgent,
            "called": f"{record.eventSource}:{record.eventName}",
            "region": record.awsRegion,
            "session": session,
            "thread": thread_of(record),
        },
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """Never called with an action (notify only); kept for the rule contract."""
    return ActionResult(Outcome.SKIPPED, "nothing changed: root activity is reported, never remediated.")
