"""cartlens.report."""
