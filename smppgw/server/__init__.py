"""The Twisted shell around the pure SMPP session."""
