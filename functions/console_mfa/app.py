"""console_mfa: console access without MFA (rules/console_mfa.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("console_mfa")
