"""Remediation steps more than one rule (or the scheduled sweep) takes: each makes the smallest reversible
change and re-reads the state to verify it, so every path reports the same honest outcome."""
