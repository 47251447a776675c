"""root_activity: the root user was used (rules/root_activity.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("root_activity")
