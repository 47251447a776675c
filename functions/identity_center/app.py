"""identity_center: admin or escalation permissions granted through Identity Center (rules/identity_center.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("identity_center")
