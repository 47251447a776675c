"""Organization mode: the scheduled sweep of every member account, a few at a time, with one summary.

Each active account of the organization (but the hub's, swept as before) is swept through its member role,
at most WORKERS at once (IAM throttles per account, our function's time is shared). Per-finding messages are
the sweep's own; the per-account summaries give way to one organization summary: accounts swept, findings
and actions in total, the accounts we could not act in (each also gets the one "cannot act" message per hour)
and those left for the next run when the function's time ran short.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from remediator.accounts import (
    MEMBER_DENY_POLICY,
    MemberRole,
    Target,
    Unreachable,
    account_modes,
    hub_account,
    member_clients,
)
from remediator.sweep.run import SELF_CHECK_SECONDS, run_sweep
from remediator.sweep.summary import SweepReport

if TYPE_CHECKING:
    from remediator.aws import AwsClients
    from remediator.config import Settings
    from remediator.store import FindingsStore

WORKERS = 8


@dataclass
class OrganizationSweep:
    """What the member sweep did, per account."""

    swept: dict[str, SweepReport] = field(default_factory=dict)
    unreachable: dict[str, str] = field(default_factory=dict)
    left: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        findings: dict[str, int] = {}
        actions: dict[str, int] = {}
        for report in self.swept.values():
            data = report.as_dict()
            for key, count in data["findings"].items():
                findings[key] = findings.get(key, 0) + count
            for key, count in data["actions"].items():
                actions[key] = actions.get(key, 0) + count
        return {
            "accounts": len(self.swept),
            "findings": findings,
            "actions": actions,
            "unreachable": dict(sorted(self.unreachable.items())),
            "left": sorted(self.left),
        }


def member_accounts(hub: AwsClients) -> list[str]:
    """The organization's active accounts (organizations:ListAccounts, from the management or a delegated
    administrator account)."""
    paginator = hub.client("organizations").get_paginator("list_accounts")
    return [a["Id"] for page in paginator.paginate() for a in page["Accounts"] if a.get("Status") == "ACTIVE"]


def sweep_members(
    hub: AwsClients,
    settings: Settings,
    *,
    store: FindingsStore | None = None,
    remaining_seconds: Callable[[], float] = lambda: float("inf"),
    accounts: list[str] | None = None,
    workers: int = WORKERS,
) -> OrganizationSweep:
    """Sweep every member account through its member role; one organization summary on the topic."""
    role = MemberRole.from_env()
    result = OrganizationSweep()
    if role is None:
        return result
    partition, own = hub_account(settings, hub)
    members = [a for a in (accounts if accounts is not None else member_accounts(hub)) if a != own]
    sns, _ = hub.sns, hub.sts  # made before the threads: a session's client creation is not thread-safe
    session = f"sweep-{datetime.now(UTC):%Y%m%dT%H%M}"

    def one(account: str) -> None:
        if remaining_seconds() < 2 * SELF_CHECK_SECONDS:
            result.left.append(account)
            return
        role_arn = role.arn(partition, account)
        modes = account_modes(hub, account)
        local = replace(
            settings,
            modes={**settings.modes, **modes},
            deny_without_mfa_policy_arn=f"arn:{partition}:iam::{account}:policy{role.path}{MEMBER_DENY_POLICY}",
        )
        try:
            clients = member_clients(hub, role_arn, session)
        except Unreachable as error:
            result.unreachable[account] = str(error)
            Target(hub, hub, local, account, member=True, unreachable=str(error), role_arn=role_arn).alert(
                store, str(error)
            )
            return
        clients.sns = sns  # findings go to the hub's topic
        result.swept[account] = run_sweep(
            clients, local, store=store, remaining_seconds=remaining_seconds, publish_summary=False
        )

    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        list(pool.map(one, members))
    if settings.topic_arn:
        sns.publish(**organization_summary(settings.topic_arn, result))
    return result


def organization_summary(topic_arn: str, result: OrganizationSweep) -> dict[str, Any]:
    """The one summary of the member sweep."""
    data = result.as_dict()
    partial = f", PARTIAL: {len(result.left)} accounts left" if result.left else ""
    worst = "critical" if result.unreachable else "low"
    subject = f"[{worst.upper()}] organization sweep: {data['accounts']} accounts{partial}"[:100]
    lines = [
        f"Credential report sweep of {data['accounts']} member accounts.",
        "Findings per check: " + (", ".join(f"{k} {v}" for k, v in sorted(data["findings"].items())) or "none"),
        "Actions: " + (", ".join(f"{k} {v}" for k, v in sorted(data["actions"].items())) or "none"),
    ]
    if result.unreachable:
        lines += ["", "CANNOT ACT in these accounts (deploy or repair member.yaml there):"]
        lines += [f"  {account}: {why}" for account, why in data["unreachable"].items()]
    if result.left:
        lines += ["", f"Left for the next sweep (the function's time ran short): {', '.join(data['left'])}"]
    text = "\n".join(lines)
    attributes = {"severity": worst, "rule": "sweep", "account": "organization", "action": "summary"}
    return {
        "TopicArn": topic_arn,
        "Subject": subject,
        "MessageStructure": "json",
        "Message": json.dumps(
            {"default": text, "email": text, "sqs": json.dumps({"rule": "sweep", **data, "text": text})}
        ),
        "MessageAttributes": {k: {"DataType": "String", "StringValue": v} for k, v in attributes.items()},
    }
