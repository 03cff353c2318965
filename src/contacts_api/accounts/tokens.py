"""JSON Web Tokens for access and refresh (RFC 7519, with RFC 8725's best practices).

Both kinds are HS256-signed and carry `sub`, `iat`, `exp`, `jti`, `iss`, `aud`, the session id
`sid` and a `token_use` claim; their `typ` headers differ too (`at+jwt`, RFC 9068, and
`refresh+jwt`), so neither can stand in for the other even if one check were lost.
"""

from __future__ import annotations

import datetime
import enum
import uuid
from typing import Any

import jwt
import msgspec

from contacts_api.config import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "iss", "aud", "sid", "token_use"]


class TokenUse(enum.StrEnum):
    ACCESS = "access"
    REFRESH = "refresh"

    @property
    def header_type(self) -> str:
        return "at+jwt" if self is TokenUse.ACCESS else "refresh+jwt"


class InvalidTokenError(Exception):
    """The token is malformed, forged, expired or of the wrong kind; the message is safe to show."""


class TokenClaims(msgspec.Struct, frozen=True):
    user_id: uuid.UUID
    session_id: uuid.UUID
    token_id: uuid.UUID


class IssuedToken(msgspec.Struct, frozen=True):
    token: str
    token_id: uuid.UUID
    expires_at: datetime.datetime


class TokenCodec:
    def __init__(self, settings: Settings) -> None:
        self._secret = settings.jwt_secret
        self._issuer = settings.jwt_issuer
        self._audience = settings.jwt_audience
        self._leeway = settings.jwt_leeway_seconds
        self._lifetimes = {
            TokenUse.ACCESS: datetime.timedelta(seconds=settings.access_token_ttl_seconds),
            TokenUse.REFRESH: datetime.timedelta(seconds=settings.refresh_token_ttl_seconds),
        }

    def lifetime(self, use: TokenUse) -> datetime.timedelta:
        return self._lifetimes[use]

    def issue(
        self,
        use: TokenUse,
        *,
        user_id: uuid.UUID,
        session_id: uuid.UUID,
        now: datetime.datetime,
    ) -> IssuedToken:
        token_id = uuid.uuid4()
        expires_at = now + self._lifetimes[use]
        claims: dict[str, Any] = {
            "sub": str(user_id),
            "sid": str(session_id),
            "jti": str(token_id),
            "token_use": use.value,
            "iss": self._issuer,
            "aud": self._audience,
            "iat": int(now.timestamp()),
            "exp": int(expires_at.timestamp()),
        }
        token = jwt.encode(claims, self._secret, algorithm=ALGORITHM, headers={"typ": use.header_type})
        return IssuedToken(token=token, token_id=token_id, expires_at=expires_at)

    def decode(self, token: str, use: TokenUse) -> TokenClaims:
        try:
            # The algorithm comes from our allow-list, never from the token's header, so
            # `alg: none` and key-confusion tricks fail; `jku`/`x5u`/`jwk` headers are ignored
            # because the key is always our own secret.
            decoded = jwt.decode_complete(
                token,
                self._secret,
                algorithms=[ALGORITHM],
                audience=self._audience,
                issuer=self._issuer,
                leeway=self._leeway,
                options={"require": REQUIRED_CLAIMS, "strict_aud": True},
            )
        except jwt.ExpiredSignatureError:
            raise InvalidTokenError("The token has expired") from None
        except jwt.PyJWTError:
            raise InvalidTokenError("The token is invalid") from None
        header, payload = decoded["header"], decoded["payload"]
        # PyJWT does not check `typ` by itself (RFC 8725 §3.11).
        if header.get("typ") != use.header_type or payload.get("token_use") != use.value:
            raise InvalidTokenError(
                f"An {use.value} token is required" if use is TokenUse.ACCESS else "A refresh token is required"
            )
        try:
            return TokenClaims(
                user_id=uuid.UUID(payload["sub"]),
                session_id=uuid.UUID(payload["sid"]),
                token_id=uuid.UUID(payload["jti"]),
            )
        except (TypeError, ValueError, AttributeError):
            raise InvalidTokenError("The token is invalid") from None
