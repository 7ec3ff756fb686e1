"""Several gateway processes on one machine (``smppgw serve --workers N``): a supervisor, its
workers, the hand-off of connections to the worker that owns the bound account, and the admin front."""
