"""contact search and birthday indexes

Measured with the benchmark's 100,000-contact book (benchmarks/), where an owner-scoped scan
costs tens of milliseconds per request:
- (owner_id, month * 100 + day of the birthday): upcoming birthdays read only the month-day
  ranges of their window instead of the whole book.
- On PostgreSQL, GIN indexes on (owner_id, lower(first_name)), (owner_id, lower(last_name)) and
  (owner_id, lower(email)), trigrams (pg_trgm) for the text: `q` and the per-field filters are
  `LIKE '%…%'` matches, which no b-tree serves, and with the owner in the index only that
  owner's matches are fetched (a third less time than trigrams alone, in the 100,000-contact
  book). pg_trgm and btree_gin (for owner_id) are trusted extensions (PostgreSQL 13+), so the
  database's owner may create them; the downgrade leaves them in place, as other schemas may
  use them.

Built in the migration's transaction, the indexes block writes to contacts meanwhile: seconds
for a few million rows. For a much larger live table, build them beforehand with CREATE INDEX
CONCURRENTLY under the same names; this migration then finds them and skips them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 03:10:00
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TRIGRAM_COLUMNS = ("first_name", "last_name", "email")


def birthday_month_day() -> sa.ColumnElement[int]:
    # The same expression as contacts.models.BIRTHDAY_MONTH_DAY, which queries must match.
    birthday = sa.column("birthday", sa.Date)
    return sa.cast(sa.extract("month", birthday), sa.Integer) * 100 + sa.cast(sa.extract("day", birthday), sa.Integer)


def upgrade() -> None:
    op.create_index(
        "ix_contacts_owner_id_birthday_month_day",
        "contacts",
        [sa.column("owner_id"), birthday_month_day()],
        if_not_exists=True,
    )
    if op.get_bind().dialect.name == "postgresql":
        op.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
        op.execute("CREATE EXTENSION IF NOT EXISTS btree_gin")
        for column in TRIGRAM_COLUMNS:
            op.create_index(
                f"ix_contacts_owner_id_{column}_trigram",
                "contacts",
                [sa.column("owner_id"), sa.text(f"lower({column}) gin_trgm_ops")],
                postgresql_using="gin",
                if_not_exists=True,
            )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        for column in TRIGRAM_COLUMNS:
            op.drop_index(f"ix_contacts_owner_id_{column}_trigram", table_name="contacts")
    op.drop_index("ix_contacts_owner_id_birthday_month_day", table_name="contacts")
