"""cartlens.stats."""
