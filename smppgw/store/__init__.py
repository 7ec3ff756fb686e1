"""Durable state: the store interface, the SQLite implementation and its group committer."""
