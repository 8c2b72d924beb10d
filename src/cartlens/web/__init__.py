"""cartlens.web."""
