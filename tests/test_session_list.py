"""The list of a user's sessions (the contract's "Accounts: email, recovery and sessions"):
GET /api/users/me/sessions, DELETE /api/users/me/sessions/{id} and DELETE /api/users/me/sessions,
on both databases."""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from contacts_api.config import Settings
from tests.account_mail import bearer, db_time, log_in, new_address, sign_up
from tests.conftest import Client, execute_sql, query_scalar

SESSION_FIELDS = {"id", "created_at", "last_used_at", "user_agent", "current"}


def parse_time(value: str) -> datetime.datetime:
    moment = datetime.datetime.fromisoformat(value)
    assert moment.utcoffset() is not None, value  # timestamps carry their UTC offset
    return moment


async def logged_in(client: Client, email: str, user_agent: str) -> dict[str, Any]:
    response = await log_in(client, email, user_agent=user_agent)
    assert response.status_code == 200, response.text
    pair: dict[str, Any] = response.json()
    return pair


async def sessions_of(client: Client, access_token: str) -> list[dict[str, Any]]:
    response = await client.get("/api/users/me/sessions", headers=bearer(access_token))
    assert response.status_code == 200, response.text
    listed: list[dict[str, Any]] = response.json()
    return listed


async def account_with_sessions(client: Client, *user_agents: str) -> tuple[str, list[dict[str, Any]]]:
    """A fresh account logged in once per user agent, in order: (its address, the token pairs)."""
    email = new_address()
    await sign_up(client, email)
    return email, [await logged_in(client, email, agent) for agent in user_agents]


async def current_session_id(client: Client, access_token: str) -> str:
    [current] = [entry for entry in await sessions_of(client, access_token) if entry["current"]]
    return str(current["id"])


async def test_sessions_list_shows_each_session_with_its_fields(client: Client) -> None:
    _, [pair] = await account_with_sessions(client, "Firefox/128.0 (X11; Linux)")
    [session] = await sessions_of(client, pair["access_token"])
    assert set(session) == SESSION_FIELDS
    uuid.UUID(session["id"])
    created, last_used = parse_time(session["created_at"]), parse_time(session["last_used_at"])
    now = datetime.datetime.now(datetime.UTC)
    assert abs(now - created) < datetime.timedelta(minutes=1)
    assert abs(now - last_used) < datetime.timedelta(minutes=1)
    assert session["user_agent"] == "Firefox/128.0 (X11; Linux)"
    assert session["current"] is True


async def test_sessions_are_listed_newest_first(client: Client) -> None:
    _, pairs = await account_with_sessions(client, "first", "second", "third")
    listed = await sessions_of(client, pairs[0]["access_token"])
    assert [entry["user_agent"] for entry in listed] == ["third", "second", "first"]
    created = [parse_time(entry["created_at"]) for entry in listed]
    assert created == sorted(created, reverse=True)


async def test_only_the_asking_session_is_current(client: Client) -> None:
    _, pairs = await account_with_sessions(client, "phone", "laptop")
    for pair, agent in zip(pairs, ["phone", "laptop"], strict=True):
        listed = await sessions_of(client, pair["access_token"])
        assert {entry["user_agent"]: entry["current"] for entry in listed} == {
            "phone": agent == "phone",
            "laptop": agent == "laptop",
        }


async def test_the_user_agent_is_the_logins_and_absent_without_one(client: Client) -> None:
    email = new_address()
    await sign_up(client, email)
    await logged_in(client, email, "x" * 600)  # cut to the column
    blank = await logged_in(client, email, "   ")
    agents = [entry["user_agent"] for entry in await sessions_of(client, blank["access_token"])]
    assert agents == [None, "x" * 500]


async def test_a_later_requests_user_agent_does_not_change_the_session(client: Client) -> None:
    _, [pair] = await account_with_sessions(client, "the login's agent")
    response = await client.get(
        "/api/users/me/sessions", headers={**bearer(pair["access_token"]), "User-Agent": "something else"}
    )
    assert [entry["user_agent"] for entry in response.json()] == ["the login's agent"]


async def test_the_list_shows_only_the_users_own_live_sessions(client: Client) -> None:
    _email, [ended, kept] = await account_with_sessions(client, "ended", "kept")
    await account_with_sessions(client, "someone else's")
    assert (await client.post("/api/auth/logout", headers=bearer(ended["access_token"]))).status_code == 204
    assert [entry["user_agent"] for entry in await sessions_of(client, kept["access_token"])] == ["kept"]


async def test_sessions_list_needs_an_access_token(client: Client) -> None:
    response = await client.get("/api/users/me/sessions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    _, [pair] = await account_with_sessions(client, "agent")
    assert (await client.get("/api/users/me/sessions", headers=bearer(pair["refresh_token"]))).status_code == 401


# Ending one session ------------------------------------------------------------------------------


async def test_ending_a_session_stops_its_tokens_at_once(client: Client) -> None:
    _, [doomed, mine] = await account_with_sessions(client, "lost phone", "laptop")
    doomed_id = await current_session_id(client, doomed["access_token"])
    response = await client.delete(f"/api/users/me/sessions/{doomed_id}", headers=bearer(mine["access_token"]))
    assert response.status_code == 204
    assert response.content == b""
    assert (await client.get("/api/users/me", headers=bearer(doomed["access_token"]))).status_code == 401
    refreshed = await client.post("/api/auth/refresh", json={"refresh_token": doomed["refresh_token"]})
    assert refreshed.status_code == 401
    assert [entry["user_agent"] for entry in await sessions_of(client, mine["access_token"])] == ["laptop"]


async def test_ending_the_current_session_logs_it_out(client: Client) -> None:
    _, [pair] = await account_with_sessions(client, "agent")
    session_id = await current_session_id(client, pair["access_token"])
    headers = bearer(pair["access_token"])
    assert (await client.delete(f"/api/users/me/sessions/{session_id}", headers=headers)).status_code == 204
    assert (await client.get("/api/users/me", headers=headers)).status_code == 401


async def test_ending_another_users_session_is_404_and_ends_nothing(client: Client) -> None:
    _, [victim] = await account_with_sessions(client, "victim")
    _, [attacker] = await account_with_sessions(client, "attacker")
    victim_session = await current_session_id(client, victim["access_token"])
    response = await client.delete(f"/api/users/me/sessions/{victim_session}", headers=bearer(attacker["access_token"]))
    assert response.status_code == 404
    assert response.json()["status_code"] == 404
    assert (await client.get("/api/users/me", headers=bearer(victim["access_token"]))).status_code == 200


async def test_ending_an_unknown_session_is_404_like_another_users(client: Client) -> None:
    _, [victim] = await account_with_sessions(client, "victim")
    _, [attacker] = await account_with_sessions(client, "attacker")
    headers = bearer(attacker["access_token"])
    others = await client.delete(
        f"/api/users/me/sessions/{await current_session_id(client, victim['access_token'])}", headers=headers
    )
    unknown = await client.delete(f"/api/users/me/sessions/{uuid.uuid4()}", headers=headers)
    assert unknown.status_code == 404
    assert unknown.json() == others.json()


async def test_ending_a_session_with_a_malformed_id_is_404_or_400(client: Client) -> None:
    _, [pair] = await account_with_sessions(client, "agent")
    for session_id in ("not-a-uuid", "123", "%00"):
        response = await client.delete(f"/api/users/me/sessions/{session_id}", headers=bearer(pair["access_token"]))
        assert response.status_code in (400, 404), session_id
        assert response.json()["status_code"] == response.status_code
    assert (await client.get("/api/users/me", headers=bearer(pair["access_token"]))).status_code == 200


async def test_ending_a_session_needs_an_access_token(client: Client) -> None:
    response = await client.delete(f"/api/users/me/sessions/{uuid.uuid4()}")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# Ending every other session ----------------------------------------------------------------------


async def test_ending_all_other_sessions_keeps_the_current_one(client: Client, settings: Settings) -> None:
    _, [one, two, mine] = await account_with_sessions(client, "one", "two", "mine")
    _, [bystander] = await account_with_sessions(client, "another user")
    response = await client.delete("/api/users/me/sessions", headers=bearer(mine["access_token"]))
    assert response.status_code == 204
    assert response.content == b""
    for ended in (one, two):
        assert (await client.get("/api/users/me", headers=bearer(ended["access_token"]))).status_code == 401
        refreshed = await client.post("/api/auth/refresh", json={"refresh_token": ended["refresh_token"]})
        assert refreshed.status_code == 401
    assert (await client.get("/api/users/me", headers=bearer(mine["access_token"]))).status_code == 200
    assert (await client.post("/api/auth/refresh", json={"refresh_token": mine["refresh_token"]})).status_code == 200
    assert (await client.get("/api/users/me", headers=bearer(bystander["access_token"]))).status_code == 200
    live = await query_scalar(settings.database_url, "SELECT count(*) FROM sessions WHERE revoked_at IS NULL")
    assert live == 2  # the current one and the other user's


async def test_ending_all_other_sessions_needs_an_access_token(client: Client) -> None:
    response = await client.delete("/api/users/me/sessions")
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


# last_used_at ------------------------------------------------------------------------------------


async def test_last_used_at_is_not_rewritten_within_a_minute(client: Client) -> None:
    _, [pair] = await account_with_sessions(client, "agent")
    [before] = await sessions_of(client, pair["access_token"])
    assert (await client.get("/api/users/me", headers=bearer(pair["access_token"]))).status_code == 200
    [after] = await sessions_of(client, pair["access_token"])
    assert after["last_used_at"] == before["last_used_at"]


async def test_last_used_at_moves_on_after_a_minute(client: Client, settings: Settings) -> None:
    _, [pair] = await account_with_sessions(client, "agent")
    long_ago = datetime.datetime.now(datetime.UTC) - datetime.timedelta(minutes=5)
    await execute_sql(
        settings.database_url, "UPDATE sessions SET last_used_at = :t", t=db_time(settings.database_url, long_ago)
    )
    assert (await client.get("/api/users/me", headers=bearer(pair["access_token"]))).status_code == 200
    [session] = await sessions_of(client, pair["access_token"])
    last_used = parse_time(session["last_used_at"])
    assert last_used > long_ago + datetime.timedelta(minutes=4)
    assert datetime.datetime.now(datetime.UTC) - last_used < datetime.timedelta(seconds=30)
