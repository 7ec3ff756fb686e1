"""The business core: accounts, submit, compliance, settlement and receipts, with time as an
argument and every change returned as typed writes (``smppgw.writes``).  Nothing here imports
Twisted or logs; ``smppgw.runtime`` runs it on the reactor."""
