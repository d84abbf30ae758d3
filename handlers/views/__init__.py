"""Modal listeners."""
