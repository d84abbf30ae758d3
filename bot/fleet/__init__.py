"""The fleet (CONTRACT §14): what every target runs and how far behind it is, the stale digest, revocation."""
