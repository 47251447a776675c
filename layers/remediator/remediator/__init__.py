"""remediator: the shared package of the compliance remediator (rules, policy analysis, notifications)."""
