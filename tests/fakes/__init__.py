"""Fake servers of external services that cannot run here, speaking their documented shapes."""
