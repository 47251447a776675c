"""The rule catalog: find any rule by its id in `remediator/rules/<id>.py`."""

from __future__ import annotations

from remediator.rules import access_keys, admin_grants, console_mfa, iam_user_sprawl, role_trust, root_activity
from remediator.rules.base import RuleModule

RULES: dict[str, RuleModule] = {
    module.META.id: module
    for module in (access_keys, console_mfa, root_activity, iam_user_sprawl, role_trust, admin_grants)
}

# Which rules each Lambda function (functions/<name>/) runs. One concern, one function, one role.
FUNCTIONS: dict[str, tuple[str, ...]] = {
    "access_keys": ("access_keys",),
    "console_mfa": ("console_mfa",),
    "root_activity": ("root_activity",),
    "iam_user_sprawl": ("iam_user_sprawl",),
    "role_trust": ("role_trust",),
    "admin_grants": ("admin_grants",),
}


def rules_for(rule_ids: tuple[str, ...] | None = None) -> list[RuleModule]:
    """The rules a function (or the CLI, with None: all) runs, in catalog order."""
    return [rule for rule_id, rule in RULES.items() if rule_ids is None or rule_id in rule_ids]
