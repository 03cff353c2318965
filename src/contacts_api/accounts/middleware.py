"""Bearer-token authentication: every request not excluded must carry a live access token."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.middleware import (
    AbstractAuthenticationMiddleware,
    AuthenticationResult,
    DefineMiddleware,
)

from contacts_api.accounts.guards import UNAUTHENTICATED_METHODS
from contacts_api.accounts.repositories import SESSION_USE_RECORDED_EVERY, LoginSessionRepository, UserRepository
from contacts_api.accounts.services import ACCOUNTS_STATE_KEY, AccountsConfig
from contacts_api.accounts.tokens import InvalidTokenError, TokenUse
from contacts_api.db import request_session
from contacts_api.errors import InvalidCredentials


class JWTAuthMiddleware(AbstractAuthenticationMiddleware):
    """Sets `request.user` (a `User`, without its password hash) and `request.auth` (the token's `TokenClaims`).

    The token is checked with pyjwt, then its login session is looked up in the same query as
    the user, so a logged-out or revoked session stops working at once, not at token expiry.
    """

    async def authenticate_request(self, connection: ASGIConnection[Any, Any, Any, Any]) -> AuthenticationResult:
        authorization = connection.headers.get("authorization")
        if not authorization:
            raise InvalidCredentials("Authentication required: send an access token as 'Authorization: Bearer …'")
        scheme, _, token = authorization.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise InvalidCredentials("The Authorization header must use the Bearer scheme", token_given=True)

        state = connection.app.state
        accounts: AccountsConfig = state[ACCOUNTS_STATE_KEY]
        try:
            claims = accounts.tokens.decode(token.strip(), TokenUse.ACCESS)
        except InvalidTokenError as exc:
            raise InvalidCredentials(str(exc), token_given=True) from None

        # The request's own session, so the handler reuses this connection.
        db_session = await request_session(state, connection.scope)
        now = accounts.clock()
        found = await UserRepository(session=db_session).get_by_active_session(
            user_id=claims.user_id, session_id=claims.session_id, now=now
        )
        if found is None:
            raise InvalidCredentials("The session has ended; log in again", token_given=True)
        user, last_used_at = found
        if now - last_used_at >= SESSION_USE_RECORDED_EVERY:
            # At most one write a minute per session, so that requests do not pay one each.
            await LoginSessionRepository(session=db_session).record_use(claims.session_id, now=now)
        return AuthenticationResult(user=user, auth=claims)


def jwt_auth_middleware() -> DefineMiddleware:
    # Anchored patterns: an unanchored "/health" would also exclude "/api/health-records".
    # Signup, login and refresh opt out per handler with `exclude_from_auth=True`.
    # The methods skipped are Litestar's default (OPTIONS), named from the list `requires_user`
    # also reads, so that the guard never demands a user this middleware did not look for.
    return DefineMiddleware(
        JWTAuthMiddleware,
        exclude=[r"^/schema(/|$)", r"^/health$"],
        exclude_http_methods=UNAUTHENTICATED_METHODS,
    )
