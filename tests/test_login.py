"""POST /api/auth/login"""

from __future__ import annotations

import asyncio
import gc
import time
import unicodedata

import argon2
import httpx
import jwt
import pytest
from litestar.testing import AsyncTestClient

from contacts_api.accounts.passwords import PasswordHasher, PasswordMatch
from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import (
    PASSWORD,
    TEST_JWT_SECRET,
    ApiUser,
    Client,
    execute_sql,
    make_settings,
    query_scalar,
    run_concurrently,
    sign_up_and_log_in,
    wipe,
)
from tests.test_password_policy import COMPOSED, DECOMPOSED


async def store_a_hash_made_before_normalization(settings: Settings, email: str, typed: str) -> str:
    """Store what signup stored before passwords were normalized: a hash of the password exactly
    as typed, with today's parameters (so only its un-normalized input calls for a new hash)."""
    legacy_hasher = argon2.PasswordHasher(
        time_cost=settings.argon2_time_cost,
        memory_cost=settings.argon2_memory_cost_kib,
        parallelism=settings.argon2_parallelism,
    )
    legacy_hash = legacy_hasher.hash(typed)
    await execute_sql(
        settings.database_url, "UPDATE users SET password_hash = :h WHERE email = :e", h=legacy_hash, e=email
    )
    return legacy_hash


async def test_login_with_json_returns_a_token_pair(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"access_token", "refresh_token", "token_type", "expires_in"}
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 900


async def test_login_with_the_oauth2_password_form(client: Client, user: ApiUser) -> None:
    response = await client.post(
        "/api/auth/login", data={"grant_type": "password", "username": user.email, "password": PASSWORD}
    )
    assert response.status_code == 200, response.text
    me = await client.get("/api/users/me", headers={"Authorization": f"Bearer {response.json()['access_token']}"})
    assert me.json()["email"] == user.email


async def test_login_ignores_email_case_and_spaces(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/login", json={"email": f"  {user.email.upper()} ", "password": PASSWORD})
    assert response.status_code == 200


async def test_token_responses_are_not_cacheable(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["pragma"] == "no-cache"


async def test_wrong_password_and_unknown_email_give_identical_401s(client: Client, user: ApiUser) -> None:
    wrong_password = await client.post("/api/auth/login", json={"email": user.email, "password": "not the password"})
    unknown_email = await client.post("/api/auth/login", json={"email": "nobody@example.com", "password": PASSWORD})
    assert wrong_password.status_code == unknown_email.status_code == 401
    assert (
        wrong_password.json() == unknown_email.json() == {"status_code": 401, "detail": "Incorrect email or password"}
    )
    assert wrong_password.headers["www-authenticate"].startswith("Bearer")
    assert unknown_email.headers["www-authenticate"] == wrong_password.headers["www-authenticate"]


async def test_login_rejects_missing_fields_and_unknown_fields(client: Client) -> None:
    missing = await client.post("/api/auth/login", json={"email": "ada@example.com"})
    assert missing.status_code == 400
    assert missing.json()["extra"][0]["key"] == "password"
    unknown = await client.post("/api/auth/login", json={"email": "a@example.com", "password": "x", "admin": 1})
    assert unknown.status_code == 400


async def test_login_rejects_malformed_json(client: Client) -> None:
    response = await client.post("/api/auth/login", content=b"{nope", headers={"Content-Type": "application/json"})
    assert response.status_code == 400


async def test_login_rejects_an_unsupported_media_type(client: Client) -> None:
    response = await client.post("/api/auth/login", content=b"x", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415


async def test_login_rehashes_a_hash_made_with_weaker_parameters(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    from argon2 import PasswordHasher

    weak = PasswordHasher(time_cost=1, memory_cost=32, parallelism=1).hash(PASSWORD)
    await execute_sql(settings.database_url, "UPDATE users SET password_hash = :h", h=weak)

    response = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    assert response.status_code == 200
    stored = await query_scalar(settings.database_url, "SELECT password_hash FROM users")
    assert stored != weak
    assert "m=64,t=1,p=1" in stored


async def test_login_tokens_carry_the_required_claims(client: Client, user: ApiUser) -> None:
    claims = jwt.decode(user.access_token, TEST_JWT_SECRET, algorithms=["HS256"], audience="contacts-api")
    assert {"sub", "iat", "exp", "jti", "iss", "aud", "sid", "token_use"} <= set(claims)
    assert claims["sub"] == user.id
    assert claims["exp"] - claims["iat"] == 900
    assert jwt.get_unverified_header(user.access_token)["typ"] == "at+jwt"
    assert jwt.get_unverified_header(user.refresh_token)["typ"] == "refresh+jwt"


async def test_password_hashing_does_not_block_the_event_loop(settings: Settings) -> None:
    """With production-strength argon2 a login spends a good 0.1 s hashing. A ticker on the app's event
    loop must keep ticking meanwhile: were the hash computed on the loop, one tick would wait for
    the whole of it."""
    production = make_settings(
        # Production time and memory cost; one lane, so that on a 2-core machine the hash leaves
        # the event loop a core of its own and the measurement is about blocking, not contention.
        settings.database_url,
        argon2_time_cost=3,
        argon2_memory_cost_kib=65536,
        argon2_parallelism=1,
    )
    app = create_app(production)

    async def login_while_ticking() -> tuple[int, float, float]:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://testserver.local") as http:
            body = {"email": "nobody@example.com", "password": PASSWORD}
            await http.post("/api/auth/login", json=body)  # warm up: the dummy hash is made on first use
            login = asyncio.ensure_future(http.post("/api/auth/login", json=body))
            started, longest_tick = time.perf_counter(), 0.0
            while not login.done():
                tick = time.perf_counter()
                await asyncio.sleep(0.001)
                longest_tick = max(longest_tick, time.perf_counter() - tick)
            return (await login).status_code, time.perf_counter() - started, longest_tick

    async with AsyncTestClient(app=app) as strong_client:
        gc.disable()  # a full collection late in the suite can pause the loop on its own
        try:
            status, login_seconds, longest_tick = strong_client.blocking_portal.call(login_while_ticking)
        finally:
            gc.enable()
    assert status == 401
    assert login_seconds > 0.04, "production argon2 parameters should take a noticeable time"
    assert longest_tick < login_seconds / 3


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_login_holds_no_database_connection_while_its_password_is_checked(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # One pooled connection: were the waiting login holding it, the other request would get a 503.
    app = create_app(make_settings(database_url, db_pool_size=1, db_pool_timeout_seconds=1.0))
    async with AsyncTestClient(app=app) as client:
        user = await sign_up_and_log_in(client)
        gate = asyncio.Event()
        check_password = PasswordHasher.verify

        async def slow_check(self: PasswordHasher, password_hash: str, password: str) -> PasswordMatch:
            await gate.wait()
            return await check_password(self, password_hash, password)

        monkeypatch.setattr(PasswordHasher, "verify", slow_check)

        async def log_in(http: httpx.AsyncClient) -> httpx.Response:
            return await http.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})

        async def read_profile_meanwhile(http: httpx.AsyncClient) -> httpx.Response:
            await asyncio.sleep(0.2)  # the login is waiting for its check by now
            try:
                return await http.get("/api/users/me", headers=user.headers)
            finally:
                gate.set()

        logged_in, profile = run_concurrently(client, log_in, read_profile_meanwhile)
    await wipe(database_url)
    assert profile.status_code == 200, profile.text
    assert logged_in.status_code == 200, logged_in.text


async def test_the_oauth2_password_form_compares_the_normalized_password(client: Client) -> None:
    await client.post("/api/auth/signup", json={"email": "nfc@example.com", "password": COMPOSED})
    response = await client.post(
        "/api/auth/login", data={"grant_type": "password", "username": "nfc@example.com", "password": DECOMPOSED}
    )
    assert response.status_code == 200, response.text


async def test_an_account_whose_hash_predates_normalization_still_logs_in(client: Client, settings: Settings) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    await store_a_hash_made_before_normalization(settings, user.email, DECOMPOSED)
    response = await client.post("/api/auth/login", json={"email": user.email, "password": DECOMPOSED})
    assert response.status_code == 200, response.text


async def test_a_login_replaces_a_hash_that_predates_normalization_by_one_of_the_normalized_form(
    client: Client, settings: Settings
) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    legacy_hash = await store_a_hash_made_before_normalization(settings, user.email, DECOMPOSED)
    assert (await client.post("/api/auth/login", json={"email": user.email, "password": DECOMPOSED})).status_code == 200
    stored = await query_scalar(settings.database_url, "SELECT password_hash FROM users WHERE email = :e", e=user.email)
    assert stored != legacy_hash
    assert argon2.PasswordHasher().verify(stored, unicodedata.normalize("NFKC", DECOMPOSED))


async def test_a_wrong_password_is_401_for_an_account_whose_hash_predates_normalization(
    client: Client, settings: Settings
) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    legacy_hash = await store_a_hash_made_before_normalization(settings, user.email, DECOMPOSED)
    wrong = unicodedata.normalize("NFD", "Mañana-über-Café-2025")
    response = await client.post("/api/auth/login", json={"email": user.email, "password": wrong})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    stored = await query_scalar(settings.database_url, "SELECT password_hash FROM users WHERE email = :e", e=user.email)
    assert stored == legacy_hash
