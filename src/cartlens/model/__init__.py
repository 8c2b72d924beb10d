"""cartlens.model."""
