"""Short identifiers: random ids people read aloud (b-…, r-…) and keys derived from server-side secrets."""

from __future__ import annotations

import base64
import hashlib
import secrets

_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"  # no 0/o, 1/l: ids are read aloud and typed


def random_id(prefix: str) -> str:
    """`<prefix>-` and six characters; 256 is a multiple of 32, so each random byte picks one without bias."""
    return f"{prefix}-" + "".join(_ALPHABET[b % len(_ALPHABET)] for b in secrets.token_bytes(6))


def derived_key(prefix: str, text: str) -> str:
    """A short, stable key for `text` that does not reveal it (what a button carries instead of a token)."""
    digest = hashlib.sha256(text.encode()).digest()
    return f"{prefix}-" + base64.b32encode(digest).decode()[:12].lower()
