"""Shared fixtures: every API test runs once on SQLite and once on PostgreSQL.

PostgreSQL comes from TEST_DATABASE_URL (an admin URL; default: the local server). Each run
creates its own database, migrates it with Alembic and drops it afterwards. When the server is
unreachable the PostgreSQL cases are skipped, except in CI (CI=true), where they fail.
"""

from __future__ import annotations

import asyncio
import datetime
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx
import pytest
from litestar import Litestar
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

from contacts_api.app import create_app
from contacts_api.config import Settings
from contacts_api.db import upgrade_database
from tests.smtp_server import SMTPTestServer

Client = AsyncTestClient[Litestar]  # the test client every API test receives

DEFAULT_ADMIN_URL = "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres"
TEST_JWT_SECRET = "test-secret-that-is-long-enough-for-hs256-0123456789"
PASSWORD = "a fine long passphrase"
TABLES_CHILD_FIRST = (
    "mail_outbox", "account_tokens", "contact_emails", "contact_phones", "contact_tags", "contacts",
    "contact_tombstones", "address_books", "sessions", "users",
)  # fmt: skip


@pytest.fixture(scope="session")
def anyio_backend() -> str:
    return "asyncio"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


async def admin_execute(admin_url: str, statement: str) -> None:
    url = make_url(admin_url)
    connection = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
        timeout=5,
    )
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


@pytest.fixture(scope="session")
def postgresql_url() -> Iterator[str]:
    admin_url = os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)
    name = f"contacts_test_{uuid.uuid4().hex[:12]}"
    try:
        asyncio.run(admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
        message = f"PostgreSQL at {make_url(admin_url).render_as_string(hide_password=True)} is unreachable: {exc!r}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    url = make_url(admin_url).set(database=name).render_as_string(hide_password=False)
    try:
        upgrade_database(url)
        yield url
    finally:
        asyncio.run(admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def sqlite_url(tmp_path_factory: pytest.TempPathFactory) -> str:
    url = f"sqlite+aiosqlite:///{tmp_path_factory.mktemp('sqlite') / 'contacts.db'}"
    upgrade_database(url)
    return url


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest) -> str:
    return str(request.getfixturevalue(f"{request.param}_url"))


def make_settings(database_url: str, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "environment": "test",
        "database_url": database_url,
        "jwt_secret": TEST_JWT_SECRET,
        # Cheap hashing keeps the suite fast; one test checks the production parameters.
        "argon2_time_cost": 1,
        "argon2_memory_cost_kib": 64,
        "argon2_parallelism": 1,
        "db_pool_timeout_seconds": 5.0,
        # Abuse limits off, except in the tests about them: the whole suite comes from one address.
        "rate_limit_auth": 0,
        "rate_limit_login_failures": 0,
    }
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings(database_url: str) -> Settings:
    return make_settings(database_url)


@dataclass
class PinnedClock:
    """A clock tests can set; defaults to the real time so tokens look fresh."""

    pinned: datetime.datetime | None = None

    def __call__(self) -> datetime.datetime:
        return self.pinned or datetime.datetime.now(datetime.UTC)

    def set_date(self, day: datetime.date) -> None:
        self.pinned = datetime.datetime.combine(day, datetime.time(12, 0), tzinfo=datetime.UTC)


@pytest.fixture
def clock() -> PinnedClock:
    return PinnedClock()


@pytest.fixture
def app(settings: Settings, clock: PinnedClock) -> Litestar:
    return create_app(settings, clock=clock)


async def wipe(database_url: str) -> None:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for table in TABLES_CHILD_FIRST:
                await connection.execute(text(f"DELETE FROM {table}"))
    finally:
        await engine.dispose()


@pytest.fixture
async def client(app: Litestar, settings: Settings) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client
    await wipe(settings.database_url)


@dataclass
class ApiUser:
    email: str
    password: str
    id: str
    access_token: str
    refresh_token: str
    headers: dict[str, str] = field(default_factory=dict)


async def sign_up_and_log_in(
    client: AsyncTestClient[Litestar], email: str | None = None, password: str = PASSWORD
) -> ApiUser:
    email = email or f"user-{uuid.uuid4().hex[:10]}@example.com"
    signup = await client.post(
        "/api/auth/signup", json={"email": email, "password": password, "full_name": "Test User"}
    )
    assert signup.status_code == 201, signup.text
    login = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200, login.text
    tokens = login.json()
    return ApiUser(
        email=email,
        password=password,
        id=signup.json()["id"],
        access_token=tokens["access_token"],
        refresh_token=tokens["refresh_token"],
        headers={"Authorization": f"Bearer {tokens['access_token']}"},
    )


@pytest.fixture
async def user(client: AsyncTestClient[Litestar]) -> ApiUser:
    return await sign_up_and_log_in(client)


@pytest.fixture
async def other_user(client: AsyncTestClient[Litestar]) -> ApiUser:
    return await sign_up_and_log_in(client)


async def execute_sql(database_url: str, sql: str, **params: Any) -> None:
    """Change the database behind the app's back, to set up a state no route can reach."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(text(sql), params)
    finally:
        await engine.dispose()


async def query_scalar(database_url: str, sql: str, **params: Any) -> Any:
    """Read the database directly, to check what a request did (or did not) store."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return (await connection.execute(text(sql), params)).scalar()
    finally:
        await engine.dispose()


RequestCall = Callable[[httpx.AsyncClient], Awaitable[httpx.Response]]


def run_concurrently(client: AsyncTestClient[Litestar], *calls: RequestCall) -> list[httpx.Response]:
    """Send requests to the app at the same time, for real.

    Litestar's AsyncTestClient hands each request to the app's event loop (in another thread)
    and waits for it, so `asyncio.gather` over it runs them one after another. Here the requests
    start together inside the app's own loop, through httpx's ASGI transport.
    """

    async def send_all() -> list[httpx.Response]:
        transport = httpx.ASGITransport(app=client.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            return list(await asyncio.gather(*(call(http) for call in calls)))

    return client.blocking_portal.call(send_all)


@pytest.fixture
def smtp_server() -> Iterator[SMTPTestServer]:
    """A running SMTP server on a free port (tests/smtp_server.py)."""
    server = SMTPTestServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture
def mail_settings(database_url: str, smtp_server: SMTPTestServer) -> Settings:
    """Settings whose mail goes to `smtp_server`, looked for often."""
    return make_settings(database_url, smtp_url=smtp_server.url, mail_poll_seconds=0.2, mail_retry_max_seconds=1)


@pytest.fixture
async def mail_client(mail_settings: Settings, clock: PinnedClock) -> AsyncIterator[AsyncTestClient[Litestar]]:
    """A client of an app that sends its mail to `smtp_server`."""
    async with AsyncTestClient(app=create_app(mail_settings, clock=clock)) as test_client:
        yield test_client
    await wipe(mail_settings.database_url)
