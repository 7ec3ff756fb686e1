"""Pure SMPP 3.4: wire codec and session state.  Imports nothing but the stdlib."""
