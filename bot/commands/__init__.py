"""The `/bake` command: its text parser and the dispatcher that answers it."""
