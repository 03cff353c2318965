"""The benchmark's own PostgreSQL database: created fresh, migrated, dropped at the end."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass

import asyncpg
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from benchmarks.errors import BenchmarkError
from contacts_api.db import downgrade_database, upgrade_database

# Plain identifiers only, so the name can go into CREATE/DROP DATABASE without quoting worries.
DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")
CONNECT_TIMEOUT_SECONDS = 10


def database_name(value: str) -> str:
    """argparse type for --database."""
    if not DATABASE_NAME.match(value):
        raise ValueError(f"not a plain PostgreSQL identifier: {value!r}")
    return value


@dataclass(frozen=True)
class BenchDatabase:
    """A database named `name` on the server that `admin_url` reaches."""

    admin_url: str
    name: str

    def _url(self, drivername: str, database: str) -> str:
        try:
            url = make_url(self.admin_url)
        except ArgumentError:
            raise BenchmarkError(f"--admin-url is not a database URL: {self.admin_url!r}") from None
        return url.set(drivername=drivername, database=database).render_as_string(hide_password=False)

    @property
    def asyncpg_dsn(self) -> str:
        """For asyncpg itself (seeding, the asyncpg-list ceiling)."""
        return self._url("postgresql", self.name)

    @property
    def sqlalchemy_url(self) -> str:
        """For the service's DATABASE_URL and the migrations."""
        return self._url("postgresql+asyncpg", self.name)

    @property
    def display_url(self) -> str:
        return make_url(self.sqlalchemy_url).render_as_string(hide_password=True)

    async def _admin(self, *statements: str) -> None:
        try:
            connection = await asyncpg.connect(
                self._url("postgresql", make_url(self.admin_url).database or "postgres"),
                timeout=CONNECT_TIMEOUT_SECONDS,
            )
        except (OSError, asyncpg.PostgresError, TimeoutError) as exc:
            raise BenchmarkError(f"cannot reach PostgreSQL through --admin-url: {exc}") from None
        try:
            for statement in statements:
                await connection.execute(statement)
        finally:
            await connection.close()

    def recreate(self) -> None:
        """Drop any leftover of an earlier run, create the database and migrate it to head."""
        asyncio.run(
            self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)', f'CREATE DATABASE "{self.name}"')
        )
        upgrade_database(self.sqlalchemy_url)

    def drop(self) -> None:
        asyncio.run(self._admin(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)'))

    def copy_at_revision(self, revision: str) -> BenchDatabase:
        """A copy of this (seeded) database, its schema taken down to `revision` with this tree's
        migrations: the same data for a checkout whose migrations end there. Dropped with `drop`."""
        copy = BenchDatabase(self.admin_url, f"{self.name}_at_{revision}"[:63])
        asyncio.run(
            self._admin(
                f'DROP DATABASE IF EXISTS "{copy.name}" WITH (FORCE)',
                # No session may be open on the template while it is copied.
                f"SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = '{self.name}'",  # noqa: S608 (a plain identifier, see database_name)
                f'CREATE DATABASE "{copy.name}" TEMPLATE "{self.name}"',
            )
        )
        downgrade_database(copy.sqlalchemy_url, revision)
        return copy
