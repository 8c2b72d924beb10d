"""cartlens.study."""
