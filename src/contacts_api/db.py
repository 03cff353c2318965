"""The database layer shared by every domain: engine, sessions, commit policy, migrations."""

from __future__ import annotations

import logging
import uuid
from collections.abc import AsyncGenerator
from pathlib import Path
from typing import Any

from advanced_alchemy.extensions.litestar import (
    AsyncSessionConfig,
    SQLAlchemyAsyncConfig,
)
from advanced_alchemy.types import GUID, DateTimeUTC
from alembic import command
from alembic.config import Config as AlembicConfig
from alembic.runtime.migration import MigrationContext
from litestar.datastructures import State
from litestar.types import Scope
from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, create_async_engine
from sqlalchemy.types import TypeEngine

from contacts_api.config import Settings

logger = logging.getLogger(__name__)
# aiosqlite logs each statement with its bound values at DEBUG (emails, password hashes): keep it
# above DEBUG whatever LOG_LEVEL says.
logging.getLogger("aiosqlite").setLevel(logging.INFO)

# In a checkout (or an editable install) the migrations are the top-level folder; a built wheel
# carries a copy inside the package (see pyproject.toml).
_PACKAGED_MIGRATIONS = Path(__file__).resolve().parent / "migrations"
MIGRATIONS_DIR = (
    _PACKAGED_MIGRATIONS if _PACKAGED_MIGRATIONS.is_dir() else Path(__file__).resolve().parents[2] / "migrations"
)
DB_CONFIG_STATE_KEY = "db_config"
SINGLE_STATEMENT = "single_statement"  # a route handler `opt`: see one_statement_without_transaction()
AUTOCOMMIT = "autocommit"  # marks a session in autocommit mode, in `session.info`


def create_engine(settings: Settings) -> AsyncEngine:
    """The one place an engine is built: for the app, the CLI and the tests alike."""
    if settings.is_sqlite:
        ensure_sqlite_directory(settings.database_url)
        # aiosqlite runs each connection on its own thread; `timeout` lets a writer wait for
        # SQLite's file lock instead of failing at once.
        engine = create_async_engine(
            settings.database_url,
            pool_size=5,
            max_overflow=0,
            pool_timeout=settings.db_pool_timeout_seconds,
            connect_args={"timeout": settings.db_statement_timeout_ms / 1000},
            echo=settings.db_echo,
            hide_parameters=True,
        )
        enable_sqlite_pragmas(engine)
        return engine
    engine = create_async_engine(
        settings.database_url,
        pool_size=settings.db_pool_size,
        max_overflow=settings.db_max_overflow,
        pool_timeout=settings.db_pool_timeout_seconds,
        connect_args={
            "timeout": settings.db_pool_timeout_seconds,
            "server_settings": {
                "statement_timeout": str(settings.db_statement_timeout_ms),
                # asyncpg prepares every statement, and PostgreSQL would switch a prepared
                # statement to a generic plan after five runs: one that assumes an average
                # owner. With one book of 100,000 contacts among books of 100, the generic plan
                # of a search scans the whole book (115 ms) where the plan made for the actual
                # owner and text reads the trigram index (3 ms). Planning each time costs far less.
                "plan_cache_mode": "force_custom_plan",
            },
        },
        echo=settings.db_echo,
        # Bound values (emails, password hashes) stay out of error messages and logs.
        hide_parameters=True,
    )
    discard_closed_connections(engine)
    return engine


def discard_closed_connections(engine: AsyncEngine) -> None:
    """Replace a pooled connection the server has closed (a restart, a terminated backend) before
    it is used.

    SQLAlchemy's `pool_pre_ping` finds those with a round trip at every checkout, three on
    asyncpg (BEGIN, a ping, ROLLBACK): a tenth of a request's CPU time (see benchmarks/). asyncpg
    already knows when the server has closed its socket, so asking costs nothing. A connection
    that dies between this check and its query fails that one request (503), and SQLAlchemy then
    replaces every pooled connection older than the failure.
    """

    @event.listens_for(engine.sync_engine, "checkout")
    def _on_checkout(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        if dbapi_connection.driver_connection.is_closed():
            raise DisconnectionError("the database server closed this connection")


def enable_sqlite_pragmas(engine: AsyncEngine) -> None:
    """Turn on what SQLite leaves off per connection.

    Without `foreign_keys=ON`, `ON DELETE CASCADE` silently does nothing. (WAL mode is a property
    of the file, set once by the migrations. Text is compared by the search keys text.py computes,
    never by the database's own lower().)
    """

    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.close()


def alchemy_config(settings: Settings) -> SQLAlchemyAsyncConfig:
    # Keys of this config's own: advanced-alchemy keeps every config's keys in a class-wide registry
    # and finds a free default key by recursion, one level per config made before, so a process
    # that builds a thousand apps (the test suite) hits the recursion limit (advanced-alchemy 1.12).
    suffix = uuid.uuid4().hex
    return SQLAlchemyAsyncConfig(
        session_scope_key=f"_sqlalchemy_db_session_{suffix}",
        engine_app_state_key=f"db_engine_{suffix}",
        session_maker_app_state_key=f"session_maker_class_{suffix}",
        engine_instance=create_engine(settings),
        session_config=AsyncSessionConfig(expire_on_commit=False),
        # Handlers ask for `db_session`, our committing provider below; the plugin's own
        # non-committing session provider is kept out of the way under another name.
        session_dependency_key="plugin_db_session",
        # The default before-send handler only rolls back and closes: commits happen earlier, in
        # `provide_db_session` below, where a failure can still change the answer.
        before_send_handler=None,
        # Our own handlers (errors.py) give repository errors a status and a message that leaks
        # nothing about the SQL.
        set_default_exception_handler=False,
        create_all=False,
    )


async def request_session(state: State, scope: Scope) -> AsyncSession:
    """The request's one database session (created on first use, then shared by all who ask).

    A route whose handler declares `opt=one_statement_without_transaction()` runs its session in
    autocommit mode; every other route's session runs in a transaction.
    """
    config: SQLAlchemyAsyncConfig = state[DB_CONFIG_STATE_KEY]
    session = config.provide_session(state, scope)
    route_handler = scope.get("route_handler")
    if route_handler is not None and route_handler.opt.get(SINGLE_STATEMENT) and not session.in_transaction():
        await session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
        session.info[AUTOCOMMIT] = True
    return session


def one_statement_without_transaction() -> dict[str, Any]:
    """The `opt` of a route handler whose whole database work is one SQL statement, which the
    database applies atomically by itself: its session runs in autocommit mode, saving the BEGIN
    and COMMIT round trips. Every other handler runs in a transaction (provide_db_session), so a
    route added later is atomic unless it says otherwise, here, by name."""
    return {SINGLE_STATEMENT: True}


def needs_commit(session: AsyncSession) -> bool:
    """Whether committing would do anything: in autocommit mode the database applied each
    statement already, and only ORM changes still waiting in the session would need a flush."""
    if not session.in_transaction():
        return False
    return not session.info.get(AUTOCOMMIT) or bool(session.new or session.dirty or session.deleted)


async def provide_db_session(state: State, scope: Scope) -> AsyncGenerator[AsyncSession, None]:
    """The request's unit of work: committed when the handler succeeds, rolled back when it raises.

    advanced-alchemy's "autocommit" before-send handler commits while the status line is already
    on its way and only logs a failure, so a lost write could still answer 201. Committing here,
    before the response is sent and inside Litestar's exception handling, turns a failed commit
    into an error response instead. The auth middleware shares this same session.
    """
    session = await request_session(state, scope)
    try:
        yield session
    except BaseException:
        await session.rollback()
        raise
    if needs_commit(session):
        await session.commit()


async def ping(engine: AsyncEngine) -> None:
    async with engine.connect() as connection:
        await connection.execute(text("SELECT 1"))


def compare_column_types(
    _context: MigrationContext,
    _inspected_column: Any,
    _metadata_column: Any,
    _inspected_type: TypeEngine[Any],
    metadata_type: TypeEngine[Any],
) -> bool | None:
    """Alembic autogenerate's type comparison, minus a false alarm.

    advanced-alchemy's GUID and DateTimeUTC reflect as their storage type (NUMERIC or CHAR on
    SQLite, UUID or TIMESTAMP on PostgreSQL), which is no change; `None` defers to Alembic.
    """
    if isinstance(metadata_type, GUID | DateTimeUTC):
        return False
    return None


def include_in_comparison(
    item: Any, _name: str | None, type_: str, _reflected: bool, _compare_to: Any, *, dialect: str
) -> bool:
    """Alembic autogenerate's `include_object`: an index declared for one dialect only (the
    PostgreSQL trigram indexes, `Index(...).ddl_if(dialect="postgresql")`) is not expected on the
    others. The models state which, in the index's `info`."""
    if type_ == "index" and (only := getattr(item, "info", {}).get("only_on")) is not None:
        return bool(only == dialect)
    return True


def alembic_config(database_url: str) -> AlembicConfig:
    config = AlembicConfig()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("sqlalchemy.url", database_url.replace("%", "%%"))
    config.attributes["database_url"] = database_url
    return config


def upgrade_database(database_url: str, revision: str = "head") -> None:
    """Apply migrations; safe to run on an up-to-date database. Must be called outside a loop."""
    command.upgrade(alembic_config(database_url), revision)


def downgrade_database(database_url: str, revision: str) -> None:
    command.downgrade(alembic_config(database_url), revision)


def ensure_sqlite_directory(database_url: str) -> None:
    url = make_url(database_url)
    if url.get_backend_name() == "sqlite" and url.database and url.database != ":memory:":
        Path(url.database).parent.mkdir(parents=True, exist_ok=True)
