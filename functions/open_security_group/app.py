"""open_security_group: security group opened to the internet on a port that is not meant to be public (rules/open_security_group.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("open_security_group")
