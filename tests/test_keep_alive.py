"""An answer sent before the request body was read never costs the client its next request on the
same keep-alive connection: the server drains the body, or says `Connection: close` and closes.

Through a real `contacts-api serve` (Granian) and raw sockets, since that is where bodies and
connections live: an in-process test client has neither.
"""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from contacts_api.middleware import MAX_DRAINED_BODY_BYTES
from tests.conftest import PASSWORD, TEST_JWT_SECRET
from tests.live_server import live_server, server_env

ROUNDS = 12
OVERSIZED_BODY_BYTES = 70_000  # over the default MAX_BODY_BYTES (64 KiB), under the drain bound
# More than Granian (hyper) reads ahead and drops by itself after an early answer, under the drain
# bound: with smaller bodies, hyper's own read-ahead hides the fault.
LARGE_BODY_BYTES = 200_000
READ_TIMEOUT_SECONDS = 10.0
GET_HEALTH = b"GET /health HTTP/1.1\r\nHost: test\r\n\r\n"
# As the in-process tests hash (conftest.make_settings): the one signup here need not take a second.
CHEAP_HASHING = {"ARGON2_TIME_COST": "1", "ARGON2_MEMORY_COST_KIB": "64", "ARGON2_PARALLELISM": "1"}


@dataclass
class RawResponse:
    status: int
    headers: dict[str, str]  # names lower-cased
    body: bytes

    @property
    def closes_connection(self) -> bool:
        return "close" in self.headers.get("connection", "").lower()


class ConnectionClosedError(Exception):
    """The server closed the connection (or reset it) before a whole answer came."""


class RawConnection:
    """One keep-alive HTTP/1.1 connection, written and read as raw bytes, as a client would."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.buffer = b""

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def send_and_read(self, request: bytes) -> RawResponse:
        self.send(request)
        return self.read_response()

    def _fill(self) -> None:
        try:
            chunk = self.sock.recv(65536)
        except ConnectionResetError:
            chunk = b""
        if not chunk:
            raise ConnectionClosedError(f"closed with {self.buffer!r} unanswered")
        self.buffer += chunk

    def read_response(self) -> RawResponse:
        while b"\r\n\r\n" not in self.buffer:
            self._fill()
        head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
        status_line, *header_lines = head.decode("latin-1").split("\r\n")
        headers: dict[str, str] = {}
        for line in header_lines:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        while len(self.buffer) < length:
            self._fill()
        body, self.buffer = self.buffer[:length], self.buffer[length:]
        return RawResponse(status=int(status_line.split()[1]), headers=headers, body=body)

    def is_closed_by_server(self) -> bool:
        """True once the server has closed its end; False if it still holds it open."""
        try:
            return self.sock.recv(1) == b""
        except ConnectionResetError:
            return True
        except TimeoutError:
            return False


@contextmanager
def connect(base_url: str) -> Iterator[RawConnection]:
    address = urlsplit(base_url)
    with socket.create_connection((address.hostname, address.port), timeout=READ_TIMEOUT_SECONDS) as sock:
        yield RawConnection(sock)


def post(path: str, body: bytes, *extra_headers: str, declared_length: int | None = None) -> bytes:
    """A POST of `body`, announced as `declared_length` bytes (its own length unless given)."""
    headers = "".join(f"{header}\r\n" for header in extra_headers)
    length = len(body) if declared_length is None else declared_length
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\n{headers}"
    return f"{head}Content-Length: {length}\r\n\r\n".encode() + body


def chunked_post(path: str, body: bytes, chunk_size: int = 8192) -> bytes:
    head = f"POST {path} HTTP/1.1\r\nHost: test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
    chunks = [body[i : i + chunk_size] for i in range(0, len(body), chunk_size)]
    return head.encode() + b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for chunk in chunks) + b"0\r\n\r\n"


def signup_body(size: int) -> bytes:
    body = {"email": "big@example.com", "password": PASSWORD, "full_name": ""}
    padding = size - len(json.dumps(body).encode())
    return json.dumps({**body, "full_name": "x" * padding}).encode()


def contact_body(size: int) -> bytes:
    body = {"first_name": "Ada", "notes": ""}
    padding = size - len(json.dumps(body).encode())
    return json.dumps({**body, "notes": "n" * padding}).encode()


def early_answer_then_health(base_url: str, request: bytes, expected_status: int) -> str:
    """Send `request`, then GET /health on the same connection; say how the connection fared."""
    with connect(base_url) as connection:
        connection.send(request)
        first = connection.read_response()
        assert first.status == expected_status, first
        if first.closes_connection:
            # Said and done: the client knows not to send anything more on it.
            assert connection.is_closed_by_server(), "Connection: close, but the socket stayed open"
            return "closed"
        try:
            second = connection.send_and_read(GET_HEALTH)
        except (ConnectionClosedError, BrokenPipeError, ConnectionResetError):
            return "next request lost"
        assert second.status == 200, second
        return "kept"


def assert_no_request_lost(base_url: str, request: bytes, expected_status: int) -> None:
    outcomes = [early_answer_then_health(base_url, request, expected_status) for _ in range(ROUNDS)]
    assert "next request lost" not in outcomes, outcomes


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def base_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    workdir: Path = tmp_path_factory.mktemp("keep-alive")
    if request.param == "sqlite":
        database_url = f"sqlite+aiosqlite:///{workdir / 'contacts.db'}"
    else:
        database_url = str(request.getfixturevalue("postgresql_url"))
    env = server_env(DATABASE_URL=database_url, JWT_SECRET=TEST_JWT_SECRET, RATE_LIMIT_AUTH="0")
    with live_server(workdir, env) as url:
        yield url


def test_an_oversized_signup_never_costs_the_next_request(base_url: str) -> None:
    assert_no_request_lost(base_url, post("/api/auth/signup", signup_body(OVERSIZED_BODY_BYTES)), 413)


def test_an_early_401_never_costs_the_next_request(base_url: str) -> None:
    assert_no_request_lost(base_url, post("/api/contacts", contact_body(LARGE_BODY_BYTES)), 401)


def test_a_404_with_a_body_never_costs_the_next_request(base_url: str) -> None:
    assert_no_request_lost(base_url, post("/api/nowhere", contact_body(LARGE_BODY_BYTES)), 404)


def test_a_405_with_a_body_never_costs_the_next_request(base_url: str) -> None:
    assert_no_request_lost(base_url, post("/health", contact_body(LARGE_BODY_BYTES)), 405)


def test_a_chunked_body_over_the_limit_never_costs_the_next_request(base_url: str) -> None:
    assert_no_request_lost(base_url, chunked_post("/api/auth/signup", signup_body(LARGE_BODY_BYTES)), 413)


def test_an_unread_body_under_the_drain_bound_is_drained_and_the_connection_kept(base_url: str) -> None:
    request = post("/api/contacts", contact_body(LARGE_BODY_BYTES))
    outcomes = [early_answer_then_health(base_url, request, 401) for _ in range(ROUNDS)]
    assert outcomes == ["kept"] * ROUNDS


def test_a_body_over_the_drain_bound_is_not_read_and_the_connection_is_closed(base_url: str) -> None:
    # Announced, and only its start sent: the answer must come anyway, and close the connection.
    with connect(base_url) as connection:
        connection.send(post("/api/contacts", b'{"first_name": ', declared_length=MAX_DRAINED_BODY_BYTES + 1))
        answer = connection.read_response()
        assert (answer.status, answer.closes_connection) == (401, True)
        assert connection.is_closed_by_server()


def test_a_request_after_connection_close_meets_a_closed_socket_not_silence(base_url: str) -> None:
    # Granian hands the app's `Connection: close` to hyper, which closes once the answer is out: a
    # client that sends anyway sees the connection fail at once (and retries on a new one), rather
    # than waiting on a socket that swallows its request.
    with connect(base_url) as connection:
        connection.send(post("/api/contacts", b'{"first_name": ', declared_length=MAX_DRAINED_BODY_BYTES + 1))
        assert connection.read_response().closes_connection
        with pytest.raises((ConnectionClosedError, BrokenPipeError, ConnectionResetError)):
            connection.send_and_read(GET_HEALTH)


def test_a_stalled_body_is_given_up_on_and_the_connection_closed(base_url: str) -> None:
    with connect(base_url) as connection:
        connection.send(post("/api/contacts", b'{"first_name": ', declared_length=1000))  # the rest never comes
        answer = connection.read_response()
        assert (answer.status, answer.closes_connection) == (401, True)
        assert connection.is_closed_by_server()


def test_a_body_the_client_waits_to_be_asked_for_is_not_asked_for_and_the_connection_closed(base_url: str) -> None:
    with connect(base_url) as connection:
        connection.send(post("/api/contacts", b"", "Expect: 100-continue", declared_length=1000))
        answer = connection.read_response()  # a 100 Continue would come first if the body were read
        assert (answer.status, answer.closes_connection) == (401, True)
        assert connection.is_closed_by_server()


def test_a_429_never_costs_the_next_request(tmp_path: Path) -> None:
    env = server_env(
        DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'contacts.db'}",
        JWT_SECRET=TEST_JWT_SECRET,
        RATE_LIMIT_AUTH="1",
        **CHEAP_HASHING,
    )
    first_signup = post("/api/auth/signup", json.dumps({"email": "ada@example.com", "password": PASSWORD}).encode())
    with live_server(tmp_path, env) as url:
        with connect(url) as connection:
            connection.send(first_signup)  # the one request a minute the limit allows
            assert connection.read_response().status == 201
        assert_no_request_lost(url, post("/api/auth/signup", signup_body(LARGE_BODY_BYTES)), 429)
