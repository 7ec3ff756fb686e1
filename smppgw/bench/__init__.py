"""``smppgw bench``: an SMPP load client for this gateway (or any SMPP 3.4 server).

It runs on asyncio rather than Twisted so that it can share a process with nothing else and be
pinned to its own core; it speaks SMPP through the project's codec and framing.
"""
