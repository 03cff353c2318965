"""Guards: plain functions Litestar runs before a handler."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.handlers.base import BaseRouteHandler

from contacts_api.accounts.schemas import User
from contacts_api.errors import InvalidCredentials

# The OpenAPI security requirement every guarded route declares.
BEARER_SECURITY: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]


def requires_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Let the request through only with an authenticated user (the middleware sets it)."""
    if not isinstance(connection.scope.get("user"), User):
        raise InvalidCredentials("Authentication required")
