"""role_trust: who may assume a role (rule: layers/remediator/remediator/rules/role_trust.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("role_trust")
