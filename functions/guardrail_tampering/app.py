"""guardrail_tampering: logging or a security service was stopped, deleted or weakened (rules/guardrail_tampering.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("guardrail_tampering")
