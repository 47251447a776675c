"""The id of every rule, in catalog order; each names its module, `remediator/rules/<id>.py`.

A module of its own, importing nothing, so configuration can read each rule's mode variable without
importing the rule catalog (and the catalog can import configuration).
"""

RULE_IDS = (
    "access_keys",
    "console_mfa",
    "root_activity",
    "iam_user_sprawl",
    "role_trust",
    "admin_grants",
    "guardrail_tampering",
    "remediator_tampering",
    "other_credentials",
    "identity_center",
    "ec2_without_role",
    "s3_public",
    "open_security_group",
    "external_access",
)
