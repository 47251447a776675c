"""remediator_tampering: remediator disabled, changed or bypassed; exemption tag set (rules/remediator_tampering.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("remediator_tampering")
