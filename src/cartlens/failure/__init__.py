"""cartlens.failure."""
