"""Guards: plain functions Litestar runs before a handler."""

from __future__ import annotations

from typing import Any

from litestar.connection import ASGIConnection
from litestar.enums import HttpMethod
from litestar.handlers.base import BaseRouteHandler
from litestar.types import Method

from contacts_api.accounts.schemas import User
from contacts_api.errors import InvalidCredentials

# The OpenAPI security requirement every guarded route declares.
BEARER_SECURITY: list[dict[str, list[str]]] = [{"OAuth2PasswordBearer": []}]

# Methods answered without authentication: OPTIONS only says which methods a route serves (as the
# OpenAPI document does, to anyone). The auth middleware skips them and `requires_user` lets them
# through, both from this one list: Litestar gives a route's automatic OPTIONS handler the guards of
# the route's controller, and a guard demanding a user the middleware never looks for refuses
# every OPTIONS request, whatever token it carries.
UNAUTHENTICATED_METHODS: tuple[Method, ...] = (HttpMethod.OPTIONS,)


def requires_user(connection: ASGIConnection[Any, Any, Any, Any], _: BaseRouteHandler) -> None:
    """Let the request through only with an authenticated user (the middleware sets it)."""
    if connection.scope.get("method") in UNAUTHENTICATED_METHODS:
        return
    if not isinstance(connection.scope.get("user"), User):
        raise InvalidCredentials("Authentication required")
