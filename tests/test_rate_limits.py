"""429s on the auth routes: per client address, and per account for failed logins."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from litestar import Litestar
from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import PASSWORD, in_ci, make_settings, run_concurrently, sign_up_and_log_in, wipe

REDIS_URL = "redis://127.0.0.1:6379/15"


def limited(settings: Settings, **overrides: object) -> Litestar:
    return create_app(make_settings(settings.database_url, **overrides))


async def test_auth_routes_answer_429_with_retry_after_past_the_limit(settings: Settings) -> None:
    async with AsyncTestClient(app=limited(settings, rate_limit_auth=3)) as client:
        statuses = [
            (await client.post("/api/auth/login", json={"email": "x@example.com", "password": "whatever1"})).status_code
            for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        blocked = await client.post("/api/auth/signup", json={"email": "new@example.com", "password": PASSWORD})
        assert blocked.status_code == 429
        assert int(blocked.headers["retry-after"]) >= 1
        assert blocked.json()["status_code"] == 429


async def test_the_auth_limit_leaves_other_routes_alone(settings: Settings) -> None:
    async with AsyncTestClient(app=limited(settings, rate_limit_auth=2)) as client:
        user = await sign_up_and_log_in(client)  # uses up both auth requests
        assert (await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})).status_code == 429
        for _ in range(5):
            assert (await client.get("/api/contacts", headers=user.headers)).status_code == 200
        assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    await wipe(settings.database_url)


async def test_failed_logins_lock_only_that_account(settings: Settings) -> None:
    app = limited(settings, rate_limit_login_failures=3)
    async with AsyncTestClient(app=app) as client:
        victim = await sign_up_and_log_in(client)
        bystander = await sign_up_and_log_in(client)
        for _ in range(3):
            wrong = await client.post("/api/auth/login", json={"email": victim.email, "password": "guess-guess"})
            assert wrong.status_code == 401
        locked = await client.post("/api/auth/login", json={"email": victim.email, "password": PASSWORD})
        assert locked.status_code == 429
        assert int(locked.headers["retry-after"]) > 60
        assert "Too many failed logins" in locked.json()["detail"]
        other = await client.post("/api/auth/login", json={"email": bystander.email, "password": PASSWORD})
        assert other.status_code == 200
    await wipe(settings.database_url)


async def test_a_successful_login_resets_the_failure_count(settings: Settings) -> None:
    async with AsyncTestClient(app=limited(settings, rate_limit_login_failures=3)) as client:
        user = await sign_up_and_log_in(client)
        for _ in range(2):
            await client.post("/api/auth/login", json={"email": user.email, "password": "guess-guess"})
        assert (
            await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        ).status_code == 200
        for _ in range(2):
            await client.post("/api/auth/login", json={"email": user.email, "password": "guess-guess"})
        assert (
            await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
        ).status_code == 200
    await wipe(settings.database_url)


async def test_concurrent_wrong_guesses_cannot_outrun_the_failure_limit(settings: Settings) -> None:
    async with AsyncTestClient(app=limited(settings, rate_limit_login_failures=3)) as client:
        victim = await sign_up_and_log_in(client)
        body = {"email": victim.email, "password": "guess-guess"}
        responses = run_concurrently(client, *[lambda http: http.post("/api/auth/login", json=body)] * 20)
        statuses = sorted(response.status_code for response in responses)
        assert statuses == [401] * 3 + [429] * 17
    await wipe(settings.database_url)


async def test_password_rechecks_count_against_the_failure_limit(settings: Settings) -> None:
    # A stolen access token must not turn "change password" into an unlimited password oracle.
    async with AsyncTestClient(app=limited(settings, rate_limit_login_failures=3)) as client:
        user = await sign_up_and_log_in(client)
        wrong = {"current_password": "guess-guess", "new_password": "a brand new passphrase"}
        statuses = [
            (await client.put("/api/users/me/password", headers=user.headers, json=wrong)).status_code for _ in range(4)
        ]
        assert statuses == [401, 401, 401, 429]
        deletion = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": PASSWORD})
        assert deletion.status_code == 429  # even the right password waits out the window
    await wipe(settings.database_url)


@pytest.fixture
async def redis_url() -> AsyncIterator[str]:
    client = aioredis.from_url(REDIS_URL)
    try:
        await client.ping()
    except (OSError, aioredis.ConnectionError) as exc:
        if in_ci():
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc!r}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc!r}")
    await client.flushdb()
    yield REDIS_URL
    await client.flushdb()
    await client.aclose()


async def test_limits_are_shared_between_app_processes_through_redis(settings: Settings, redis_url: str) -> None:
    # Two apps stand for two processes: what one counts, the other sees.
    first = limited(settings, rate_limit_auth=3, rate_limit_login_failures=2, redis_url=redis_url)
    second = limited(settings, rate_limit_auth=3, rate_limit_login_failures=2, redis_url=redis_url)
    email = f"shared-{uuid.uuid4().hex[:8]}@example.com"
    async with AsyncTestClient(app=first) as one, AsyncTestClient(app=second) as two:
        for _ in range(2):
            assert (
                await one.post("/api/auth/login", json={"email": email, "password": "guess-guess"})
            ).status_code == 401
        # The per-account failure count reached 2 through the first app; the second refuses too.
        assert (await two.post("/api/auth/login", json={"email": email, "password": "guess-guess"})).status_code == 429
        # Three auth requests so far, two through one app and one through the other: the shared
        # per-address budget of 3 is spent, in both.
        other_email = {"email": "y@example.com", "password": "whatever1"}
        assert (await two.post("/api/auth/login", json=other_email)).status_code == 429
        assert (await one.post("/api/auth/login", json=other_email)).status_code == 429
