"""role_trust: role trust policy lets outsiders assume the role (rules/role_trust.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("role_trust")
