"""The sweep's self-check: could anyone have blinded us since the last run?

Events reach us only while a trail logs management write events for us-east-1 (IAM's events arrive there
only), our EventBridge rules are enabled and still target our functions, and nothing waits in our dead-letter
queues. Each failure is a critical `Finding` (rule `coverage`, reported only: nothing here is changed), so it
takes the same path as every other finding: one message each, and a line in the sweep's summary. A read AWS
denies is a failure too: a check we cannot make is coverage we cannot vouch for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import AwsClients, error_code
from remediator.findings import Finding, Mode, Resource, Severity

RULE = "coverage"
IAM_EVENTS_REGION = "us-east-1"  # IAM is global: its CloudTrail events are delivered in us-east-1 only
ENABLED = frozenset({"ENABLED", "ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS"})


@dataclass(frozen=True)
class Watched:
    """Our own rules (name -> the function ARN it must target) and dead-letter queues (URLs). The template sets
    WATCHED_FUNCTIONS="<function>:<number of rules>,..." and STACK_NAME: the stack names its rules
    `<stack>-<function>-<n>`, its functions `<stack>-<function>` and its queues `<stack>-<function>-rule-dlq`
    and `-function-dlq`. WATCHED_RULES="name=arn,..." and WATCHED_QUEUES="url,..." name them outright."""

    rules: Mapping[str, str] = field(default_factory=dict)
    queues: tuple[str, ...] = ()

    @classmethod
    def from_env(
        cls, env: Mapping[str, str], *, region: str = "us-east-1", account: str = "", partition: str = "aws"
    ) -> Watched:
        pairs = (item.strip().split("=", 1) for item in env.get("WATCHED_RULES", "").split(",") if "=" in item)
        rules = {name.strip(): arn.strip() for name, arn in pairs}
        queues = [url.strip() for url in env.get("WATCHED_QUEUES", "").split(",") if url.strip()]
        stack = env.get("STACK_NAME", "").strip()
        if stack and account:
            function_arn = f"arn:{partition}:lambda:{region}:{account}:function:{stack}-"
            queue_url = f"https://sqs.{region}.amazonaws.com/{account}/{stack}-"
            for item in env.get("WATCHED_FUNCTIONS", "").split(","):
                name, _, count = item.strip().partition(":")
                if name and count.isdigit():
                    rules.update({f"{stack}-{name}-{n}": f"{function_arn}{name}" for n in range(1, int(count) + 1)})
                    queues += [f"{queue_url}{name}-rule-dlq", f"{queue_url}{name}-function-dlq"]
            queues += [f"{queue_url}sweep-function-dlq", f"{queue_url}sweep-schedule-dlq"]
        return cls(rules=rules, queues=tuple(queues))


def _finding(kind: str, name: str, account: str, reason: str, arn: str | None = None) -> Finding:
    return Finding(
        rule=RULE,
        severity=Severity.CRITICAL,
        reason=reason,
        resource=Resource(kind, name, account, arn),
        mode=Mode.NOTIFY,
        details={"check": RULE},
    )


def _logs_management_writes(trail: Mapping[str, Any], selectors: Mapping[str, Any]) -> bool:
    """Basic selectors: management events with All or WriteOnly. Advanced: a Management selector that does
    not limit itself to read-only calls. A trail without custom selectors logs every management event."""
    if not trail.get("HasCustomEventSelectors", True) and not (
        selectors.get("EventSelectors") or selectors.get("AdvancedEventSelectors")
    ):
        return True
    for selector in selectors.get("EventSelectors") or []:
        if selector.get("IncludeManagementEvents", True) and selector.get("ReadWriteType", "All") in {
            "All",
            "WriteOnly",
        }:
            return True
    for advanced in selectors.get("AdvancedEventSelectors") or []:
        fields = {f.get("Field"): f for f in advanced.get("FieldSelectors") or []}
        category = fields.get("eventCategory", {})
        read_only = fields.get("readOnly", {})
        if "Management" in (category.get("Equals") or []) and "true" not in (read_only.get("Equals") or []):
            return True
    return False


def trail_findings(cloudtrail: Any, account: str) -> list[Finding]:
    """One finding when no multi-region or us-east-1 trail is logging management write events; it names why
    each candidate trail does not count."""
    why: list[str] = []
    try:
        trails = cloudtrail.describe_trails(includeShadowTrails=True)["trailList"]
    except ClientError as error:
        return [
            _finding(
                "trail",
                "cloudtrail",
                account,
                f"could not list the trails ({error_code(error)}): we cannot tell whether IAM changes are logged.",
            )
        ]
    for trail in trails:
        name, arn = trail.get("Name", "?"), trail.get("TrailARN") or trail.get("Name", "")
        if not trail.get("IsMultiRegionTrail") and trail.get("HomeRegion") != IAM_EVENTS_REGION:
            continue
        try:
            if not cloudtrail.get_trail_status(Name=arn).get("IsLogging"):
                why.append(f"{name} is not logging")
                continue
            if _logs_management_writes(trail, cloudtrail.get_event_selectors(TrailName=arn)):
                return []
            why.append(f"{name} does not log management write events")
        except ClientError as error:
            why.append(f"{name} could not be read ({error_code(error)})")
    detail = "; ".join(why) or "there is no multi-region or us-east-1 trail"
    return [
        _finding(
            "trail",
            "cloudtrail",
            account,
            f"no CloudTrail trail logs management write events for "
            f"{IAM_EVENTS_REGION} ({detail}): IAM changes reach nobody, so none is reported or reverted.",
        )
    ]


def rule_findings(events: Any, rules: Mapping[str, str], account: str) -> list[Finding]:
    """A finding per rule of ours that is gone, disabled, or no longer targets its function."""
    found = []
    for name, function_arn in rules.items():
        try:
            rule = events.describe_rule(Name=name)
            targets = [t.get("Arn") for t in events.list_targets_by_rule(Rule=name).get("Targets", [])]
        except ClientError as error:
            code = error_code(error)
            what = "is gone" if code == "ResourceNotFoundException" else f"could not be read ({code})"
            found.append(
                _finding(
                    "event_rule",
                    name,
                    account,
                    f"our EventBridge rule {name} {what}: the events it matched reach nobody.",
                )
            )
            continue
        if rule.get("State") not in ENABLED:
            found.append(
                _finding(
                    "event_rule",
                    name,
                    account,
                    f"our EventBridge rule {name} is "
                    f"{rule.get('State', 'in an unknown state')}: the events it matches reach nobody.",
                    rule.get("Arn"),
                )
            )
        elif function_arn not in targets:
            found.append(
                _finding(
                    "event_rule",
                    name,
                    account,
                    f"our EventBridge rule {name} no longer targets "
                    f"{function_arn} (targets: {', '.join(map(str, targets)) or 'none'}).",
                    rule.get("Arn"),
                )
            )
    return found


def queue_findings(sqs: Any, queues: tuple[str, ...], account: str) -> list[Finding]:
    """A finding per dead-letter queue of ours that holds messages: events or runs that were never handled."""
    found = []
    for url in queues:
        name = url.rstrip("/").rsplit("/", 1)[-1]
        try:
            attributes = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"])
            waiting = int(attributes.get("Attributes", {}).get("ApproximateNumberOfMessages", "0"))
        except ClientError as error:
            found.append(
                _finding(
                    "queue",
                    name,
                    account,
                    f"our dead-letter queue {name} could not be read "
                    f"({error_code(error)}): failures may be piling up unseen.",
                )
            )
            continue
        if waiting:
            found.append(
                _finding(
                    "queue",
                    name,
                    account,
                    f"our dead-letter queue {name} holds {waiting} message(s): "
                    "events or runs that failed were never handled (fix the cause, then redrive).",
                )
            )
    return found


def coverage_findings(aws: AwsClients, watched: Watched, account: str) -> list[Finding]:
    """Every way we could be blind right now, as critical findings; none when all is well."""
    return [
        *trail_findings(aws.cloudtrail(), account),
        *rule_findings(aws.events, watched.rules, account),
        *queue_findings(aws.sqs, watched.queues, account),
    ]
