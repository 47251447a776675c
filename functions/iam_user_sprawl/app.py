"""iam_user_sprawl: IAM user created (rules/iam_user_sprawl.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("iam_user_sprawl")
