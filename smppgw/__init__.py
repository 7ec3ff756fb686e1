"""smppgw: an SMPP 3.4 server that behaves like a carrier SMS gateway."""

__version__ = "0.1.0"
