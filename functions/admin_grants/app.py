"""admin_grants: admin-equivalent or escalation grants (rule: layers/remediator/remediator/rules/admin_grants.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("admin_grants")
