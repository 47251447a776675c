"""Instance steps: require IMDSv2, attach the stack's baseline instance profile, and re-read both.

IMDSv2 goes first, so an instance never holds a role while a token-less request can read it. The profile is
attached only where the instance has none; the message names each association, which is what undoes it.
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ClientError

from remediator.aws import THROTTLED, error_code
from remediator.findings import ActionResult, Outcome

GONE = frozenset({"InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"})


def _describe(ec2: Any, ids: list[str]) -> dict[str, dict[str, Any]]:
    pages = ec2.get_paginator("describe_instances").paginate(InstanceIds=ids)
    return {i["InstanceId"]: i for page in pages for r in page["Reservations"] for i in r["Instances"]}


def _profile_name(instance: dict[str, Any]) -> str | None:
    arn = (instance.get("IamInstanceProfile") or {}).get("Arn")
    return str(arn).rsplit("/", 1)[-1] if arn else None


def require_imdsv2_and_attach(
    ec2: Any, require: list[str], attach: list[str], profile: str | None, region: str | None = None
) -> ActionResult:
    """ModifyInstanceMetadataOptions (HttpTokens required) on `require`, AssociateIamInstanceProfile of `profile`
    on `attach`, then one DescribeInstances to verify. Throttling raises (Lambda retries)."""
    if attach and not profile:
        return ActionResult(
            Outcome.SKIPPED,
            "nothing changed: no baseline instance profile is configured (EC2_BASELINE_INSTANCE_PROFILE).",
        )
    associations: dict[str, str] = {}
    try:
        for instance in require:
            ec2.modify_instance_metadata_options(InstanceId=instance, HttpTokens="required", HttpEndpoint="enabled")
        for instance in attach:
            try:
                answer = ec2.associate_iam_instance_profile(InstanceId=instance, IamInstanceProfile={"Name": profile})
            except ClientError as error:
                if error_code(error) != "IncorrectState":  # IncorrectState: it got a profile meanwhile (re-read)
                    raise
            else:
                associations[instance] = answer["IamInstanceProfileAssociation"]["AssociationId"]
        found = _describe(ec2, list(dict.fromkeys(require + attach)))
    except ClientError as error:
        code = error_code(error)
        if code in THROTTLED:
            raise
        if code in GONE:
            return ActionResult(Outcome.SKIPPED, "nothing left to change: the instance no longer exists.", code)
        return ActionResult(Outcome.FAILED, "could not require IMDSv2 or attach the profile.", f"{code}: {error}")
    return _verified(found, require, attach, profile, associations, f" --region {region}" if region else "")


def _verified(
    found: dict[str, dict[str, Any]],
    require: list[str],
    attach: list[str],
    profile: str | None,
    associations: dict[str, str],
    region: str,
) -> ActionResult:
    wrong = [i for i in require if (found.get(i, {}).get("MetadataOptions") or {}).get("HttpTokens") != "required"]
    roleless = [i for i in attach if not _profile_name(found.get(i, {}))]
    if wrong or roleless:
        problems = [f"IMDSv1 still on for {', '.join(wrong)}"] * bool(wrong) + [
            f"still no profile on {', '.join(roleless)}"
        ] * bool(roleless)
        return ActionResult(Outcome.FAILED, f"re-read after the change: {'; '.join(problems)}.")
    done = [f"IMDSv2 required on {', '.join(require)}"] if require else []
    if attach:
        other = {i: _profile_name(found[i]) for i in attach if _profile_name(found[i]) != profile}
        done.append(f"instance profile {profile} attached to {', '.join(sorted(associations))}" if associations else "")
        done += [f"{i} already had profile {name} (left alone)" for i, name in other.items()]
    undo = [f"aws ec2 disassociate-iam-instance-profile --association-id {a}{region}" for a in associations.values()]
    undo += [
        f"aws ec2 modify-instance-metadata-options --instance-id {i} --http-tokens optional{region}" for i in require
    ]
    text = "; ".join(part for part in done if part)
    return ActionResult(Outcome.VERIFIED, f"{text} (verified by re-reading). Undo: {' && '.join(undo)}.")
