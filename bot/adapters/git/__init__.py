"""Git repositories as image sources: one reused clone per repository branch."""
