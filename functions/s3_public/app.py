"""s3_public: S3 bucket made public, or Block Public Access turned off (rules/s3_public.py).

Written by scripts/generate.py from FUNCTIONS: do not edit; run make generate.
"""

from remediator.runtime import make_handler

lambda_handler = make_handler("s3_public")
