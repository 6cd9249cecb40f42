"""The harmonised schema: data dictionary (one source of truth) and everything derived from it."""
