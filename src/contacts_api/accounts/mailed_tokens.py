"""One-time tokens sent in mails: verification, password reset, email change.

A token is 32 random bytes (256 bits, RFC 4086's advice for guessing resistance, well past the
contract's 128), URL-safe base64 in the link; the database holds only its SHA-256. A slow hash
would add nothing: no one can guess a 256-bit value from its hash. A token is bound to its purpose
and to the address it was mailed to, single-use, and expires.
"""

from __future__ import annotations

import datetime
import enum
import hashlib
import secrets

TOKEN_BYTES = 32


class TokenPurpose(enum.StrEnum):
    VERIFY_EMAIL = "verify_email"
    RESET_PASSWORD = "reset_password"  # noqa: S105 (a purpose, not a password)
    CHANGE_EMAIL = "change_email"

    @property
    def lifetime(self) -> datetime.timedelta:
        if self is TokenPurpose.RESET_PASSWORD:
            return datetime.timedelta(minutes=30)
        return datetime.timedelta(hours=24)


def new_mailed_token() -> tuple[str, str]:
    """A fresh token and the hash to store of it."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    return token, hash_mailed_token(token)


def hash_mailed_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
