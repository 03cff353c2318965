"""One JSON error shape for everything: `{status_code, detail, extra?}`.

Database and unexpected errors are translated here so that no SQL, parameter or traceback
ever reaches a client; the traceback goes to the log instead.
"""

from __future__ import annotations

import logging
from typing import Any

import msgspec
from advanced_alchemy.exceptions import NotFoundError, RepositoryError
from asyncpg import exceptions as asyncpg_exceptions
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
    HTTP_410_GONE,
    HTTP_412_PRECONDITION_FAILED,
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

from contacts_api.error_messages import (
    CLIENT_GONE,
    NUMBER_OUT_OF_RANGE,
    asyncpg_reports_closed_connection,
    field_error_item,
    item_from_decoder,
    locate_undecodable_value,
    read_body,
    serialization_cause,
    sqlite_reports_unique_violation,
)

logger = logging.getLogger(__name__)

SERVICE_UNAVAILABLE = "The database is unavailable; try again shortly"
RETRY_AFTER_SECONDS = "5"  # the Retry-After of every 503 (RFC 9110 §10.2.3)


class ConflictError(HTTPException):
    status_code = HTTP_409_CONFLICT


class PreconditionFailedError(HTTPException):
    """412 (RFC 9110 §15.5.13): an `If-Match` that the resource's current version does not match.
    Carries the current `ETag`, so that the client can fetch what changed and decide."""

    status_code = HTTP_412_PRECONDITION_FAILED

    def __init__(self, *, detail: str, current_etag: str) -> None:
        super().__init__(detail=detail, headers={"ETag": current_etag})


class GoneError(HTTPException):
    """410 (RFC 9110 §15.5.11): what was asked for existed and is gone for good (an expired cursor)."""

    status_code = HTTP_410_GONE


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
# A transaction PostgreSQL chose to abort so that another could go on (40P01 deadlock_detected,
# 40001 serialization_failure): nothing was written, and the same request again will succeed.
_RETRY_SQLSTATES = {"40P01", "40001"}
# PostgreSQL's codes for a server that cannot serve the session right now, none of them the
# request's fault: shutting down (57P01 admin_shutdown, what a fast restart or
# pg_terminate_backend sends; 57P02 crash_shutdown, after another backend crashed), starting up,
# recovering or shutting down as the session connects (57P03 cannot_connect_now), an idle session
# ended by idle_session_timeout (57P05), or out of connection slots (53300 too_many_connections).
_UNAVAILABLE_SQLSTATES = {"57P01", "57P02", "57P03", "57P05", "53300"}
# Class 08, connection exception: the connection could not be made, or was lost (08003 is what
# asyncpg raises for a connection closed in the middle of a statement).
_CONNECTION_EXCEPTION_CLASS = "08"
# The driver's own exceptions, for those that reach the handlers without SQLAlchemy's wrapping:
# asyncpg's raised while the pool sets up a new connection (SQLAlchemy's connect hooks run queries
# on it), and its client-side errors.
_DRIVER_ERRORS = (
    asyncpg_exceptions.PostgresError | asyncpg_exceptions.InterfaceError | asyncpg_exceptions.InternalClientError
)


def is_unique_violation(exc: BaseException) -> bool:
    """True when a write failed on a unique index (a duplicate), and not for any other reason.

    advanced-alchemy wraps every failed statement of `add`/`update` in its own IntegrityError,
    timeouts included; only the driver's integrity error underneath means a real conflict.
    """
    cause = exc if isinstance(exc, SQLIntegrityError) else exc.__cause__
    if not isinstance(cause, SQLIntegrityError):
        return False
    # PostgreSQL's unique_violation, or SQLite's message for it; not a foreign-key or NOT NULL one.
    return getattr(cause.orig, "sqlstate", None) == "23505" or sqlite_reports_unique_violation(cause.orig)


def is_connection_failure(exc: BaseException) -> bool:
    """True when the database (or Redis) could not be reached, would not take the session, lost
    the connection or did not answer in time: worth retrying, as opposed to a bad statement.

    The same failure arrives wrapped in several ways (advanced-alchemy's RepositoryError around
    SQLAlchemy's DBAPIError around the driver's exception, or the driver's exception alone), so
    every link of the chain is asked.
    """
    seen: set[int] = set()
    link: BaseException | None = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        if _is_connection_failure_itself(link):
            return True
        link = link.__cause__ or link.__context__
    return False


def _is_connection_failure_itself(exc: BaseException) -> bool:
    # OSError covers a refused or reset socket (asyncpg raises those unwrapped while connecting)
    # and TimeoutError a connect timeout; OperationalError is SQLite's locked or unopenable file.
    if isinstance(exc, PoolTimeoutError | OperationalError | RedisError | OSError | TimeoutError):
        return True
    # SQLAlchemy's own verdict that the connection is gone (asyncpg says whether it closed).
    if isinstance(exc, DBAPIError) and exc.connection_invalidated:
        return True
    sqlstate = _sqlstate(exc)
    if sqlstate is not None and (
        sqlstate in _TIMED_OUT_SQLSTATES
        or sqlstate in _RETRY_SQLSTATES
        or sqlstate in _UNAVAILABLE_SQLSTATES
        or sqlstate.startswith(_CONNECTION_EXCEPTION_CLASS)
    ):
        return True
    # asyncpg's closed connection, when it comes without SQLAlchemy's wrapping.
    return isinstance(exc, asyncpg_exceptions.InterfaceError) and asyncpg_reports_closed_connection(exc)


def _sqlstate(exc: BaseException) -> str | None:
    """The SQLSTATE an exception carries: asyncpg's exceptions and SQLAlchemy's adaptation of them
    have it as `sqlstate`; a DBAPIError holds the adapted exception in `orig`."""
    for carrier in (exc, getattr(exc, "orig", None)):
        sqlstate = getattr(carrier, "sqlstate", None)
        if isinstance(sqlstate, str):
            return sqlstate
    return None


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
        return error_response(
            HTTP_503_SERVICE_UNAVAILABLE, SERVICE_UNAVAILABLE, headers={"Retry-After": RETRY_AFTER_SECONDS}
        )
    return _unexpected_error(request, exc)


def describe_cause(exc: BaseException) -> str:
    """The cause's first line (bound parameters are hidden by the engine), with its SQLSTATE.

    The cause is the innermost exception that carries an SQLSTATE, the server's own reason (a
    restart's `AdminShutdownError [57P01]: terminating connection due to administrator command`
    rather than the socket reset that followed it), else the innermost one.
    """
    chain = [exc]
    while (cause := chain[-1].__cause__) is not None and cause not in chain:
        chain.append(cause)
    with_sqlstate = [link for link in chain if isinstance(getattr(link, "sqlstate", None), str)]
    described = with_sqlstate[-1] if with_sqlstate else chain[-1]
    name = type(described).__name__
    if with_sqlstate:
        name += f" [{getattr(described, 'sqlstate', '')}]"
    try:
        text = str(described)
    except Exception:  # advanced-alchemy's exceptions fail to print when made without a message
        text = ""
    return f"{name}: {text.splitlines()[0]}" if text.strip() else name


def _too_many_requests(_: Request[Any, Any, Any], exc: TooManyRequestsException) -> Response[Any]:
    """Litestar's limiter sends RateLimit-* headers; RFC 6585 §4 asks for Retry-After as well."""
    headers = dict(exc.headers or {})
    if "Retry-After" not in headers and "RateLimit-Reset" in headers:
        headers["Retry-After"] = str(max(1, int(headers["RateLimit-Reset"])))
    return error_response(exc.status_code, exc.detail, headers=headers)


def _validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's 400, with the offending field named wherever the message or the body knows it."""
    extra = exc.extra
    if isinstance(extra, list):
        extra = [_name_the_field(request, item) for item in extra]
    return error_response(exc.status_code, exc.detail, headers=exc.headers, extra=extra)


def _name_the_field(request: Request[Any, Any, Any], item: Any) -> Any:
    if not isinstance(item, dict):
        return item
    named = field_error_item(str(item.get("message", "")), item.get("key"), item.get("source", "body"))
    if named["key"] == "data" and named["message"] == NUMBER_OUT_OF_RANGE and (body := read_body(request)):
        # Decoded into plain values first, the body lost the number's place: find it in the body.
        named = locate_undecodable_value(body) or named
    return {**item, **named}


def _client_error(request: Request[Any, Any, Any], exc: ClientException) -> Response[Any]:
    """A 400 from Litestar itself. A body that failed to decode gets the shape and wording of the
    signature model's (the field named in `extra`), so every route answers bad input alike."""
    cause = serialization_cause(exc)
    if cause is None:
        return error_response(exc.status_code, exc.detail, headers=exc.headers, extra=exc.extra)
    item = item_from_decoder(str(cause)) if isinstance(cause, msgspec.ValidationError) else None
    if item is None or item["key"] == "data":
        # Decoded into plain values, or refused as malformed, the body lost the value's place.
        body = read_body(request)
        item = (locate_undecodable_value(body) if body else None) or item
    if item is None:  # malformed JSON: no field to name
        return error_response(exc.status_code, exc.detail, headers=exc.headers, extra=exc.extra)
    detail = f"Validation failed for {request.method} {request.url.path}"
    return error_response(HTTP_400_BAD_REQUEST, detail, extra=[item])


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
    """What no other handler took, the driver's unwrapped exceptions included: those are a 503
    when they say the database is unavailable, and a 500 like any other error otherwise."""
    if isinstance(exc, SQLAlchemyError | RedisError | OSError | _DRIVER_ERRORS):
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
