"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path

from advanced_alchemy.base import orm_registry
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, make_url
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.accounts.models
import contacts_api.contacts.models  # noqa: F401
from contacts_api.config import Settings
from contacts_api.db import compare_column_types, downgrade_database, upgrade_database
from tests.conftest import admin_execute


async def schema_differences(database_url: str) -> list[object]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(sync, opts={"compare_type": compare_column_types}),
                    orm_registry.metadata,
                )
            )
    finally:
        await engine.dispose()


async def table_names(database_url: str) -> set[str]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return set(await connection.run_sync(lambda sync: inspect(sync).get_table_names()))
    finally:
        await engine.dispose()


async def test_migrated_schema_matches_the_models(settings: Settings) -> None:
    assert await schema_differences(settings.database_url) == []


def round_trip(database_url: str) -> None:
    upgrade_database(database_url)
    upgrade_database(database_url)  # twice is harmless
    assert asyncio.run(table_names(database_url)) >= {"users", "sessions", "contacts", "alembic_version"}
    downgrade_database(database_url, "base")
    assert asyncio.run(table_names(database_url)) == {"alembic_version"}
    upgrade_database(database_url)
    assert asyncio.run(schema_differences(database_url)) == []


def test_sqlite_migrations_upgrade_twice_downgrade_and_upgrade_again(tmp_path: Path) -> None:
    round_trip(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}")


def test_postgresql_migrations_upgrade_twice_downgrade_and_upgrade_again(postgresql_url: str) -> None:
    name = f"contacts_migrations_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(postgresql_url).set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        round_trip(make_url(postgresql_url).set(database=name).render_as_string(hide_password=False))
    finally:
        asyncio.run(admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
