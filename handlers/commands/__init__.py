"""Slash-command listeners."""
