"""What every request and answer goes through: security headers, a request id, one log line,
HEAD, OPTIONS, and a connection kept usable when an answer comes before the body was read.

Litestar's public hooks where they can do it: `before_send` hooks (which see every message the
app sends, the router's 404 and 405 and the auth middleware's 401 included) add the security
headers and turn the docs router's HTML 404 into JSON; a `before_request` hook answers OPTIONS.
Three things are ASGI wrappers around the app (`create_app` stacks them), because no hook can
do them: the access log and request id (timing every request from its first byte, the router's
refusals included, before anything else logs), HEAD (the method must change before routing) and
the body drain (only `receive` shows whether the body was read).
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from collections.abc import Iterable
from typing import Any, cast

import anyio
from litestar import MediaType, Request, Response
from litestar.datastructures import MutableScopeHeaders
from litestar.enums import HttpMethod, ScopeType
from litestar.exceptions import MethodNotAllowedException
from litestar.routes import HTTPRoute
from litestar.status_codes import HTTP_204_NO_CONTENT
from litestar.types import ASGIApp, HTTPReceiveMessage, Message, Receive, Scope, Send

from contacts_api.errors import error_response

access_logger = logging.getLogger("contacts_api.access")

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
# Enough for any real browser's or library's; the rest of a longer one is only padding in the log.
USER_AGENT_LOGGED_LENGTH = 512

API_HEADERS = {
    # RFC 6749 §5.1 for tokens, and for every API answer: personal data stays out of caches.
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "X-Frame-Options": "DENY",
}
# The docs pages run their own scripts and styles (served by this app) and images from data: URLs.
DOCS_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; "
        "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; frame-ancestors 'none'"
    ),
    "X-Frame-Options": "DENY",
}
HSTS = "max-age=31536000; includeSubDomains"

# The most of an unread request body dropped to keep its connection open, and how long to wait
# for it: a few milliseconds' work on a fast link. Past either, the answer closes the connection.
MAX_DRAINED_BODY_BYTES = 1024 * 1024
DRAIN_TIMEOUT_SECONDS = 1.0


async def add_security_headers(message: Message, scope: Scope) -> None:
    """`before_send` hook: the API's or the docs pages' security headers on every answer, and
    HSTS over HTTPS. A header the handler set itself is left as it is."""
    if message["type"] != "http.response.start":
        return
    headers = MutableScopeHeaders.from_message(message)
    for name, value in (DOCS_HEADERS if scope["path"].startswith("/schema") else API_HEADERS).items():
        if name not in headers:
            headers[name] = value
    if scope.get("scheme") == "https":
        headers["Strict-Transport-Security"] = HSTS


def request_log_middleware(app: ASGIApp) -> ASGIApp:
    """Give each request an id (the client's X-Request-ID if sane), echo it, and log one line.

    The line holds method, path (no query string), status, duration, id and the User-Agent: never
    other headers nor bodies, so no token, password or hash can reach the log through it. The log
    formatters (logs.py) escape what the client chose in it, so it stays one line.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        sent_user_agent = next((value for name, value in scope["headers"] if name == b"user-agent"), None)
        # latin-1 maps one byte to one character: cutting the bytes cuts the text at the same length.
        user_agent = None if sent_user_agent is None else sent_user_agent[:USER_AGENT_LOGGED_LENGTH].decode("latin-1")
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                MutableScopeHeaders.from_message(message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        method = scope["method"]
        try:
            await app(scope, receive, send_with_id)
        finally:
            access_logger.info(
                "%s %s %s",
                method,
                scope["path"],
                status,
                extra={
                    "method": method,
                    "path": scope["path"],
                    "status": status,
                    "duration_ms": round((time.perf_counter() - started) * 1000, 2),
                    "request_id": request_id,
                    "user_agent": user_agent,
                },
            )

    return middleware


_DOCS_NOT_FOUND = json.dumps({"status_code": 404, "detail": "Not Found"}).encode()
_REPLACING_DOCS_404 = "replacing_docs_404"  # in the scope's state, between start and body
_HEAD_REQUEST = "head_request"  # in the scope's state: see head_as_get


async def json_not_found_under_docs(message: Message, scope: Scope) -> None:
    """`before_send` hook: Litestar's docs router answers unknown /schema/… paths with an HTML 404
    page; every error of this API is JSON, so the page's chunks are emptied and the last one
    carries the usual body instead (none for HEAD)."""
    if not scope["path"].startswith("/schema"):
        return
    state = scope.setdefault("state", {})
    if message["type"] == "http.response.start" and message["status"] == 404:
        state[_REPLACING_DOCS_404] = True
        headers = MutableScopeHeaders.from_message(message)
        headers["Content-Type"] = "application/json"
        headers["Content-Length"] = str(len(_DOCS_NOT_FOUND))
    elif message["type"] == "http.response.body" and state.get(_REPLACING_DOCS_404):
        last = not message.get("more_body", False)
        message["body"] = _DOCS_NOT_FOUND if last and not state.get(_HEAD_REQUEST) else b""


def head_as_get(app: ASGIApp) -> ASGIApp:
    """Answer HEAD wherever GET is served (RFC 9110 §9.3.2): the GET's status and headers, no
    body. Litestar routes HEAD only to handlers that declare it. The `Allow` headers that must
    announce it are built by `allowed_methods` (OPTIONS and 405 answers)."""

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["method"] != "HEAD":
            await app(scope, receive, send)
            return

        async def send_without_body(message: Message) -> None:
            if message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        # Changed in place, not in a copy: the database plugin keeps the request's session in the
        # scope, and a copy's session would never be found, closed and its connection returned.
        # Hooks that must know it was HEAD read the scope's state.
        scope["method"] = "GET"
        scope.setdefault("state", {})[_HEAD_REQUEST] = True
        await app(scope, receive, send_without_body)

    return middleware


def allowed_methods(declared: Iterable[str]) -> str:
    """An `Allow` header's value: the methods the route's handlers declare, and HEAD wherever GET
    is, since `head_as_get` serves it (Litestar knows nothing of that wrapper)."""
    methods = {method.strip().upper() for method in declared}
    if "GET" in methods:
        methods.add("HEAD")
    return ", ".join(sorted(methods))


async def answer_options_with_every_method(request: Request[Any, Any, Any]) -> Response[None] | None:
    """App-wide `before_request` hook: answer OPTIONS with every method its route serves.

    Litestar's automatic OPTIONS handler lists the methods of the route object it was created for,
    and the router rebuilds a path's route each time another handler joins the path: so
    /api/contacts answered `Allow: OPTIONS, POST`, without GET (litestar#4169, fixed in Litestar
    3 only). The route the router matched holds them all. On every OPTIONS, since the contract
    fixes its answer for every route (this API declares no OPTIONS handler of its own).
    """
    if request.method != HttpMethod.OPTIONS:
        return None
    template = request.scope["path_template"]
    routes = (route for route in request.app.routes if isinstance(route, HTTPRoute))
    methods = next((route.methods for route in routes if route.path_format == template), None)
    if methods is None:
        return None
    return Response(
        content=None,
        status_code=HTTP_204_NO_CONTENT,
        headers={"Allow": allowed_methods(methods)},
        media_type=MediaType.TEXT,
    )


def method_not_allowed(_: Request[Any, Any, Any], exc: MethodNotAllowedException) -> Response[Any]:
    """Exception handler for the router's 405: the usual JSON error, its `Allow` with HEAD."""
    headers = dict(exc.headers or {})
    allow = next((headers.pop(name) for name in list(headers) if name.lower() == "allow"), "")
    return error_response(exc.status_code, exc.detail, headers={**headers, "Allow": allowed_methods(allow.split(","))})


def drain_unread_request_body(
    app: ASGIApp,
    max_drained_bytes: int = MAX_DRAINED_BODY_BYTES,
    drain_timeout_seconds: float = DRAIN_TIMEOUT_SECONDS,
) -> ASGIApp:
    """Keep an HTTP/1.x connection usable when the app answers before reading the request body.

    A 413 on a `Content-Length` over the limit, a 401 from the auth middleware, a 404 or 405 from
    the router, a 429 from the rate limiter: each answers without reading the body. The body's
    bytes are then still on the connection, ahead of the client's next request. Granian (hyper)
    then closes the connection, sometimes after writing an answer without `Connection: close`, so
    a client that sends its next request on it loses that request. Here, when the answer starts
    while body is unread, the rest of the body is read and dropped first; when that is more than
    `max_drained_bytes`, takes over `drain_timeout_seconds`, or the client waits for
    `100 Continue` before sending it (nothing has asked for it yet), the answer says
    `Connection: close` instead, which hyper honours by closing once it is sent.

    It must be an ASGI wrapper: only the ASGI `receive` and `send` show whether the body was read
    when the answer starts, and Litestar's hooks see neither (nor the router's 404 and 405).
    HTTP/2 is left alone: a stream's unread body never delays another stream.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope.get("http_version") == "2":
            await app(scope, receive, send)
            return
        body = UnreadRequestBody.announced_in(scope, receive)
        if body is None:
            await app(scope, receive, send)
            return

        async def send_once_read(message: Message) -> None:
            if (
                message["type"] == "http.response.start"
                and not body.finished
                and not await body.drain(max_drained_bytes, drain_timeout_seconds)
            ):
                MutableScopeHeaders.from_message(message)["Connection"] = "close"
            await send(message)

        await app(scope, body.receive, send_once_read)

    return middleware


class UnreadRequestBody:
    """A request body as the app reads it through `receive`, and the means to drop the rest."""

    __slots__ = ("_receive", "expects_continue", "finished", "length", "polled", "received")

    def __init__(self, receive: Receive, length: int | None, *, expects_continue: bool) -> None:
        self._receive = receive
        self.length = length  # None when chunked
        self.expects_continue = expects_continue
        self.received = 0
        self.polled = False
        self.finished = False

    @classmethod
    def announced_in(cls, scope: Scope, receive: Receive) -> UnreadRequestBody | None:
        """The body the request's headers announce, or None when it has none."""
        length: int | None = None
        chunked = expects_continue = False
        for name, value in scope["headers"]:
            if name == b"content-length":
                length = int(value)  # the server has already refused a malformed one
            elif name == b"transfer-encoding":
                chunked = True
            elif name == b"expect":
                expects_continue = value.lower() == b"100-continue"
        if chunked:
            length = None  # RFC 9112 §6.3: Transfer-Encoding wins over Content-Length
        elif not length:
            return None
        return cls(receive, length, expects_continue=expects_continue)

    async def receive(self) -> HTTPReceiveMessage:
        self.polled = True
        message = cast("HTTPReceiveMessage", await self._receive())
        if message["type"] == "http.request":
            self.received += len(message["body"])
            self.finished = not message.get("more_body", False)
        else:  # the client is gone: nothing more will come
            self.finished = True
        return message

    async def drain(self, max_bytes: int, timeout_seconds: float) -> bool:
        """Read and drop the rest of the body; True when all of it came, within both bounds."""
        if self.expects_continue and not self.polled:
            return False  # reading would ask the client to send a body only to be thrown away
        if self.length is not None and self.length - self.received > max_bytes:
            return False
        limit = self.received + max_bytes
        with anyio.move_on_after(timeout_seconds):
            while not self.finished:
                message = await self.receive()
                if message["type"] == "http.disconnect" or (self.received > limit and not self.finished):
                    return False
            return True
        return False
