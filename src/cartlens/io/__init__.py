"""cartlens.io."""
