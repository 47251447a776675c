"""access_keys: access key created or re-activated (rules/access_keys.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("access_keys")
