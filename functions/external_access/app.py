"""external_access: resource shared with everyone or with an untrusted account (rules/external_access.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("external_access")
