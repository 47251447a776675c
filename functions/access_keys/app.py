"""access_keys: new or re-activated IAM access keys (rule: layers/remediator/remediator/rules/access_keys.py)."""

from remediator.runtime import make_handler

lambda_handler = make_handler("access_keys")
