"""Refresh-token rotation, reuse detection and logout."""

from __future__ import annotations

from contacts_api.config import Settings
from tests.conftest import PASSWORD, ApiUser, Client, execute_sql, query_scalar, run_concurrently


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def refresh(client: Client, token: str) -> tuple[int, dict[str, str]]:
    response = await client.post("/api/auth/refresh", json={"refresh_token": token})
    return response.status_code, response.json()


async def test_refresh_returns_a_new_pair_that_works(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": user.refresh_token})
    assert response.status_code == 200
    assert response.headers["cache-control"] == "no-store"
    pair = response.json()
    assert pair["token_type"] == "bearer"
    assert pair["refresh_token"] != user.refresh_token
    me = await client.get("/api/users/me", headers=bearer(pair["access_token"]))
    assert me.status_code == 200


async def test_a_refreshed_token_cannot_be_used_twice(client: Client, user: ApiUser) -> None:
    assert (await refresh(client, user.refresh_token))[0] == 200
    status, body = await refresh(client, user.refresh_token)
    assert status == 401
    assert body["detail"] == "The refresh token is invalid, expired or already used"


async def test_refresh_token_reuse_revokes_session(client: Client, user: ApiUser) -> None:
    status, newer = await refresh(client, user.refresh_token)
    assert status == 200
    assert (await refresh(client, user.refresh_token))[0] == 401  # the old one, presented again
    # Everything of that session is dead now: the newest refresh token and its access token too.
    assert (await refresh(client, newer["refresh_token"]))[0] == 401
    me = await client.get("/api/users/me", headers=bearer(newer["access_token"]))
    assert me.status_code == 401
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 401


async def test_reuse_in_one_session_leaves_other_sessions_alive(client: Client, user: ApiUser) -> None:
    other = (await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})).json()
    await refresh(client, user.refresh_token)
    await refresh(client, user.refresh_token)  # theft detected in the first session
    assert (await client.get("/api/users/me", headers=bearer(other["access_token"]))).status_code == 200
    assert (await refresh(client, other["refresh_token"]))[0] == 200


async def test_concurrent_refreshes_with_one_token_never_give_two_pairs(client: Client, user: ApiUser) -> None:
    body = {"refresh_token": user.refresh_token}
    responses = run_concurrently(client, *[lambda http: http.post("/api/auth/refresh", json=body)] * 5)
    assert sorted(r.status_code for r in responses) == [200] + [401] * 4
    # The losers presented a token that had just been used: reuse, so the session is revoked.
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 401


async def test_forged_refresh_token_is_401(client: Client, user: ApiUser) -> None:
    header, payload, _ = user.refresh_token.split(".")
    assert (await refresh(client, f"{header}.{payload}.AAAA"))[0] == 401


async def test_refresh_rejects_an_empty_or_missing_token(client: Client) -> None:
    assert (await client.post("/api/auth/refresh", json={"refresh_token": ""})).status_code == 400
    assert (await client.post("/api/auth/refresh", json={})).status_code == 400


async def test_logout_revokes_both_tokens_of_the_session(client: Client, user: ApiUser, settings: Settings) -> None:
    response = await client.post("/api/auth/logout", headers=user.headers)
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 401
    assert (await refresh(client, user.refresh_token))[0] == 401
    revoked = await query_scalar(settings.database_url, "SELECT count(*) FROM sessions WHERE revoked_at IS NOT NULL")
    assert revoked == 1


async def test_logout_with_the_refresh_token_in_the_body(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/logout", headers=user.headers, json={"refresh_token": user.refresh_token})
    assert response.status_code == 204
    assert (await refresh(client, user.refresh_token))[0] == 401


async def test_another_session_survives_logout(client: Client, user: ApiUser) -> None:
    other = (await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})).json()
    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    assert (await client.get("/api/users/me", headers=bearer(other["access_token"]))).status_code == 200
    assert (await refresh(client, other["refresh_token"]))[0] == 200


async def test_logout_needs_an_access_token(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/logout")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    refresh_as_access = await client.post("/api/auth/logout", headers=bearer(user.refresh_token))
    assert refresh_as_access.status_code == 401


async def test_refresh_after_the_absolute_lifetime_is_401(client: Client, user: ApiUser, settings: Settings) -> None:
    await execute_sql(settings.database_url, "UPDATE sessions SET absolute_expires_at = created_at")
    assert (await refresh(client, user.refresh_token))[0] == 401


async def test_refresh_after_the_idle_timeout_is_401(client: Client, user: ApiUser, settings: Settings) -> None:
    await execute_sql(settings.database_url, "UPDATE sessions SET idle_expires_at = created_at")
    assert (await refresh(client, user.refresh_token))[0] == 401
