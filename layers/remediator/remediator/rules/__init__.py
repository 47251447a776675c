"""The rule catalog: find any rule by its id in `remediator/rules/<id>.py`."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from remediator.rule_ids import RULE_IDS
from remediator.rules.base import RuleModule


class RuleCatalog(Mapping[str, RuleModule]):
    """Rule modules by id, imported on first use: a function's cold start pays only for its own rules."""

    def __getitem__(self, rule_id: str) -> RuleModule:
        if rule_id not in RULE_IDS:
            raise KeyError(rule_id)
        name = f"remediator.rules.{rule_id}"
        # Every decision looks rules up: sys.modules first, import machinery only the first time.
        module = sys.modules.get(name) or importlib.import_module(name)
        return module  # checked against RuleModule below

    def __iter__(self) -> Iterator[str]:
        return iter(RULE_IDS)

    def __len__(self) -> int:
        return len(RULE_IDS)


RULES = RuleCatalog()

if TYPE_CHECKING:  # mypy checks every rule module against the contract: META, evaluate, remediate and the hooks
    from remediator.rules import (
        access_keys,
        admin_grants,
        console_mfa,
        ec2_without_role,
        external_access,
        guardrail_tampering,
        iam_user_sprawl,
        identity_center,
        open_security_group,
        other_credentials,
        remediator_tampering,
        role_trust,
        root_activity,
        s3_public,
    )

    CHECKED: tuple[RuleModule, ...] = (
        access_keys,
        console_mfa,
        root_activity,
        iam_user_sprawl,
        role_trust,
        admin_grants,
        guardrail_tampering,
        remediator_tampering,
        other_credentials,
        identity_center,
        ec2_without_role,
        s3_public,
        open_security_group,
        external_access,
    )

# Which rules each Lambda function (functions/<name>/) runs. One concern, one function, one role.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "access_keys": ("access_keys",),
    "console_mfa": ("console_mfa",),
    "root_activity": ("root_activity",),
    "iam_user_sprawl": ("iam_user_sprawl",),
    "role_trust": ("role_trust",),
    "admin_grants": ("admin_grants",),
    "guardrail_tampering": ("guardrail_tampering",),
    # Its own function and role: events that change our functions or roles may arrive while the others are impaired.
    "remediator_tampering": ("remediator_tampering",),
    "other_credentials": ("other_credentials",),
    "identity_center": ("identity_center",),
    "ec2_without_role": ("ec2_without_role",),
    "s3_public": ("s3_public",),
    "open_security_group": ("open_security_group",),
    "external_access": ("external_access",),
}


def rules_for(rule_ids: tuple[str, ...] | None = None) -> list[RuleModule]:
    """The rules a function (or the CLI, with None: all) runs, in catalog order."""
    return [RULES[rule_id] for rule_id in RULE_IDS if rule_ids is None or rule_id in rule_ids]
