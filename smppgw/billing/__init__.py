"""Pure prepaid billing: tariffs, wallets and their ledger, refund policy.  Stdlib only; money is integer 厘."""
