"""console_mfa: console passwords without MFA (rule: layers/remediator/remediator/rules/console_mfa.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("console_mfa")
