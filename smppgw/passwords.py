"""Account password hashing (PBKDF2 from the stdlib) and constant-time verification."""

from __future__ import annotations

import hashlib
import hmac
import os

_SCHEME = "pbkdf2_sha256"
_ITERATIONS = 120_000


def hash_password(password: str, *, salt: bytes | None = None, iterations: int = _ITERATIONS) -> str:
    salt = salt if salt is not None else os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), salt, iterations)
    return f"{_SCHEME}${iterations}${salt.hex()}${digest.hex()}"


def is_password_hash(value: str) -> bool:
    return value.startswith(_SCHEME + "$") and value.count("$") == 3


def verify_password(password: str, stored: str) -> bool:
    """Compare in constant time.  ``stored`` is a hash, or plain text (the demo fixture only)."""
    if not is_password_hash(stored):
        return hmac.compare_digest(password.encode("utf-8"), stored.encode("utf-8"))
    _scheme, iterations, salt, digest = stored.split("$")
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode("utf-8"), bytes.fromhex(salt), int(iterations))
    return hmac.compare_digest(candidate, bytes.fromhex(digest))
