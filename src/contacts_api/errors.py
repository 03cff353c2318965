"""One JSON error shape for everything: `{status_code, detail, extra?}`.

Database and unexpected errors are translated here so that no SQL, parameter or traceback
ever reaches a client; the traceback goes to the log instead.
"""

from __future__ import annotations

import logging
from typing import Any

from advanced_alchemy.exceptions import NotFoundError, RepositoryError
from litestar import MediaType, Request, Response
from litestar.exceptions import (
    ClientException,
    HTTPException,
    NotAuthorizedException,
    ServiceUnavailableException,
    TooManyRequestsException,
    ValidationException,
)
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST,
    HTTP_404_NOT_FOUND,
    HTTP_409_CONFLICT,
    HTTP_415_UNSUPPORTED_MEDIA_TYPE,
    HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)
from litestar.types import ExceptionHandlersMap
from redis.exceptions import RedisError
from sqlalchemy.exc import DBAPIError, OperationalError, SQLAlchemyError
from sqlalchemy.exc import IntegrityError as SQLIntegrityError
from sqlalchemy.exc import TimeoutError as PoolTimeoutError
from sqlalchemy.orm.exc import StaleDataError

from contacts_api.error_messages import CLIENT_GONE, dto_validation_message, field_error_item, item_from_decoder

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = "The database is unavailable; try again shortly"


class ConflictError(HTTPException):
    status_code = HTTP_409_CONFLICT


class UnsupportedMediaType(HTTPException):
    status_code = HTTP_415_UNSUPPORTED_MEDIA_TYPE


# What every route with a request body may also answer (bad input, too big, database down),
# for the routes' `raises`, so that the OpenAPI document lists every answer a client can get.
BODY_ERRORS: list[type[HTTPException]] = [ValidationException, RequestEntityTooLarge, ServiceUnavailableException]


class InvalidCredentials(NotAuthorizedException):
    """A 401 that tells the client how to authenticate (RFC 6750 §3)."""

    def __init__(self, detail: str, *, token_given: bool = False) -> None:
        challenge = 'Bearer realm="contacts-api"'
        if token_given:
            challenge += ', error="invalid_token"'
        super().__init__(detail=detail, headers={"WWW-Authenticate": challenge})


def error_response(
    status_code: int, detail: str, headers: dict[str, str] | None = None, extra: Any = None
) -> Response[Any]:
    content: dict[str, Any] = {"status_code": status_code, "detail": detail}
    if extra:
        content["extra"] = extra
    return Response(
        content=content,
        status_code=status_code,
        media_type=MediaType.JSON,
        headers=headers,
    )


# PostgreSQL's codes for a statement stopped by statement_timeout or a lock wait that gave up.
_TIMED_OUT_SQLSTATES = {"57014", "55P03"}


def is_unique_violation(exc: BaseException) -> bool:
    """True when a write failed on a unique index (a duplicate), and not for any other reason.

    advanced-alchemy wraps every failed statement of `add`/`update` in its own IntegrityError,
    timeouts included; only the driver's integrity error underneath means a real conflict.
    """
    cause = exc if isinstance(exc, SQLIntegrityError) else exc.__cause__
    if not isinstance(cause, SQLIntegrityError):
        return False
    # PostgreSQL's unique_violation, or SQLite's message for it; not a foreign-key or NOT NULL one.
    return getattr(cause.orig, "sqlstate", None) == "23505" or "UNIQUE constraint failed" in str(cause.orig)


def is_connection_failure(exc: BaseException) -> bool:
    """True when the database (or Redis) could not be reached or answer in time, as opposed to a
    bad statement."""
    if isinstance(exc, PoolTimeoutError | OperationalError | RedisError | OSError | TimeoutError):
        return True
    if isinstance(exc, DBAPIError) and (
        exc.connection_invalidated or getattr(exc.orig, "sqlstate", None) in _TIMED_OUT_SQLSTATES
    ):
        return True
    cause = exc.__cause__ or exc.__context__
    return cause is not None and cause is not exc and is_connection_failure(cause)


def _repository_error(request: Request[Any, Any, Any], exc: RepositoryError) -> Response[Any]:
    if isinstance(exc, NotFoundError):
        return error_response(HTTP_404_NOT_FOUND, "Not found")
    return _backend_error(request, exc)


def _backend_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    """A database or Redis failure: 409 for a conflict, 503 while unreachable, 500 otherwise."""
    if isinstance(exc, StaleDataError):
        # A row changed under us: another request deleted what this one was updating.
        return error_response(HTTP_409_CONFLICT, "Another request changed or deleted this resource; try again")
    if is_unique_violation(exc):
        return error_response(HTTP_409_CONFLICT, "The request conflicts with existing data")
    if is_connection_failure(exc):
        logger.warning("backend unavailable during %s %s: %s", request.method, request.url.path, describe_cause(exc))
        return error_response(HTTP_503_SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE, headers={"Retry-After": "5"})
    return _unexpected_error(request, exc)


def describe_cause(exc: BaseException) -> str:
    """The innermost cause's first line (bound parameters are hidden by the engine)."""
    while exc.__cause__ is not None:
        exc = exc.__cause__
    try:
        text = str(exc)
    except Exception:
        text = ""
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _too_many_requests(_: Request[Any, Any, Any], exc: TooManyRequestsException) -> Response[Any]:
    """Litestar's limiter sends RateLimit-* headers; RFC 6585 §4 asks for Retry-After as well."""
    headers = dict(exc.headers or {})
    if "Retry-After" not in headers and "RateLimit-Reset" in headers:
        headers["Retry-After"] = str(max(1, int(headers["RateLimit-Reset"])))
    return error_response(exc.status_code, exc.detail, headers=headers)


def _validation_error(_: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's 400, with the offending field named wherever the message knows it."""
    extra = [_name_the_field(item) for item in exc.extra] if isinstance(exc.extra, list) else exc.extra
    return error_response(exc.status_code, exc.detail, headers=exc.headers, extra=extra)


def _name_the_field(item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    return {**item, **field_error_item(str(item.get("message", "")), item.get("key"), item.get("source", "body"))}


def _client_error(request: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
    """A 400 from Litestar itself; a DTO's failed body gets the shape and wording of the signature
    model's (the field named in `extra`), so every route answers bad input alike."""
    if (message := dto_validation_message(exc)) is not None:
        detail = f"Validation failed for {request.method} {request.url.path}"
        return error_response(HTTP_400_BAD_REQUEST, detail, extra=[item_from_decoder(message)])
    return error_response(exc.status_code, exc.detail, headers=exc.headers, extra=exc.extra)


def _unexpected_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, HTTPException) and exc.status_code < HTTP_500_INTERNAL_SERVER_ERROR:
        return error_response(exc.status_code, exc.detail, headers=exc.headers)
    if isinstance(exc, HTTPException) and exc.detail == CLIENT_GONE:
        logger.info("client went away during %s %s", request.method, request.url.path)
        return error_response(HTTP_400_BAD_REQUEST, "The client disconnected before sending its whole body")
    logger.error("unhandled error during %s %s", request.method, request.url.path, exc_info=exc)
    return error_response(HTTP_500_INTERNAL_SERVER_ERROR, "Internal server error")


def _undecodable_body(request: Request[Any, Any, Any], exc: RecursionError | UnicodeDecodeError) -> Response[Any]:
    # msgspec gives up on absurdly nested JSON with a RecursionError, and on bytes that are not
    # UTF-8 with a UnicodeDecodeError, while decoding the body: bad input, not a server fault.
    logger.info("refused an undecodable body on %s %s: %s", request.method, request.url.path, type(exc).__name__)
    problem = "is nested too deeply" if isinstance(exc, RecursionError) else "is not valid UTF-8"
    return error_response(HTTP_400_BAD_REQUEST, f"The request body {problem}")


def _server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, SQLAlchemyError | RedisError | OSError):
        return _backend_error(request, exc)
    return _unexpected_error(request, exc)


exception_handlers: ExceptionHandlersMap = {
    RepositoryError: _repository_error,
    SQLAlchemyError: _backend_error,
    RedisError: _backend_error,
    OSError: _backend_error,
    RecursionError: _undecodable_body,
    UnicodeDecodeError: _undecodable_body,
    TooManyRequestsException: _too_many_requests,
    ValidationException: _validation_error,
    ClientException: _client_error,
    HTTP_500_INTERNAL_SERVER_ERROR: _server_error,
}
