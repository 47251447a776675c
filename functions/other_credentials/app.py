"""other_credentials: other long-lived or outside credentials created or re-activated (rules/other_credentials.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("other_credentials")
