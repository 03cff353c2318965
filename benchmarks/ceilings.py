"""Baseline apps that bound what the service could reach on this machine.

Each runs through `contacts_api.server.run_server`, exactly as `contacts-api serve` runs the service,
so any gap between a ceiling and the service is the service's own work:

    python -m benchmarks.ceilings hello --port 8001 --workers 1
    BENCH_DATABASE_URL=postgresql://... BENCH_OWNER_ID=<uuid> python -m benchmarks.ceilings asyncpg-list --port 8002

- `hello`: a bare Litestar app answering `GET /` with a constant JSON object.
- `asyncpg-list`: `GET /api/contacts` for one fixed owner, straight from an asyncpg pool: no ORM, no
  auth, the same single statement and JSON shape as the service's list.
"""

from __future__ import annotations

import argparse
import datetime
import os
import uuid
from typing import Annotated, Any

import asyncpg
import msgspec
from litestar import Litestar, get
from litestar.datastructures import State
from litestar.params import Parameter

from contacts_api.config import Settings
from contacts_api.logs import logging_config
from contacts_api.server import run_server

POOL_SIZE = 10
DATABASE_URL_ENV = "BENCH_DATABASE_URL"
OWNER_ID_ENV = "BENCH_OWNER_ID"
FACTORIES = {
    "hello": "benchmarks.ceilings:create_hello_app",
    "asyncpg-list": "benchmarks.ceilings:create_asyncpg_list_app",
}

# Page and total in one round trip: the shape the service's list issues.
LIST_PAGE_SQL = """
SELECT t.total, p.id, p.first_name, p.last_name,
  p.emails::jsonb -> 0 ->> 'value', p.phones::jsonb -> 0 ->> 'value',
  p.emails, p.phones, p.addresses, p.organization, p.job_title, p.birthday, p.notes, p.tags, p.favorite,
  p.created_at, p.updated_at
FROM (SELECT count(*) AS total FROM contacts WHERE owner_id = $1) AS t
LEFT JOIN (SELECT * FROM contacts WHERE owner_id = $1 ORDER BY last_name_key, first_name_key, id LIMIT $2 OFFSET $3)
  AS p ON true
ORDER BY p.last_name_key, p.first_name_key, p.id
"""


class ContactRead(msgspec.Struct):
    """The JSON of one contact as the service answers it, filled positionally from a row; the
    lists are the stored JSON text, copied into the answer as it is (msgspec.Raw)."""

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str | None
    phone: str | None
    emails: msgspec.Raw
    phones: msgspec.Raw
    addresses: msgspec.Raw
    organization: str | None
    job_title: str | None
    birthday: str | None
    notes: str | None
    tags: msgspec.Raw
    favorite: bool
    created_at: datetime.datetime
    updated_at: datetime.datetime


class ContactPage(msgspec.Struct, kw_only=True):
    items: list[ContactRead]
    total: int
    limit: int
    offset: int


class Health(msgspec.Struct):
    status: str


@get("/health")
async def health() -> Health:
    return Health(status="ok")


@get("/")
async def hello() -> dict[str, str]:
    return {"hello": "world"}


def create_hello_app() -> Litestar:
    return Litestar(route_handlers=[hello, health])


async def open_pool(app: Litestar) -> None:
    app.state.pool = await asyncpg.create_pool(os.environ[DATABASE_URL_ENV], min_size=POOL_SIZE, max_size=POOL_SIZE)
    app.state.owner_id = uuid.UUID(os.environ[OWNER_ID_ENV])


async def close_pool(app: Litestar) -> None:
    # Shutdown hooks run after a failed startup too, when there may be no pool to close.
    pool = app.state.get("pool")
    if pool is not None:
        await pool.close()


def ceiling_values(row: Any) -> list[Any]:
    """A row's values for ContactRead, the JSON columns wrapped as raw JSON."""
    values = list(row[1:])
    for position in (5, 6, 7, 12):  # emails, phones, addresses, tags
        values[position] = msgspec.Raw(values[position])
    return values


@get("/api/contacts")
async def list_contacts(
    state: State,
    limit: Annotated[int, Parameter(ge=1, le=100)] = 20,
    offset: Annotated[int, Parameter(ge=0)] = 0,
) -> ContactPage:
    rows: list[Any] = await state.pool.fetch(LIST_PAGE_SQL, state.owner_id, limit, offset)
    # The LEFT JOIN yields one row with NULL contact columns when the page is empty. Plain structs
    # filled straight from the rows: the service's JSON by the shortest path there is.
    items = [ContactRead(*ceiling_values(row)) for row in rows if row["id"] is not None]
    total = int(rows[0]["total"]) if rows else 0
    return ContactPage(items=items, total=total, limit=limit, offset=offset)


def create_asyncpg_list_app() -> Litestar:
    return Litestar(route_handlers=[list_contacts, health], on_startup=[open_pool], on_shutdown=[close_pool])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks.ceilings", description="Serve a baseline app for the benchmark."
    )
    parser.add_argument("ceiling", choices=sorted(FACTORIES))
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args(argv)
    run_server(
        FACTORIES[args.ceiling],
        host=args.host,
        port=args.port,
        workers=args.workers,
        # The service's logging set-up; a bare app writes no access line of its own, the service
        # does (that is part of its cost).
        log_config=logging_config(Settings(environment="production")),
    )


if __name__ == "__main__":
    main()
