"""JSON Web Tokens for access and refresh (RFC 7519, with RFC 8725's best practices).

Both kinds are HS256-signed and carry `sub`, `iat`, `exp`, `jti`, `iss`, `aud`, the session id
`sid` and a `token_use` claim; their `typ` headers differ too (`at+jwt`, RFC 9068, and
`refresh+jwt`), so neither can stand in for the other even if one check were lost. Every claim
is converted to the type and range the service signs it in (`SignedClaims`) before it is used, so a
claim of any other type or range makes the token invalid, never an error.
"""

from __future__ import annotations

import datetime
import enum
import time
import uuid
from typing import Annotated, Any

import jwt
import msgspec

from contacts_api.config import Settings

ALGORITHM = "HS256"
REQUIRED_CLAIMS = ["sub", "iat", "exp", "jti", "iss", "aud", "sid", "token_use"]
# Access tokens already verified, remembered until they expire: a client sends the same token
# with every request, and checking it again (HMAC, base64, two JSON documents) is a twentieth of
# a request's cost. Bounded; the oldest entry goes first.
VERIFIED_ACCESS_TOKENS_KEPT = 10_000
# 9999-12-31T23:59:59Z, the last second a `datetime` can hold: any later time claim is out of range.
LATEST_NUMERIC_DATE = 253_402_300_799
# A time claim as this service issues it: whole seconds since the epoch (RFC 7519 §2 NumericDate).
NumericDate = Annotated[int, msgspec.Meta(ge=0, le=LATEST_NUMERIC_DATE)]


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


class SignedClaims(msgspec.Struct, frozen=True):
    """The claims of a token whose signature PyJWT has checked, in the types and ranges this
    service signs them in (`exp`, `iat` and `nbf` as RFC 7519 §2 NumericDates, in whole seconds):
    a claim of any other type or range, such as an `exp` of 10^400 or a string `iat`, fails its
    conversion here."""

    sub: uuid.UUID
    sid: uuid.UUID
    jti: uuid.UUID
    iat: NumericDate
    exp: NumericDate
    token_use: str
    nbf: NumericDate | msgspec.UnsetType = msgspec.UNSET  # never issued, but checked when present


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
        self._verified_access: dict[str, tuple[TokenClaims, float]] = {}

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
        if use is TokenUse.ACCESS:
            return self._decode_access(token)
        return self._verify(token, use)[0]

    def _decode_access(self, token: str) -> TokenClaims:
        """Like `_verify`, from memory when this very token was verified before and is still valid
        (PyJWT accepts it until `exp` plus the leeway). Signed bytes cannot change, so the result
        of verifying them cannot either, but for the passing of time."""
        known = self._verified_access.get(token)
        if known is not None and time.time() < known[1]:
            return known[0]
        claims, expires_at = self._verify(token, TokenUse.ACCESS)
        if len(self._verified_access) >= VERIFIED_ACCESS_TOKENS_KEPT:
            del self._verified_access[next(iter(self._verified_access))]
        self._verified_access[token] = (claims, expires_at + self._leeway)
        return claims

    def _verify(self, token: str, use: TokenUse) -> tuple[TokenClaims, float]:
        """The token's claims and its `exp`, if its signature, claims and kind are all right."""
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
        except (jwt.PyJWTError, OverflowError, TypeError, ValueError):
            # PyJWT converts `exp`, `iat` and `nbf` with int(): releases without jpadilla/pyjwt#1186
            # (pyproject allows >= 2.13) let its TypeError or OverflowError for a list, a null or an
            # infinite (`1e400`) claim escape instead of a PyJWTError.
            raise InvalidTokenError("The token is invalid") from None
        header = decoded["header"]
        try:
            # Every claim is converted, typed and range-checked in one place, so that no claim
            # of the wrong type or range reaches a float(), UUID() or datetime conversion.
            claims = msgspec.convert(decoded["payload"], SignedClaims)
        except msgspec.ValidationError:
            raise InvalidTokenError("The token is invalid") from None
        # PyJWT does not check `typ` by itself (RFC 8725 §3.11).
        if header.get("typ") != use.header_type or claims.token_use != use.value:
            raise InvalidTokenError(
                f"An {use.value} token is required" if use is TokenUse.ACCESS else "A refresh token is required"
            )
        return TokenClaims(user_id=claims.sub, session_id=claims.sid, token_id=claims.jti), float(claims.exp)
