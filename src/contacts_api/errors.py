"""One JSON error shape for everything: `{status_code, detail, extra?}`.

Database and unexpected errors are translated here so that no SQL, parameter or traceback
ever reaches a client; the traceback goes to the log instead.
"""

from __future__ import annotations

import logging
from typing import Any

from advanced_alchemy.exceptions import IntegrityError as RepositoryIntegrityError
from advanced_alchemy.exceptions import NotFoundError, RepositoryError
from litestar import MediaType, Request, Response
from litestar.exceptions import HTTPException, NotAuthorizedException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError

logger = logging.getLogger(__name__)

DATABASE_UNAVAILABLE = "The database is unavailable; try again shortly"


class ConflictError(HTTPException):
    status_code = HTTP_409_CONFLICT


class ResourceNotFound(HTTPException):
    status_code = HTTP_404_NOT_FOUND


class UnsupportedMediaType(HTTPException):
    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE


class InvalidCredentials(NotAuthorizedException):
    """A 401 that tells the client how to authenticate (RFC 6750 §3)."""

    def __init__(self, detail: str, *, token_given: bool = False) -> None:
        challenge = 'Bearer realm="contacts-api"'
        if token_given:
            challenge += ', error="invalid_token"'
        super().__init__(detail=detail, headers={"WWW-Authenticate": challenge})


def error_response(status_code: int, detail: str, headers: dict[str, str] | None = None) -> Response[Any]:
    return Response(
        content={"status_code": status_code, "detail": detail},
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


# PostgreSQL's codes for a statement stopped by statement_timeout or a lock wait that gave up.
_TIMED_OUT_SQLSTATES = {"57014", "55P03"}


def is_connection_failure(exc: BaseException) -> bool:
    """True when the database could not be reached or answer in time, as opposed to a bad statement."""
    if isinstance(exc, PoolTimeoutError | OperationalError | ConnectionError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in _TIMED_OUT_SQLSTATES
    ):
        return True
    if isinstance(exc, OSError):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_connection_failure(cause)


def _repository_error(request: Request[Any, Any, Any], exc: RepositoryError) -> Response[Any]:
    if isinstance(exc, NotFoundError):
        return error_response(HTTP_404_NOT_FOUND, "Not found")
    if isinstance(exc, RepositoryIntegrityError):
        return error_response(HTTP_409_CONFLICT, "The request conflicts with existing data")
    return _database_error(request, exc)


def _integrity_error(_: Request[Any, Any, Any], __: SQLIntegrityError) -> Response[Any]:
    return error_response(HTTP_409_CONFLICT, "The request conflicts with existing data")


def _database_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if is_connection_failure(exc):
        logger.warning(
            "database unavailable during %s %s: %s",
            request.method,
            request.url.path,
            type(exc).__name__,
        )
        return error_response(
            HTTP_503_SERVICE_UNAVAILABLE,
            DATABASE_UNAVAILABLE,
            headers={"Retry-After": "5"},
        )
    return _unexpected_error(request, exc)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HTTPException) and exc.status_code < HTTP_500_INTERNAL_SERVER_ERROR:
        return error_response(exc.status_code, exc.detail, headers=exc.headers)
    logger.error("unhandled error during %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


def _nested_too_deeply(request: Request[Any, Any, Any], _: RecursionError) -> Response[Any]:
    # msgspec gives up on absurdly nested JSON with a RecursionError while decoding the body:
    # bad input, not a server fault.
    logger.info("refused a too deeply nested body on %s %s", request.method, request.url.path)
    return error_response(HTTP_400_BAD_REQUEST, "The request body is nested too deeply")


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SQLAlchemyError | OSError):
        return _database_error(request, exc)
    return _unexpected_error(request, exc)


exception_handlers: ExceptionHandlersMap = {
    RepositoryError: _repository_error,
    SQLIntegrityError: _integrity_error,
    SQLAlchemyError: _database_error,
    OSError: _database_error,
    RecursionError: _nested_too_deeply,
    HTTP_500_INTERNAL_SERVER_ERROR: _server_error,
}
