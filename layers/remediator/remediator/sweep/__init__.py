"""The scheduled sweep over the IAM credential report (what single events cannot catch)."""

from remediator.sweep.run import SweepReport, run_sweep

__all__ = ["SweepReport", "run_sweep"]
