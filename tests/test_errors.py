"""Failures answer with one JSON shape, never lose a write behind a 2xx, and never leak internals."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import event
from sqlalchemy.orm import Session

from contacts_api.config import Settings
from tests.conftest import PASSWORD, ApiUser, Client, query_scalar
from tests.contacts.conftest import contact_body


@pytest.fixture
def failing_commits() -> Iterator[None]:
    """Make every ORM commit fail, as a lost connection or a deferred constraint would."""

    def refuse(_session: Session) -> None:
        raise ConnectionResetError("commit lost")

    event.listen(Session, "before_commit", refuse)
    yield
    event.remove(Session, "before_commit", refuse)


async def test_a_failed_commit_never_answers_2xx(client: Client, settings: Settings, failing_commits: None) -> None:
    response = await client.post("/api/auth/signup", json={"email": "lost@example.com", "password": PASSWORD})
    assert response.status_code >= 500
    assert response.json()["status_code"] == response.status_code
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_sqlite_and_postgresql_enforce_foreign_keys(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await client.post("/api/contacts", headers=user.headers, json=contact_body())
    assert created.status_code == 201
    from sqlalchemy import text

    from contacts_api.db import create_engine

    engine = create_engine(settings)  # configured exactly as the app's
    async with engine.begin() as connection:
        await connection.execute(text("DELETE FROM users"))
    await engine.dispose()
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contacts") == 0  # ON DELETE CASCADE ran


async def test_unexpected_errors_are_a_generic_500_with_the_traceback_only_in_the_log(
    client: Client, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    from contacts_api.accounts.services import AccountService

    async def explode(*_: Any) -> Any:
        raise RuntimeError("secret internal detail")

    monkeypatch.setattr(AccountService, "sign_up", explode)
    with caplog.at_level(logging.ERROR):
        response = await client.post("/api/auth/signup", json={"email": "new@example.com", "password": PASSWORD})
    assert response.status_code == 500
    assert response.json() == {"status_code": 500, "detail": "Internal server error"}
    assert "secret internal detail" in caplog.text


async def test_unknown_route_is_a_json_404(client: Client) -> None:
    response = await client.get("/api/nothing-here")
    assert response.status_code == 404
    assert response.json()["status_code"] == 404


async def test_wrong_method_is_a_json_405(client: Client) -> None:
    response = await client.request("TRACE", "/api/contacts")
    assert response.status_code == 405
    assert response.json()["status_code"] == 405


async def test_a_body_that_is_not_an_object_is_400(client: Client) -> None:
    response = await client.post("/api/auth/signup", json=["a", "b"])
    assert response.status_code == 400


async def test_only_a_unique_violation_counts_as_a_conflict(settings: Settings) -> None:
    import datetime
    import uuid

    from sqlalchemy import insert
    from sqlalchemy.exc import IntegrityError

    from contacts_api.accounts.models import LoginSessionModel
    from contacts_api.db import create_engine
    from contacts_api.errors import is_unique_violation

    now = datetime.datetime.now(datetime.UTC)
    orphan_session = insert(LoginSessionModel).values(
        id=uuid.uuid4(), user_id=uuid.uuid4(), refresh_jti=uuid.uuid4(), last_refreshed_at=now,
        last_used_at=now, idle_expires_at=now, absolute_expires_at=now, created_at=now, updated_at=now,
    )  # fmt: skip
    engine = create_engine(settings)  # foreign keys on, as in the app
    try:
        async with engine.connect() as connection:
            with pytest.raises(IntegrityError) as raised:
                await connection.execute(orphan_session)
    finally:
        await engine.dispose()
    assert not is_unique_violation(raised.value)  # a foreign-key violation is not a duplicate


async def test_a_client_hanging_up_mid_body_is_not_logged_as_a_server_error(
    client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    sent: list[dict[str, Any]] = []

    async def hang_up() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def record(message: Any) -> None:
        sent.append(dict(message))

    scope = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/api/auth/login", "raw_path": b"/api/auth/login", "root_path": "", "query_string": b"",
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"100")],
        "client": ("127.0.0.1", 5000), "server": ("testserver", 80),
    }  # fmt: skip
    with caplog.at_level(logging.INFO):
        client.blocking_portal.call(client.app, scope, hang_up, record)
    assert sent[0]["status"] == 400
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]
