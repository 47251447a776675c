"""Pure IAM policy analysis, no AWS calls: admin/escalation in identity policies, breadth of trust."""

from .document import PolicyParseError, as_list, load_policy_document
from .identity import IdentityVerdict, analyse_identity_policy
from .providers import IDENTITY_PROVIDERS, IdentityProvider
from .trust import (
    TrustIssue,
    TrustVerdict,
    analyse_resource_policy,
    analyse_trust_policy,
    statements_trusting,
    strip_statements,
)

__all__ = [
    "IDENTITY_PROVIDERS",
    "IdentityProvider",
    "IdentityVerdict",
    "PolicyParseError",
    "TrustIssue",
    "TrustVerdict",
    "analyse_identity_policy",
    "analyse_resource_policy",
    "analyse_trust_policy",
    "as_list",
    "load_policy_document",
    "statements_trusting",
    "strip_statements",
]
