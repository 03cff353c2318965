"""The Alembic migrations build exactly the schema the models describe, on both databases."""

from __future__ import annotations

import asyncio
import datetime
import functools
import json
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from advanced_alchemy.base import orm_registry
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from litestar.testing import AsyncTestClient
from sqlalchemy import BigInteger, Boolean, Date, column, inspect, make_url, select, table, text
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import create_async_engine
from sqlalchemy.pool import NullPool

import contacts_api.accounts.models
import contacts_api.contacts.models
import contacts_api.mail.models  # noqa: F401
from contacts_api.accounts.passwords import PasswordHasher
from contacts_api.app import create_app
from contacts_api.config import Settings
from contacts_api.db import compare_column_types, downgrade_database, include_in_comparison, upgrade_database
from contacts_api.text import fold
from tests.conftest import PASSWORD, admin_execute, make_settings, query_scalar, sign_up_and_log_in


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


# Migration 0006: version 1 contacts (one email, one phone, a date) become version 2 contacts (lists).

BOOK_OWNER = uuid.UUID("01900000-0000-7000-8000-0000000000b1")
OTHER_OWNER = uuid.UUID("01900000-0000-7000-8000-0000000000b2")
OWNER_EMAILS = {BOOK_OWNER: "book.owner@example.com", OTHER_OWNER: "other.owner@example.com"}


def at(day: int, microsecond: int) -> datetime.datetime:
    return datetime.datetime(2026, 3, day, 8, 30, 15, microsecond, tzinfo=datetime.UTC)


# Version 1 rows, each with what 0006 derives from its phone: (digits, E.164 with no
# DEFAULT_PHONE_REGION, E.164 with DEFAULT_PHONE_REGION=gb).
VERSION_1_CONTACTS: list[tuple[dict[str, Any], tuple[str, str | None, str | None]]] = [
    (
        {
            "id": uuid.UUID("01900000-0000-7000-8000-000000000c01"), "owner_id": BOOK_OWNER,
            "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
            "phone": "+1 (555) 010-0200", "birthday": datetime.date(1906, 12, 9),
            "notes": "Met at the compiler meetup", "created_at": at(1, 123456), "updated_at": at(2, 654321),
        },
        ("15550100200", "+15550100200", "+15550100200"),
    ),
    (
        {
            "id": uuid.UUID("01900000-0000-7000-8000-000000000c02"), "owner_id": BOOK_OWNER,
            "first_name": "Jos\u00e9", "last_name": "\u00d1\u00fa\u00f1ez \u0141ukasiewicz",
            "email": "jose@example.com", "phone": "020 7946 0958", "birthday": datetime.date(1992, 2, 29),
            "notes": None, "created_at": at(3, 1), "updated_at": at(3, 1),
        },
        ("02079460958", None, "+442079460958"),
    ),
    (
        {
            # The same address as Grace's, in another owner's book.
            "id": uuid.UUID("01900000-0000-7000-8000-000000000c03"), "owner_id": OTHER_OWNER,
            "first_name": "Zo\u00eb", "last_name": "", "email": "grace@example.com",
            "phone": "+44 20 7946 0958", "birthday": datetime.date(2001, 1, 31),
            "notes": "", "created_at": at(4, 999999), "updated_at": at(5, 0),
        },
        ("442079460958", "+442079460958", "+442079460958"),
    ),
]  # fmt: skip

VERSION_1_USERS = table(
    "users", column("id", GUID()), column("email"), column("password_hash"),
    column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()),
)  # fmt: skip
VERSION_1_CONTACT_TABLE = table(
    "contacts", column("id", GUID()), column("owner_id", GUID()), column("birthday", Date()),
    column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()),
    *(column(n) for n in ("first_name", "last_name", "first_name_key", "last_name_key", "email", "phone", "notes")),
)  # fmt: skip
VERSION_2_CONTACT_TABLE = table(
    "contacts", column("id", GUID()), column("owner_id", GUID()), column("favorite", Boolean()),
    column("created_at", DateTimeUTC()), column("updated_at", DateTimeUTC()),
    *(column(n) for n in ("first_name", "last_name", "notes", "emails", "phones", "addresses", "tags")),
    *(column(n) for n in ("organization", "job_title", "organization_key", "first_name_key", "last_name_key")),
    *(column(n) for n in ("birthday", "birthday_month_day", "birthday_year")),
)  # fmt: skip
CONTACT_VERSIONS = table("contacts", column("id", GUID()), column("change_seq", BigInteger()))
ADDRESS_BOOK_ROWS = table("address_books", column("owner_id", GUID()), column("last_change_seq", BigInteger()))
CONTACT_EMAIL_ROWS = table(
    "contact_emails", column("owner_id", GUID()), column("address"), column("contact_id", GUID())
)
CONTACT_PHONE_ROWS = table(
    "contact_phones", column("contact_id", GUID()), column("position"), column("owner_id", GUID()),
    column("digits"), column("e164"),
)  # fmt: skip


def version_1_row(**values: Any) -> dict[str, Any]:
    """A contacts row as version 1 (0004-0005) stores it, search keys included."""
    return {"first_name_key": fold(values["first_name"]), "last_name_key": fold(values["last_name"]), **values}


async def insert_version_1_book(database_url: str) -> None:
    """Two users who can log in, and the contacts of VERSION_1_CONTACTS, at revision 0005."""
    hasher = PasswordHasher(make_settings(database_url))
    try:
        password_hash = await hasher.hash(PASSWORD)
    finally:
        hasher.threads.close()
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            for owner, email in OWNER_EMAILS.items():
                await connection.execute(
                    VERSION_1_USERS.insert().values(
                        id=owner, email=email, password_hash=password_hash, created_at=NOW, updated_at=NOW
                    )
                )
            for values, _phone in VERSION_1_CONTACTS:
                await connection.execute(VERSION_1_CONTACT_TABLE.insert().values(version_1_row(**values)))
    finally:
        await engine.dispose()


async def rows_of(database_url: str, selectable: Any) -> list[dict[str, Any]]:
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            return [dict(row._mapping) for row in await connection.execute(selectable)]
    finally:
        await engine.dispose()


def expected_version_2_row(old: dict[str, Any], e164: str | None) -> dict[str, Any]:
    birthday: datetime.date = old["birthday"]
    return {
        **{name: old[name] for name in ("id", "owner_id", "first_name", "last_name", "notes", "created_at")},
        "updated_at": old["updated_at"],
        "emails": [{"value": old["email"], "label": None}],
        "phones": [{"value": old["phone"], "label": None, "e164": e164}],
        "addresses": [],
        "tags": [],
        "favorite": False,
        "organization": None,
        "job_title": None,
        "organization_key": "",
        "first_name_key": fold(old["first_name"]),
        "last_name_key": fold(old["last_name"]),
        "birthday": birthday.isoformat(),
        "birthday_month_day": birthday.month * 100 + birthday.day,
        "birthday_year": birthday.year,
    }


def stored_version_2_rows(database_url: str) -> list[dict[str, Any]]:
    rows = asyncio.run(rows_of(database_url, VERSION_2_CONTACT_TABLE.select()))
    for row in rows:
        for name in ("emails", "phones", "addresses", "tags"):
            row[name] = json.loads(row[name])
    return sorted(rows, key=lambda row: row["id"])


async def read_back_through_the_api(database_url: str) -> None:
    """The app, on the migrated database, answers the version 1 contacts as they were."""
    grace, jose, zoe = (values for values, _phone in VERSION_1_CONTACTS)
    async with AsyncTestClient(app=create_app(make_settings(database_url))) as client:
        login = await client.post("/api/auth/login", json={"email": OWNER_EMAILS[BOOK_OWNER], "password": PASSWORD})
        assert login.status_code == 200, login.text
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        for old in (grace, jose):
            response = await client.get(f"/api/contacts/{old['id']}", headers=headers)
            assert response.status_code == 200, response.text
            body = response.json()
            assert (body["email"], body["phone"], body["birthday"]) == (
                old["email"], old["phone"], old["birthday"].isoformat()
            )  # fmt: skip
            assert (body["first_name"], body["last_name"], body["notes"]) == (
                old["first_name"], old["last_name"], old["notes"]
            )  # fmt: skip
            assert datetime.datetime.fromisoformat(body["created_at"]) == old["created_at"]
            assert datetime.datetime.fromisoformat(body["updated_at"]) == old["updated_at"]
        assert (await client.get(f"/api/contacts/{zoe['id']}", headers=headers)).status_code == 404
        page = (await client.get("/api/contacts", headers=headers)).json()
        assert (page["total"], [item["id"] for item in page["items"]]) == (2, [str(grace["id"]), str(jose["id"])])
        # The index tables 0006 filled serve the searches and the uniqueness of an address.
        for query, found in [("email=jose", jose), ("q=5550100", grace), ("q=nunez", jose), ("q=grace@", grace)]:
            page = (await client.get(f"/api/contacts?{query}", headers=headers)).json()
            assert [item["id"] for item in page["items"]] == [str(found["id"])], query
        duplicate = await client.post(
            "/api/contacts", headers=headers, json={"first_name": "Copy", "email": "grace@example.com"}
        )
        assert duplicate.status_code == 409, duplicate.text
        # Their versions (0007) are their ETags; a first sync lists them oldest change first, and
        # the next write takes the number after the book's highest.
        etags = [
            (await client.get(f"/api/contacts/{old['id']}", headers=headers)).headers["etag"] for old in (grace, jose)
        ]
        assert etags == ['"1"', '"2"']
        changes = (await client.get("/api/contacts/changes", headers=headers)).json()["changes"]
        assert [change["id"] for change in changes] == [str(grace["id"]), str(jose["id"])]
        created = await client.post("/api/contacts", headers=headers, json={"first_name": "New"})
        assert created.headers["etag"] == '"3"'


def keeps_every_contact_exactly(database_url: str, *, region: str) -> None:
    upgrade_database(database_url, "0005")
    asyncio.run(insert_version_1_book(database_url))
    upgrade_database(database_url, "0006")
    expected = [
        expected_version_2_row(old, with_region if region else without_region)
        for old, (_digits, without_region, with_region) in VERSION_1_CONTACTS
    ]
    assert stored_version_2_rows(database_url) == expected
    emails = asyncio.run(rows_of(database_url, CONTACT_EMAIL_ROWS.select()))
    assert sorted(emails, key=lambda row: row["contact_id"]) == [
        {"owner_id": old["owner_id"], "address": old["email"], "contact_id": old["id"]}
        for old, _phone in VERSION_1_CONTACTS
    ]
    phones = asyncio.run(rows_of(database_url, CONTACT_PHONE_ROWS.select()))
    assert sorted(phones, key=lambda row: row["contact_id"]) == [
        {
            "contact_id": old["id"],
            "position": 0,
            "owner_id": old["owner_id"],
            "digits": digits,
            "e164": with_region if region else without_region,
        }
        for old, (digits, without_region, with_region) in VERSION_1_CONTACTS
    ]
    assert asyncio.run(query_scalar(database_url, "SELECT count(*) FROM contact_tags")) == 0
    upgrade_database(database_url)
    # 0007 numbers each owner's contacts in the order they were last written: their versions.
    grace, jose, zoe = (values for values, _phone in VERSION_1_CONTACTS)
    versions = asyncio.run(rows_of(database_url, select(CONTACT_VERSIONS.c.id, CONTACT_VERSIONS.c.change_seq)))
    assert {row["id"]: row["change_seq"] for row in versions} == {grace["id"]: 1, jose["id"]: 2, zoe["id"]: 1}
    counters = asyncio.run(rows_of(database_url, ADDRESS_BOOK_ROWS.select()))
    assert {row["owner_id"]: row["last_change_seq"] for row in counters} == {BOOK_OWNER: 2, OTHER_OWNER: 1}
    assert asyncio.run(schema_differences(database_url)) == []
    asyncio.run(read_back_through_the_api(database_url))


def test_sqlite_migrations_0006_and_0007_keep_every_existing_contact_exactly(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEFAULT_PHONE_REGION", raising=False)
    keeps_every_contact_exactly(f"sqlite+aiosqlite:///{tmp_path / 'version1.db'}", region="")


def test_postgresql_migrations_0006_and_0007_keep_every_existing_contact_exactly(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("DEFAULT_PHONE_REGION", raising=False)
    on_a_new_postgresql_database(postgresql_url, functools.partial(keeps_every_contact_exactly, region=""))


def test_sqlite_migration_0006_reads_numbers_without_a_plus_in_the_default_phone_region(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_PHONE_REGION", " gb ")
    keeps_every_contact_exactly(f"sqlite+aiosqlite:///{tmp_path / 'version1.db'}", region="GB")


def test_postgresql_migration_0006_reads_numbers_without_a_plus_in_the_default_phone_region(
    postgresql_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFAULT_PHONE_REGION", " gb ")
    on_a_new_postgresql_database(postgresql_url, functools.partial(keeps_every_contact_exactly, region="GB"))


FULL_CONTACT = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "emails": [{"value": "grace@example.com", "label": "work"}, {"value": "amazing.grace@example.org"}],
    "phones": [{"value": "+1 555 010 0200", "label": "mobile"}, {"value": "+1 555 010 0201", "label": "work"}],
    "addresses": [{"label": "work", "street": "1 Navy Yard", "city": "Washington"}],
    "organization": "US Navy",
    "job_title": "Rear Admiral",
    "tags": ["work", "compilers"],
    "favorite": True,
    "birthday": "--02-29",
}


async def create_version_2_contacts(database_url: str) -> tuple[uuid.UUID, uuid.UUID, uuid.UUID]:
    """An owner, through the API, with a contact that has everything and one that has only a name."""
    async with AsyncTestClient(app=create_app(make_settings(database_url))) as client:
        owner = await sign_up_and_log_in(client)
        ids = []
        for body in (FULL_CONTACT, {"first_name": "Nemo"}):
            response = await client.post("/api/contacts", headers=owner.headers, json=body)
            assert response.status_code == 201, response.text
            ids.append(uuid.UUID(response.json()["id"]))
    return uuid.UUID(owner.id), ids[0], ids[1]


async def insert_version_1_contact(database_url: str, owner_id: uuid.UUID, email: str) -> None:
    row = version_1_row(
        id=uuid.uuid4(), owner_id=owner_id, first_name="Late", last_name="Comer", email=email, phone="+1 555 010 0300",
        birthday=datetime.date(1990, 5, 17), notes=None, created_at=NOW, updated_at=NOW,
    )  # fmt: skip
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.begin() as connection:
            await connection.execute(VERSION_1_CONTACT_TABLE.insert().values(row))
    finally:
        await engine.dispose()


async def schema_shape(database_url: str) -> dict[str, object]:
    """What a revision's schema is made of, as both databases can tell: every index by name
    (expression indexes too, which SQLite's reflection skips), each table's columns with their
    nullability, and the unique constraints."""
    engine = create_async_engine(database_url, poolclass=NullPool)
    try:
        async with engine.connect() as connection:
            if connection.dialect.name == "sqlite":
                sql = "SELECT name FROM sqlite_master WHERE type = 'index' AND name NOT LIKE 'sqlite_autoindex%'"
            else:
                sql = "SELECT indexname FROM pg_indexes WHERE schemaname = current_schema()"
            indexes = {str(row[0]) for row in await connection.execute(text(sql))}

            def tables(sync: Any) -> dict[str, object]:
                inspector = inspect(sync)
                return {
                    name: (
                        sorted((c["name"], c["nullable"]) for c in inspector.get_columns(name)),
                        sorted((u["name"], tuple(u["column_names"])) for u in inspector.get_unique_constraints(name)),
                    )
                    for name in inspector.get_table_names()
                }

            return {"indexes": indexes, "tables": await connection.run_sync(tables)}
    finally:
        await engine.dispose()


def downgrade_keeps_the_first_entries(database_url: str) -> None:
    upgrade_database(database_url, "0005")
    version_1_schema = asyncio.run(schema_shape(database_url))
    upgrade_database(database_url)
    owner, full, bare = asyncio.run(create_version_2_contacts(database_url))
    downgrade_database(database_url, "0005")
    assert asyncio.run(schema_shape(database_url)) == version_1_schema
    rows = {row["id"]: row for row in asyncio.run(rows_of(database_url, VERSION_1_CONTACT_TABLE.select()))}
    kept = ("owner_id", "first_name", "last_name", "email", "phone", "birthday", "notes")
    assert {key: rows[full][key] for key in kept} == {
        "owner_id": owner, "first_name": "Grace", "last_name": "Hopper", "email": "grace@example.com",
        "phone": "+1 555 010 0200", "birthday": datetime.date(996, 2, 29), "notes": None,
    }  # fmt: skip
    assert {key: rows[bare][key] for key in kept} == {
        "owner_id": owner, "first_name": "Nemo", "last_name": "", "email": f"no-email-{bare.hex}@example.invalid",
        "phone": "no phone", "birthday": datetime.date(996, 1, 1), "notes": None,
    }  # fmt: skip
    assert not {"contact_emails", "contact_phones", "contact_tags"} & asyncio.run(table_names(database_url))
    # Version 1's unique (owner_id, email) is back: a new address is fine, a taken one is refused.
    asyncio.run(insert_version_1_contact(database_url, owner, "late.comer@example.com"))
    with pytest.raises(IntegrityError):
        asyncio.run(insert_version_1_contact(database_url, owner, "grace@example.com"))
    upgrade_database(database_url)
    assert asyncio.run(schema_differences(database_url)) == []
    upgraded = {row["id"]: row for row in stored_version_2_rows(database_url)}
    assert len(upgraded) == 3
    # The placeholders read back as nothing, the placeholder year as no year: no made-up data.
    assert (upgraded[full]["emails"], upgraded[full]["birthday"], upgraded[full]["tags"]) == (
        [{"value": "grace@example.com", "label": None}], "--02-29", []
    )  # fmt: skip
    assert (upgraded[bare]["emails"], upgraded[bare]["phones"], upgraded[bare]["birthday"]) == ([], [], None)
    addresses = asyncio.run(rows_of(database_url, CONTACT_EMAIL_ROWS.select()))
    assert sorted(row["address"] for row in addresses) == ["grace@example.com", "late.comer@example.com"]


def test_sqlite_migration_0006_downgrade_keeps_the_first_email_phone_and_birthday(tmp_path: Path) -> None:
    downgrade_keeps_the_first_entries(f"sqlite+aiosqlite:///{tmp_path / 'version2.db'}")


def test_postgresql_migration_0006_downgrade_keeps_the_first_email_phone_and_birthday(postgresql_url: str) -> None:
    on_a_new_postgresql_database(postgresql_url, downgrade_keeps_the_first_entries)
