"""root_activity: any use of the root user (rule: layers/remediator/remediator/rules/root_activity.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("root_activity")
