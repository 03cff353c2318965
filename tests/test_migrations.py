"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import datetime
import functools
import uuid
from collections.abc import Callable
from pathlib import Path

from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import Date, column, inspect, make_url, table, text
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.accounts.models
import contacts_api.contacts.models
import contacts_api.mail.models  # noqa: F401
from contacts_api.config import Settings
from contacts_api.db import compare_column_types, downgrade_database, include_in_comparison, upgrade_database
from tests.conftest import admin_execute, query_scalar


async def schema_differences(database_url: str) -> list[object]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return await connection.run_sync(
                lambda sync: compare_metadata(
                    MigrationContext.configure(
                        sync,
                        opts={
                            "compare_type": compare_column_types,
                            "include_object": functools.partial(include_in_comparison, dialect=sync.dialect.name),
                        },
                    ),
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


def on_a_new_postgresql_database(postgresql_url: str, migrate: Callable[[str], None]) -> None:
    """Run `migrate` on a database of its own, created empty on the test server and dropped after."""
    name = f"contacts_migrations_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(postgresql_url).set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    try:
        migrate(make_url(postgresql_url).set(database=name).render_as_string(hide_password=False))
    finally:
        asyncio.run(admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def test_postgresql_migrations_upgrade_twice_downgrade_and_upgrade_again(postgresql_url: str) -> None:
    on_a_new_postgresql_database(postgresql_url, round_trip)


async def insert_legacy_contact(database_url: str) -> None:
    """A contact as migration 0003 left it: no search keys, a decomposed name."""
    users = table("users", *(column(n) for n in ("email", "password_hash")), column("id", GUID()),
                  column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()))  # fmt: skip
    contacts = table(
        "contacts", column("id", GUID()), column("owner_id", GUID()), column("birthday", Date()),
        column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()),
        *(column(n) for n in ("first_name", "last_name", "email", "phone", "notes")),
    )  # fmt: skip
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                users.insert().values(
                    id=LEGACY_OWNER, email="old@example.com", password_hash="x", created_at=NOW, updated_at=NOW
                )
            )
            await connection.execute(
                contacts.insert().values(
                    id=uuid.uuid4(), owner_id=LEGACY_OWNER, first_name="Jose\u0301", last_name="ΚΟΣΜΑΣ",
                    email="k@example.com", phone="+30 210 000 0000", birthday=datetime.date(1980, 1, 1), notes=None,
                    created_at=NOW, updated_at=NOW,
                )
            )  # fmt: skip
    finally:
        await engine.dispose()


async def stored_names(database_url: str) -> tuple[str, str, str]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            row = (
                await connection.execute(text("SELECT first_name, first_name_key, last_name_key FROM contacts"))
            ).one()
            return str(row[0]), str(row[1]), str(row[2])
    finally:
        await engine.dispose()


LEGACY_OWNER = uuid.UUID("01900000-0000-7000-8000-0000000000aa")
NOW = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


def backfill_round_trip(database_url: str) -> None:
    upgrade_database(database_url, "0003")
    asyncio.run(insert_legacy_contact(database_url))
    upgrade_database(database_url)
    assert asyncio.run(stored_names(database_url)) == ("José", "jose", "κοσμασ")
    assert asyncio.run(schema_differences(database_url)) == []
    downgrade_database(database_url, "0003")
    upgrade_database(database_url)
    assert asyncio.run(stored_names(database_url))[1:] == ("jose", "κοσμασ")


def test_sqlite_migration_0004_folds_the_names_already_stored(tmp_path: Path) -> None:
    backfill_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'legacy.db'}")


def test_postgresql_migration_0004_folds_the_names_already_stored(postgresql_url: str) -> None:
    on_a_new_postgresql_database(postgresql_url, backfill_round_trip)


def test_sqlite_keeps_the_birthday_index_through_the_table_copies_of_0004(tmp_path: Path) -> None:
    # SQLite cannot reflect expression indexes; a batch migration that copies the table would drop it.
    url = f"sqlite+aiosqlite:///{tmp_path / 'indexes.db'}"
    upgrade_database(url)

    async def index_names() -> set[str]:
        engine = create_async_engine(url, poolclass=NullPool)
        try:
            async with engine.connect() as connection:
                rows = await connection.execute(text("SELECT name FROM sqlite_master WHERE type = 'index'"))
                return {str(row[0]) for row in rows}
        finally:
            await engine.dispose()

    assert "ix_contacts_owner_id_birthday_month_day" in asyncio.run(index_names())
    downgrade_database(url, "0003")
    assert "ix_contacts_owner_id_birthday_month_day" in asyncio.run(index_names())


async def insert_legacy_user_with_session(database_url: str) -> None:
    """A user and a login session as migration 0004 left them: no verification, no session details."""
    users = table("users", *(column(n) for n in ("email", "password_hash")), column("id", GUID()),
                  column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()))  # fmt: skip
    times = ("last_refreshed_at", "idle_expires_at", "absolute_expires_at", "created_at", "updated_at")
    sessions = table(
        "sessions", column("id", GUID()), column("user_id", GUID()), column("refresh_jti", GUID()),
        *(column(name, DateTimeUTC()) for name in times),
    )  # fmt: skip
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(
                users.insert().values(
                    id=LEGACY_OWNER, email="old@example.com", password_hash="x", created_at=NOW, updated_at=NOW
                )
            )
            await connection.execute(
                sessions.insert().values(
                    id=uuid.uuid4(), user_id=LEGACY_OWNER, refresh_jti=uuid.uuid4(), **dict.fromkeys(times, NOW)
                )
            )
    finally:
        await engine.dispose()


def recovery_columns_round_trip(database_url: str) -> None:
    upgrade_database(database_url, "0004")
    asyncio.run(insert_legacy_user_with_session(database_url))
    upgrade_database(database_url)
    assert asyncio.run(query_scalar(database_url, "SELECT email_verified FROM users")) in (False, 0)
    last_used = asyncio.run(query_scalar(database_url, "SELECT last_used_at FROM sessions"))
    refreshed = asyncio.run(query_scalar(database_url, "SELECT last_refreshed_at FROM sessions"))
    assert last_used == refreshed
    assert asyncio.run(query_scalar(database_url, "SELECT user_agent FROM sessions")) is None
    downgrade_database(database_url, "0004")
    assert asyncio.run(query_scalar(database_url, "SELECT count(*) FROM sessions")) == 1
    upgrade_database(database_url)
    assert asyncio.run(schema_differences(database_url)) == []


def test_sqlite_migration_0005_starts_existing_users_unverified_and_keeps_their_sessions(tmp_path: Path) -> None:
    recovery_columns_round_trip(f"sqlite+aiosqlite:///{tmp_path / 'legacy.db'}")


def test_postgresql_migration_0005_starts_existing_users_unverified_and_keeps_their_sessions(
    postgresql_url: str,
) -> None:
    on_a_new_postgresql_database(postgresql_url, recovery_columns_round_trip)
