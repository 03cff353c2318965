"""Each contacts read costs the database two statements, the session check and its own work, and
runs them without a transaction around them (no BEGIN or COMMIT round trips); the writes, which
also take a change number and write the index tables or a tombstone, run in one transaction.
PostgreSQL plans each statement for its own values."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from litestar import Litestar
from sqlalchemy import event, text
from sqlalchemy.engine import Connection

from contacts_api.db import DB_CONFIG_STATE_KEY
from tests.conftest import ApiUser, Client
from tests.contacts.conftest import contact_body, create_contact


@contextmanager
def statements_sent(app: Litestar) -> Iterator[list[str | None]]:
    """The isolation level each SQL statement ran under, in order, while the block runs."""
    engine = app.state[DB_CONFIG_STATE_KEY].get_engine().sync_engine
    seen: list[str | None] = []

    def record(connection: Connection, *_: Any) -> None:
        seen.append(connection.get_execution_options().get("isolation_level"))

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("GET", "/api/contacts", None),
        ("GET", "/api/contacts?q=ada", None),
        ("GET", "/api/contacts/{id}", None),
        ("GET", "/api/contacts/birthdays", None),
        ("GET", "/api/contacts/tags", None),
        ("GET", "/api/contacts/changes", None),
    ],
)
async def test_a_contacts_route_is_two_statements_without_a_transaction(
    app: Litestar, client: Client, user: ApiUser, method: str, path: str, body: dict[str, Any] | None
) -> None:
    contact = await create_contact(client, user)
    with statements_sent(app) as isolation_levels:
        response = await client.request(method, path.format(id=contact["id"]), json=body, headers=user.headers)
    assert response.status_code < 300, response.text
    assert isolation_levels == ["AUTOCOMMIT", "AUTOCOMMIT"]


@pytest.mark.parametrize(
    ("method", "path", "body"),
    [
        ("POST", "/api/contacts", contact_body(email="second@example.com")),
        ("PUT", "/api/contacts/{id}", contact_body(phone="+1 555 010 0999")),
        ("PATCH", "/api/contacts/{id}", {"notes": "changed"}),
        ("DELETE", "/api/contacts/{id}", None),
    ],
)
async def test_a_contact_write_runs_in_one_transaction_with_its_index_rows(
    app: Litestar, client: Client, user: ApiUser, method: str, path: str, body: dict[str, Any] | None
) -> None:
    # The row and its index rows (emails, phones, tags), its change number and (for a deletion)
    # its tombstone commit together or not at all.
    contact = await create_contact(client, user)
    with statements_sent(app) as isolation_levels:
        response = await client.request(method, path.format(id=contact["id"]), json=body, headers=user.headers)
    assert response.status_code < 300, response.text
    assert "AUTOCOMMIT" not in isolation_levels


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_postgresql_plans_each_statement_for_its_own_owner_and_text(app: Litestar, client: Client) -> None:
    # A generic plan assumes an average book: for a 100,000-contact book it scans every row
    # of a search (see db.py and benchmarks/). Each run is planned for its own values instead.
    engine = app.state[DB_CONFIG_STATE_KEY].get_engine()
    async with engine.connect() as connection:
        assert (await connection.execute(text("SHOW plan_cache_mode"))).scalar() == "force_custom_plan"


async def test_a_route_that_does_not_declare_one_statement_runs_in_a_transaction(
    app: Litestar, client: Client, user: ApiUser
) -> None:
    # PATCH /api/users/me says nothing about its statements: it gets the default, a transaction.
    with statements_sent(app) as isolation_levels:
        response = await client.patch("/api/users/me", headers=user.headers, json={"full_name": "Ada"})
    assert response.status_code == 200
    assert "AUTOCOMMIT" not in isolation_levels
    assert len(isolation_levels) >= 2
