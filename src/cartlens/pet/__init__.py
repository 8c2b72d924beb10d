"""cartlens.pet."""
