"""open_security_group: security group port opened to the whole internet (rules/open_security_group.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("open_security_group")
