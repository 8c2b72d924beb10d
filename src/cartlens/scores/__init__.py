"""cartlens.scores."""
