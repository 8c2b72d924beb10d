"""cartlens.criteria."""
