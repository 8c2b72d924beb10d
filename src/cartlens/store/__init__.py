"""cartlens.store."""
