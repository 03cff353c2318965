"""Alembic environment: runs migrations on PostgreSQL or SQLite through the async drivers."""

from __future__ import annotations

import asyncio
import functools

from advanced_alchemy.base import orm_registry
from alembic import context
from sqlalchemy import pool
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

# Every model module must be imported so its tables are in the metadata autogenerate compares.
import contacts_api.accounts.models
import contacts_api.contacts.models
import contacts_api.mail.models  # noqa: F401
from contacts_api.db import compare_column_types, include_in_comparison

config = context.config
target_metadata = orm_registry.metadata


def database_url() -> str:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        raise RuntimeError("no database URL given to the migrations")
    return str(url)


def run_migrations(connection: Connection) -> None:
    if connection.dialect.name == "sqlite":
        # Persistent in the file: readers no longer block the one writer, nor it them.
        connection.exec_driver_sql("PRAGMA journal_mode=WAL")
        connection.commit()
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        # SQLite cannot ALTER most things in place; batch mode copies the table instead.
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=compare_column_types,
        compare_server_default=True,
        include_object=functools.partial(include_in_comparison, dialect=connection.dialect.name),
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_async_migrations() -> None:
    # A plain engine without the app's SQLite pragmas: with foreign keys on, the table copy of a
    # batch migration would cascade-delete child rows.
    engine = create_async_engine(database_url(), poolclass=pool.NullPool)
    try:
        async with engine.connect() as connection:
            await connection.run_sync(run_migrations)
    finally:
        await engine.dispose()


if context.is_offline_mode():
    context.configure(url=database_url(), target_metadata=target_metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()
else:
    connection = config.attributes.get("connection")
    if connection is not None:
        run_migrations(connection)
    else:
        asyncio.run(run_async_migrations())
