"""contact search keys: one rule folds names for search and order on both databases

`first_name_key` and `last_name_key` hold `contacts_api.text.fold` of the names (NFKD, Unicode
case folding, accents removed, NFC), written by the application. Search, the per-field filters
and the default name order compare these keys, so that both databases give the same answers:
SQLite's own lower() folds only ASCII and Python's lower() treats a final sigma by context, while
PostgreSQL's works per character; and neither ignores accents. On PostgreSQL the keys use the
"C" collation (byte order, as SQLite compares), and the name order's b-tree and the trigram
indexes move from lower(name) to the keys; email, stored lower-cased, is indexed as it is.

Existing rows are backfilled here, in batches, from the names already stored (also brought to
NFC, the stored form of all text from now on). The keys depend on `fold` as of this migration:
a later change to `fold` needs its own migration that rewrites them.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01 19:45:00
"""

from __future__ import annotations

import contextlib
import unicodedata
import warnings
from collections.abc import Iterator, Sequence

import sqlalchemy as sa
from alembic import op

from contacts_api.text import fold

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 1000
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
    bind = op.get_bind()
    while rows := bind.execute(
        sa.select(contacts.c.id, contacts.c.first_name, contacts.c.last_name, contacts.c.notes)
        .where(contacts.c.first_name_key.is_(None))
        .limit(BATCH)
    ).all():
        bind.execute(
            contacts.update().where(contacts.c.id == sa.bindparam("row_id")),
            [
                {
                    "row_id": row.id,
                    "first_name": unicodedata.normalize("NFC", row.first_name),
                    "last_name": unicodedata.normalize("NFC", row.last_name),
                    "notes": None if row.notes is None else unicodedata.normalize("NFC", row.notes),
                    "first_name_key": fold(row.first_name),
                    "last_name_key": fold(row.last_name),
                }
                for row in rows
            ],
        )


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
    if op.get_bind().dialect.name == "postgresql":
        for column in OLD_TRIGRAM_COLUMNS:
            op.drop_index(f"ix_contacts_owner_id_{column}_trigram", table_name="contacts", if_exists=True)
        for column in NEW_TRIGRAM_COLUMNS:
            op.create_index(
                f"ix_contacts_owner_id_{column}_trigram",
                "contacts",
                [sa.column("owner_id"), sa.text(f"{column} gin_trgm_ops")],
                postgresql_using="gin",
                if_not_exists=True,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in NEW_TRIGRAM_COLUMNS:
            op.drop_index(f"ix_contacts_owner_id_{column}_trigram", table_name="contacts", if_exists=True)
        for column in OLD_TRIGRAM_COLUMNS:
            op.create_index(
                f"ix_contacts_owner_id_{column}_trigram",
                "contacts",
                [sa.column("owner_id"), sa.text(f"lower({column}) gin_trgm_ops")],
                postgresql_using="gin",
                if_not_exists=True,
            )
    with copying_the_table(), op.batch_alter_table("contacts") as batch:
        batch.drop_index("ix_contacts_owner_id_name_keys_id")
        batch.create_index(
            "ix_contacts_owner_id_last_name_first_name_id", ["owner_id", "last_name", "first_name", "id"], unique=False
        )
        batch.drop_column("last_name_key")
        batch.drop_column("first_name_key")
    restore_birthday_index()


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
