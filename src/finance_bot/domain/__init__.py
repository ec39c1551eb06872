"""The ledger's own vocabulary: plain Python, standard library only."""
