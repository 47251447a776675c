"""iam_user_sprawl: new IAM users instead of roles (rule: layers/remediator/remediator/rules/iam_user_sprawl.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("iam_user_sprawl")
