"""The service rides out a PostgreSQL that drops connections, and answers 503 while it is gone."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import asyncpg
import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url

from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import PASSWORD, admin_execute, make_settings, sign_up_and_log_in, wipe
from tests.contacts.conftest import contact_body


async def terminate_connections(settings: Settings) -> None:
    """End the app's PostgreSQL backends, as a server restart or an administrator would."""
    database = make_url(settings.database_url).database
    admin_url = make_url(settings.database_url).set(database="postgres").render_as_string(hide_password=False)
    await admin_execute(
        admin_url,
        f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
        f"WHERE datname = '{database}' AND pid <> pg_backend_pid()",
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_requests_succeed_after_the_apps_connections_are_terminated(settings: Settings) -> None:
    async with AsyncTestClient(app=create_app(settings)) as client:
        user = await sign_up_and_log_in(client)
        for _ in range(3):  # fill the pool with a few connections
            assert (await client.get("/api/users/me", headers=user.headers)).status_code == 200
        await terminate_connections(settings)
        await asyncio.sleep(0.2)  # as between a restart and the next request: the sockets are closed
        for _ in range(5):
            response = await client.get("/api/users/me", headers=user.headers)
            assert response.status_code == 200, response.text
        created = await client.post("/api/contacts", headers=user.headers, json=contact_body())
        assert created.status_code == 201
    await wipe(settings.database_url)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_request_racing_the_termination_fails_alone_with_a_503(settings: Settings) -> None:
    # Closed connections are found without a round trip (db.py, discard_closed_connections), so
    # a request may still pick one whose closing the app has not yet read: that request alone
    # fails, cleanly, and the pool then replaces its connections.
    async with AsyncTestClient(app=create_app(settings)) as client:
        user = await sign_up_and_log_in(client)
        for _ in range(3):
            assert (await client.get("/api/users/me", headers=user.headers)).status_code == 200
        await terminate_connections(settings)
        statuses = [(await client.get("/api/users/me", headers=user.headers)).status_code for _ in range(6)]
    await wipe(settings.database_url)
    assert statuses[0] in {200, 503}
    assert statuses[1:] == [200] * 5


async def test_a_stopped_server_gives_503s_and_an_unhealthy_health() -> None:
    app = create_app(make_settings("postgresql+asyncpg://postgres@127.0.0.1:9/gone", db_pool_timeout_seconds=1))
    async with AsyncTestClient(app=app) as client:
        health = await client.get("/health")
        assert (health.status_code, health.headers["retry-after"]) == (503, "5")
        login = await client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
        assert login.status_code == 503
        assert login.json() == {"status_code": 503, "detail": "The database is unavailable; try again shortly"}
        assert login.headers["retry-after"]
        me = await client.get("/api/users/me", headers={"Authorization": "Bearer x.y.z"})
        assert me.status_code == 401  # a bad token is refused before any database work


@asynccontextmanager
async def tables_locked(database_url: str, tables: str) -> AsyncIterator[None]:
    """Hold an exclusive lock on `tables` from another connection, as a long migration would."""
    url = make_url(database_url)
    blocker = await asyncpg.connect(host=url.host, port=url.port or 5432, user=url.username, database=url.database)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute(f"LOCK TABLE {tables} IN ACCESS EXCLUSIVE MODE")
        yield
        await transaction.rollback()
    finally:
        await blocker.close()


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_blocked_statement_times_out_into_a_503_instead_of_hanging(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, db_statement_timeout_ms=500))
    async with AsyncTestClient(app=app) as client:
        user = await sign_up_and_log_in(client)
        async with tables_locked(settings.database_url, "contacts"):
            started = time.perf_counter()
            response = await client.get("/api/contacts", headers=user.headers)
            elapsed = time.perf_counter() - started
        assert response.status_code == 503, response.text
        assert elapsed < 5
        assert (await client.get("/api/contacts", headers=user.headers)).status_code == 200
    await wipe(settings.database_url)


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_write_blocked_by_a_lock_is_a_503_not_a_false_conflict(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, db_statement_timeout_ms=500))
    async with AsyncTestClient(app=app) as client:
        user = await sign_up_and_log_in(client)
        async with tables_locked(settings.database_url, "contacts, users"):
            contact = await client.post("/api/contacts", headers=user.headers, json=contact_body())
            signup = await client.post("/api/auth/signup", json={"email": "late@example.com", "password": PASSWORD})
        assert (contact.status_code, signup.status_code) == (503, 503), (contact.text, signup.text)
    await wipe(settings.database_url)


async def test_redis_out_of_reach_gives_503s_on_the_auth_routes(settings: Settings) -> None:
    app = create_app(make_settings(settings.database_url, rate_limit_auth=5, redis_url="redis://127.0.0.1:9/0"))
    async with AsyncTestClient(app=app) as client:
        response = await client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
    assert response.status_code == 503
    assert response.json()["status_code"] == 503
