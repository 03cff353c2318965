"""contact search keys: one rule folds names for search and order on both databases

`first_name_key` and `last_name_key` hold `contacts_api.text.fold` of the names (NFKD, Unicode
case folding, accents removed, NFC), written by the application. Search, the per-field filters
and the default name order compare these keys, so that both databases give the same answers:
SQLite's own lower() folds only ASCII and Python's lower() treats a final sigma by context, while
PostgreSQL's works per character; and neither ignores accents. On PostgreSQL the keys use the
"C" collation (byte order, as SQLite compares), and the name order's b-tree and the trigram
indexes move from lower(name) to the keys; email, stored lower-cased, is indexed as it is.

Existing rows are backfilled here, in batches in id order, from the names already stored (also
brought to NFC, the stored form of all text from now on, where that still fits the column; users'
full names too). The keys are computed by a copy of `text.fold` frozen here, cut to the column's
300 characters as `contacts.models.search_key` does: a later change to the live `fold` needs its
own migration that rewrites them, and cannot change what replaying this one writes.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:45:00
"""

from __future__ import annotations

import contextlib
import unicodedata
import warnings
from collections.abc import Iterator, Sequence
from typing import Any

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
KEY_LENGTH = 300
NAME_LENGTH, FULL_NAME_LENGTH = 100, 200


def fold(text: str) -> str:
    """contacts_api.text.fold as of this migration (NFKD, case folding, marks removed, NFC)."""
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    kept = "".join(c for c in decomposed if not unicodedata.category(c).startswith("M"))
    return unicodedata.normalize("NFC", kept)[:KEY_LENGTH]


def nfc(text: str | None, length: int | None = None) -> str | None:
    """NFC of a stored text, or the text as it is where NFC would no longer fit its column."""
    if text is None:
        return None
    normalized = unicodedata.normalize("NFC", text)
    return text if length is not None and len(normalized) > length else normalized


KEY_TYPE = sa.String(300).with_variant(sa.String(300, collation="C"), "postgresql")
OLD_TRIGRAM_COLUMNS = ("first_name", "last_name", "email")
NEW_TRIGRAM_COLUMNS = ("first_name_key", "last_name_key", "email")


def backfill() -> None:
    contacts = sa.table(
        "contacts",
        sa.column("id"),
        sa.column("first_name", sa.String),
        sa.column("last_name", sa.String),
        sa.column("notes", sa.String),
        sa.column("first_name_key", sa.String),
        sa.column("last_name_key", sa.String),
    )
    users = sa.table("users", sa.column("id"), sa.column("full_name", sa.String))
    bind = op.get_bind()
    for table, columns, rewrite in (
        (contacts, ("first_name", "last_name", "notes"), contact_values),
        (users, ("full_name",), user_values),
    ):
        last_id = None
        # Keyset pages by primary key: each batch reads only rows it has not seen.
        while rows := bind.execute(
            sa.select(table.c.id, *(table.c[name] for name in columns))
            .where(sa.true() if last_id is None else table.c.id > last_id)
            .order_by(table.c.id)
            .limit(BATCH)
        ).all():
            bind.execute(
                table.update().where(table.c.id == sa.bindparam("row_id")),
                [{"row_id": row.id, **rewrite(row)} for row in rows],
            )
            last_id = rows[-1].id


def contact_values(row: sa.Row[Any]) -> dict[str, Any]:
    return {
        "first_name": nfc(row.first_name, NAME_LENGTH),
        "last_name": nfc(row.last_name, NAME_LENGTH),
        "notes": nfc(row.notes),
        "first_name_key": fold(row.first_name),
        "last_name_key": fold(row.last_name),
    }


def user_values(row: sa.Row[Any]) -> dict[str, Any]:
    return {"full_name": nfc(row.full_name, FULL_NAME_LENGTH)}


@contextlib.contextmanager
def copying_the_table() -> Iterator[None]:
    """SQLAlchemy warns that SQLite's expression index cannot be reflected while a batch
    operation copies the table; restore_birthday_index rebuilds it, so the warning says nothing
    an operator must act on (and `serve` would print it on every first start)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Skipped unsupported reflection of expression-based index")
        yield


def upgrade() -> None:
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("first_name_key", KEY_TYPE, nullable=True))
        batch.add_column(sa.Column("last_name_key", KEY_TYPE, nullable=True))
    backfill()
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.alter_column("first_name_key", existing_type=KEY_TYPE, nullable=False)
        batch.alter_column("last_name_key", existing_type=KEY_TYPE, nullable=False)
        batch.drop_index("ix_contacts_owner_id_last_name_first_name_id")
        batch.create_index(
            "ix_contacts_owner_id_name_keys_id", ["owner_id", "last_name_key", "first_name_key", "id"], unique=False
        )
    restore_birthday_index()
    replace_trigram_indexes(OLD_TRIGRAM_COLUMNS, {column: column for column in NEW_TRIGRAM_COLUMNS})


def downgrade() -> None:
    replace_trigram_indexes(NEW_TRIGRAM_COLUMNS, {column: f"lower({column})" for column in OLD_TRIGRAM_COLUMNS})
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_owner_id_name_keys_id")
        batch.create_index(
            "ix_contacts_owner_id_last_name_first_name_id", ["owner_id", "last_name", "first_name", "id"], unique=False
        )
        batch.drop_column("last_name_key")
        batch.drop_column("first_name_key")
    restore_birthday_index()


def replace_trigram_indexes(dropped: Sequence[str], created: dict[str, str]) -> None:
    """On PostgreSQL, drop the (owner, trigram) indexes of `dropped` columns and create those of
    `created` (column name → indexed expression); 0003's names, ix_contacts_owner_id_<column>_trigram."""
    if op.get_bind().dialect.name != "postgresql":
        return
    for column in dropped:
        op.drop_index(f"ix_contacts_owner_id_{column}_trigram", table_name="contacts", if_exists=True)
    for column, expression in created.items():
        op.create_index(
            f"ix_contacts_owner_id_{column}_trigram",
            "contacts",
            [sa.column("owner_id"), sa.text(f"{expression} gin_trgm_ops")],
            postgresql_using="gin",
            if_not_exists=True,
        )


def restore_birthday_index() -> None:
    """SQLite cannot reflect expression indexes, so a batch operation that copies the table
    (SQLite's only way to change a column) leaves 0003's birthday index behind: build it again."""
    birthday = sa.column("birthday", sa.Date)
    month_day = sa.cast(sa.extract("month", birthday), sa.Integer) * 100 + sa.cast(
        sa.extract("day", birthday), sa.Integer
    )
    op.create_index(
        "ix_contacts_owner_id_birthday_month_day", "contacts", [sa.column("owner_id"), month_day], if_not_exists=True
    )
