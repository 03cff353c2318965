"""Logs: one line per request, and never a password, token, hash or Authorization header."""

from __future__ import annotations

import json
import logging

import pytest

from contacts_api.config import Settings
from contacts_api.logs import JSONFormatter
from tests.conftest import PASSWORD, Client, query_scalar

NEW_PASSWORD = "a brand new passphrase"


async def test_the_accounts_flow_logs_no_secret(
    client: Client, settings: Settings, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    email = "logged@example.com"
    await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    tokens = (await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
    await client.post("/api/auth/login", json={"email": email, "password": "wrong password!"})
    refreshed = (await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})).json()
    headers = {"Authorization": f"Bearer {refreshed['access_token']}"}
    changed = await client.put(
        "/api/users/me/password", headers=headers, json={"current_password": PASSWORD, "new_password": NEW_PASSWORD}
    )
    assert changed.status_code == 204
    stored_hash = await query_scalar(settings.database_url, "SELECT password_hash FROM users")

    text = "\n".join(JSONFormatter().format(record) for record in caplog.records)
    assert "contacts_api.access" in text  # the flow was logged…
    secrets = [PASSWORD, NEW_PASSWORD, "wrong password!", stored_hash, stored_hash.split("$")[-1],
               tokens["access_token"], tokens["refresh_token"], refreshed["access_token"], refreshed["refresh_token"],
               "Bearer ", "authorization"]  # fmt: skip
    for secret in secrets:
        assert secret not in text, secret  # …without any of its secrets


async def test_one_access_line_per_request_with_its_fields(client: Client, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="contacts_api.access")
    response = await client.get("/health?probe=1")
    [record] = [r for r in caplog.records if r.name == "contacts_api.access"]
    line = json.loads(JSONFormatter().format(record))
    assert line["method"] == "GET"
    assert line["path"] == "/health"  # no query string
    assert line["status"] == 200
    assert line["request_id"] == response.headers["x-request-id"]
    assert isinstance(line["duration_ms"], float)
