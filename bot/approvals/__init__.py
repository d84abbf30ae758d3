"""Manual approvals: tie a notification to its bake, decide once, four-eyes, expiry."""
