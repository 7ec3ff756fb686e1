"""Pure destination routing: number normalisation, prefix tables, carrier choice.  Stdlib only."""
