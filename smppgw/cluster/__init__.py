"""Coordination of several nodes that share one PostgreSQL store."""
