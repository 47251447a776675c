"""ec2_without_role: EC2 instance without a role, or with IMDSv1 (rules/ec2_without_role.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("ec2_without_role")
