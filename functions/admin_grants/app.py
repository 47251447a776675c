"""admin_grants: admin-equivalent or privilege-escalation permissions granted (rules/admin_grants.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("admin_grants")
