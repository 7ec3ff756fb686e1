"""The core's Twisted half: the group committer, the delivery queue, and the runner that applies
the core's writes, waits for their commit and arms the core's one timer."""
