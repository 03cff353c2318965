"""ASGI middleware for every response: security headers, a request id and one log line.

Plain ASGI rather than Litestar hooks, so that error responses (404, 405, 413, 429, 500) get
the same treatment as successful ones.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid

from litestar.datastructures import MutableScopeHeaders
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

access_logger = logging.getLogger("contacts_api.access")

REQUEST_ID_HEADER = "X-Request-ID"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

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


def security_headers_middleware(app: ASGIApp) -> ASGIApp:
    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        headers_to_add = DOCS_HEADERS if scope["path"].startswith("/schema") else API_HEADERS
        https = scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableScopeHeaders.from_message(message)
                for name, value in headers_to_add.items():
                    if name not in headers:
                        headers[name] = value
                if https:
                    headers["Strict-Transport-Security"] = HSTS
            await send(message)

        await app(scope, receive, send_with_headers)

    return middleware


def request_log_middleware(app: ASGIApp) -> ASGIApp:
    """Give each request an id (the client's X-Request-ID if sane), echo it, and log one line.

    The line holds method, path (no query string), status, duration and id: never headers or
    bodies, so no token, password or hash can reach the log through it.
    """

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        incoming = next((value for name, value in scope["headers"] if name == b"x-request-id"), b"").decode("latin-1")
        request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
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
                },
            )

    return middleware


def json_not_found_under_docs(app: ASGIApp) -> ASGIApp:
    """Litestar's docs router answers unknown /schema/… paths with an HTML 404 page; every error
    of this API is JSON, so swap that page for the usual body."""
    body = json.dumps({"status_code": 404, "detail": "Not Found"}).encode()

    async def middleware(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or not scope["path"].startswith("/schema"):
            await app(scope, receive, send)
            return
        replacing = False

        async def send_json_404(message: Message) -> None:
            nonlocal replacing
            if message["type"] == "http.response.start" and message["status"] == 404:
                replacing = True
                headers = MutableScopeHeaders.from_message(message)
                headers["Content-Type"] = "application/json"
                headers["Content-Length"] = str(len(body))
            elif message["type"] == "http.response.body" and replacing:
                if message.get("more_body", False):
                    return  # drop the HTML page
                message = {"type": "http.response.body", "body": body, "more_body": False}
            await send(message)

        await app(scope, receive, send_json_404)

    return middleware


def head_as_get(app: ASGIApp) -> ASGIApp:
    """Answer HEAD wherever GET is served (RFC 9110 §9.3.2): the GET's status and headers, no
    body. Litestar routes HEAD only to handlers that declare it."""

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
        scope["method"] = "GET"
        await app(scope, receive, send_without_body)

    return middleware
