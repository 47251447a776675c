"""ec2_without_role: an instance without a role gets long-lived keys copied onto it; IMDSv1 hands its role away.

Practice 4, use roles for EC2. Reported: `RunInstances` of instances without an instance profile (in the
request, the response, or, for launches from a launch template, a fleet or Auto Scaling, on the instance as
DescribeInstances shows it), `DisassociateIamInstanceProfile`, and IMDSv1 left enabled (`httpTokens`
`optional` in the launch's response or request, or set by `ModifyInstanceMetadataOptions`). Severity: medium;
high for IMDSv1 on an instance that has a role, because one server-side request forgery in any program on it
then reads the role's credentials without a token. Remediate requires IMDSv2 first and then attaches the
stack's baseline instance profile (a role that may only talk to Systems Manager), so an instance never gets a
role while IMDSv1 is on; both are re-read to verify. The function may pass that one role, to EC2 only
(`iam:PassedToService`).

The launch's response states each instance's profile and `httpTokens` as EC2 resolved them (request, launch
template, the account's IMDS default); an older record without them is judged by the request, where only an
explicit `optional` counts. A launch template or fleet without a profile in the event: the instance is read
(DescribeInstances, once more after two seconds if it still shows none); in the dry run it is assumed to have
none, and the reason says so; a read AWS refuses is a low finding, never acted on. IMDSv1 turned on for an
instance is high in the dry run (it is assumed to have a role).
"""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from remediator.aws import AwsClients
from remediator.events import CloudTrailRecord
from remediator.exemptions import exemption_for
from remediator.findings import ActionResult, Finding, Resource, Severity
from remediator.remediate.instances import require_imdsv2_and_attach
from remediator.rules.base import EvalContext, RuleMeta, Trigger, keep_mode, partition_of, resolves_nothing
from remediator.state import StateUnreadable

RUN = "RunInstances"
DISASSOCIATE = "DisassociateIamInstanceProfile"
MODIFY_METADATA = "ModifyInstanceMetadataOptions"

META = RuleMeta(
    id="ec2_without_role",
    title="EC2 instance without a role, or with IMDSv1",
    practice="Use roles for EC2: no keys on instances, and instance credentials only through IMDSv2",
    severity=Severity.MEDIUM,
    triggers=(
        Trigger(
            sources=("aws.ec2",),
            event_sources=("ec2.amazonaws.com",),
            event_names=(RUN, DISASSOCIATE, MODIFY_METADATA),
        ),
    ),
    resource_path="responseElements.instancesSet.items[].instanceId || "
    "requestParameters.ModifyInstanceMetadataOptionsRequest.InstanceId",
    remediation="require IMDSv2, then attach the stack's baseline instance profile (Systems Manager only) to an "
    "instance that has none",
    undo="aws ec2 disassociate-iam-instance-profile --association-id {association} / aws ec2 "
    "modify-instance-metadata-options --instance-id {instance} --http-tokens optional",
    remediation_actions=(
        "ec2:AssociateIamInstanceProfile",
        "ec2:DescribeInstances",
        "ec2:ModifyInstanceMetadataOptions",
        "iam:PassRole",
    ),
    state_actions=("ec2:DescribeInstances",),
    references=(
        "https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/iam-roles-for-amazon-ec2.html",
        "https://docs.aws.amazon.com/securityhub/latest/userguide/ec2-controls.html#ec2-8",
    ),
)

mode_for = keep_mode
resolve = resolves_nothing

INSTANCE_ID = re.compile(r"i-[0-9a-f]{8,17}")
PROFILE_ARN = re.compile(r"arn:aws[a-z-]*:iam::\d{12}:instance-profile/[A-Za-z0-9+=,.@_/-]{1,512}")
REGION = re.compile(r"[a-z]{2}(-[a-z]+)+-\d{1,2}")
# One launch may start hundreds of instances: judge and change at most this many per event (the rest is named).
MAX_INSTANCES = 25
# A launch template's profile shows on the instance as soon as EC2 answers; one more look after this pause covers a
# read that races the launch. Bounded: at most two DescribeInstances per event.
SETTLE_SECONDS = 2.0
# Who launches from launch templates or fleets on someone's behalf.
LAUNCHERS = frozenset({"autoscaling.amazonaws.com", "ec2fleet.amazonaws.com", "spotfleet.amazonaws.com"})
BASELINE = "the stack's baseline instance profile"


def _get(mapping: Any, key: str) -> Any:
    """A field by name in any case (CloudTrail writes EC2's newer calls in PascalCase, older ones in camelCase)."""
    if not isinstance(mapping, dict):
        return None
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    return next((value for name, value in mapping.items() if str(name).lower() == lowered), None)


def _items(value: Any) -> list[Any]:
    items = _get(value, "items") if isinstance(value, dict) else value
    return items if isinstance(items, list) else []


def _tokens(options: Any) -> str | None:
    tokens = _get(options, "httpTokens")
    return tokens.lower() if isinstance(tokens, str) else None


@dataclass
class Instance:
    """What the event (or a read) says about one instance."""

    id: str | None
    has_role: bool | None  # None: not known from the event
    tokens: str | None = None  # "optional" (IMDSv1 on), "required", or None: not known


@dataclass
class Verdict:
    """The instances one event left without a role or with IMDSv1, before exemptions."""

    instances: list[Instance]
    notes: list[str] = field(default_factory=list)
    unreadable: str | None = None
    assumed_role: bool = False  # dry run: the instance is assumed to have a role (ModifyInstanceMetadataOptions)

    @property
    def without_role(self) -> list[Instance]:
        return [i for i in self.instances if i.has_role is False]

    @property
    def imdsv1(self) -> list[Instance]:
        return [i for i in self.instances if i.tokens == "optional"]


def _region(record: CloudTrailRecord) -> str | None:
    return record.awsRegion if record.awsRegion and REGION.fullmatch(record.awsRegion) else None


def _launched_from_template(record: CloudTrailRecord) -> bool:
    params = record.params
    return (
        _get(params, "launchTemplate") is not None
        or record.identity.invokedBy in LAUNCHERS
        or str(_get(params, "clientToken") or "").startswith("fleet-")
    )


def _read_instances(record: CloudTrailRecord, context: EvalContext, ids: list[str]) -> dict[str, dict[str, Any]]:
    """DescribeInstances for `ids`, once more after SETTLE_SECONDS when one still shows no profile."""
    found = {str(i.get("InstanceId")): i for i in context.state.instances(_region(record), ids)}
    if any(not found.get(i, {}).get("IamInstanceProfile") for i in ids) and SETTLE_SECONDS:
        time.sleep(SETTLE_SECONDS)
        found = {str(i.get("InstanceId")): i for i in context.state.instances(_region(record), ids)}
    return found


def _run_instances(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    params = record.params
    asked_role = bool(_get(params, "iamInstanceProfile"))
    asked_tokens = _tokens(_get(params, "metadataOptions"))
    items = [i for i in _items(_get(record.response, "instancesSet")) if isinstance(i, dict)]
    instances = []
    for item in items:
        raw_id = _get(item, "instanceId")
        tokens = _tokens(_get(item, "metadataOptions")) or asked_tokens
        has_role = asked_role or bool(_get(item, "iamInstanceProfile"))
        instances.append(
            Instance(raw_id if isinstance(raw_id, str) and INSTANCE_ID.fullmatch(raw_id) else None, has_role, tokens)
        )
    if not items:  # the response is missing (truncated or redacted): the request alone speaks
        instances = [Instance(None, asked_role, asked_tokens)]
    verdict = Verdict(instances)
    if len(instances) > MAX_INSTANCES:
        verdict.notes.append(f"{len(instances)} instances were launched; the first {MAX_INSTANCES} are judged.")
        verdict.instances = instances[:MAX_INSTANCES]
    unknown = [i for i in verdict.without_role]
    if not unknown or not _launched_from_template(record):
        return verdict
    # A launch template (or the fleet's) may carry the profile: only the instance itself says.
    if context.assumed:
        verdict.notes.append(
            "State assumed (dry run): the launch template's instance profile was not read; assumed none."
        )
        return verdict
    ids = [i.id for i in unknown if i.id]
    if not ids:
        verdict.unreadable = "the launched instances (the event names none)"
        return verdict
    try:
        found = _read_instances(record, context, ids)
    except StateUnreadable as error:
        verdict.unreadable = str(error)
        return verdict
    for instance in unknown:
        described = found.get(instance.id or "", {})
        instance.has_role = bool(described.get("IamInstanceProfile"))
        instance.tokens = _tokens(described.get("MetadataOptions")) or instance.tokens
    return verdict


def _association(record: CloudTrailRecord) -> dict[str, Any]:
    response = _get(record.response, "DisassociateIamInstanceProfileResponse") or record.response
    association = _get(response, "iamInstanceProfileAssociation")
    return association if isinstance(association, dict) else {}


def _disassociate(record: CloudTrailRecord, context: EvalContext) -> Verdict:
    association = _association(record)
    raw_id = _get(association, "instanceId")
    instance_id = raw_id if isinstance(raw_id, str) and INSTANCE_ID.fullmatch(raw_id) else None
    verdict = Verdict([Instance(instance_id, False)])
    profile = _get(_get(association, "iamInstanceProfile"), "arn")
    if isinstance(profile, str) and PROFILE_ARN.fullmatch(profile):
        verdict.notes.append(
            f"It had {profile}: aws ec2 associate-iam-instance-profile --instance-id {instance_id or '<instance>'} "
            f"--iam-instance-profile Arn={profile} puts it back."
        )
    return verdict


def _modify_metadata(record: CloudTrailRecord, context: EvalContext) -> Verdict | None:
    request = _get(record.params, "ModifyInstanceMetadataOptionsRequest") or record.params
    if _tokens(request) != "optional":
        return None
    raw_id = _get(request, "InstanceId")
    instance = Instance(raw_id if isinstance(raw_id, str) and INSTANCE_ID.fullmatch(raw_id) else None, None, "optional")
    verdict = Verdict([instance])
    if context.assumed:
        instance.has_role = True
        verdict.assumed_role = True
        verdict.notes.append("State assumed (dry run): the instance has a role.")
    elif instance.id:
        try:
            found = context.state.instances(_region(record), [instance.id])
        except StateUnreadable as error:
            verdict.notes.append(f"Whether it has a role is unknown: could not read {error}.")
        else:
            instance.has_role = any(bool(i.get("IamInstanceProfile")) for i in found)
    return verdict


def _ids(instances: list[Instance]) -> list[str]:
    return [i.id for i in instances if i.id]


def _shown(instances: list[Instance]) -> str:
    ids = _ids(instances)
    return ", ".join(ids) if ids else "(instance not named in the event)"


def _what(record: CloudTrailRecord, verdict: Verdict) -> str:
    parts = []
    if verdict.without_role:
        shown = _shown(verdict.without_role)
        what = (
            f"removed the instance profile of {shown}"
            if record.eventName == DISASSOCIATE
            else (f"launched {shown} without an instance profile")
        )
        parts.append(f"{what} (no role: programs on it need keys, which end up copied onto the instance)")
    if verdict.imdsv1:
        with_role = [i for i in verdict.imdsv1 if i.has_role]
        verb = "turned IMDSv1 back on for" if record.eventName == MODIFY_METADATA else "left IMDSv1 enabled on"
        risk = (
            "anyone who makes a program on it fetch a URL reads its role's credentials"
            if with_role
            else "any role it gets later can be read without a token"
        )
        parts.append(f"{verb} {_shown(verdict.imdsv1)} (httpTokens optional: {risk})")
    return "; ".join(parts)


def _action(verdict: Verdict, profile: str | None) -> str | None:
    targets = _ids(verdict.without_role + verdict.imdsv1)
    if not targets:
        return None
    action = f"require IMDSv2 on {', '.join(dict.fromkeys(targets))}"
    if attach := _ids(verdict.without_role):
        action += f", then attach {f'instance profile {profile}' if profile else BASELINE} to {', '.join(attach)}"
    return action


def evaluate(record: CloudTrailRecord, context: EvalContext) -> Finding | None:
    if record.eventName == RUN:
        verdict: Verdict | None = _run_instances(record, context)
    elif record.eventName == DISASSOCIATE:
        verdict = _disassociate(record, context)
    else:
        verdict = _modify_metadata(record, context)
    if verdict is None:
        return None
    caller = record.identity
    region = _region(record)
    if verdict.unreadable:
        severity = Severity.LOW
        what = f"launched {_shown(verdict.instances)} from a launch template or fleet without a profile in the event"
        reason = (
            f"{caller.display_name} {what}; could not read {verdict.unreadable}, so whether it has a role is unknown."
        )
        action = None
    else:
        if not verdict.without_role and not verdict.imdsv1:
            return None
        severity = Severity.HIGH if any(i.has_role for i in verdict.imdsv1) else Severity.MEDIUM
        where = f" in {region}" if region else ""
        reason = f"{caller.display_name}{where} {_what(record, verdict)}."
        action = _action(verdict, context.settings.ec2_baseline_instance_profile)
        if action is None:
            reason += " The event does not name the instance, so nothing can be changed."
    if verdict.notes:
        reason += " " + " ".join(verdict.notes)
    first = next(iter(_ids(verdict.instances)), None)
    arn = f"arn:{partition_of(record)}:ec2:{region}:{record.account}:instance/{first}" if first and region else None
    exemption = exemption_for(context, record, "instance", first, arn, rule=META.id)
    reason, action = exemption.applied_to(reason, action)
    require = list(dict.fromkeys(_ids(verdict.without_role + verdict.imdsv1)))
    return Finding(
        rule=META.id,
        severity=severity,
        reason=reason,
        resource=Resource("instance", first or "unknown", record.account, arn),
        action=action,
        exempt=exemption.exempt,
        exempt_reason=exemption.reason,
        undo=META.undo.format(association="<association id in the message>", instance=first) if action else None,
        details={
            "region": region,
            "require_imdsv2": require,
            "attach": _ids(verdict.without_role),
            "profile": context.settings.ec2_baseline_instance_profile,
        },
    )


def remediate(finding: Finding, aws: AwsClients) -> ActionResult:
    """IMDSv2 required on every instance of the finding, then the baseline profile on those without one; re-read."""
    details = finding.details
    region = details.get("region")
    return require_imdsv2_and_attach(
        aws.regional("ec2", region), details["require_imdsv2"], details["attach"], details.get("profile"), region
    )
