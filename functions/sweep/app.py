"""sweep: the scheduled credential-report sweep (layers/remediator/remediator/sweep/)."""

from remediator.sweep.handler import make_sweep_handler

lambda_handler = make_sweep_handler()
