"""Bakes: open a bake, follow its pipeline (the pure progress reducer), and the bake record."""
