"""contact versions and tombstones: what ETags and the changes feed read

- `address_books (owner_id, last_change_seq)`: each owner's change counter. A writer takes its
  numbers with an upsert of this row, which row-locks it to the end of the transaction, so one
  owner's changes commit in number order (contacts/sync.py says why that is the feed's guarantee).
- `contacts.change_seq`: the number of the change that wrote the contact's current version (its
  ETag); unique per owner, indexed with the owner for the feed.
- `contact_tombstones (owner_id, change_seq, contact_id, deleted_at)`: a deletion, kept
  SYNC_TOMBSTONE_DAYS; gone with the account (ON DELETE CASCADE), like the counter.

Existing contacts are numbered per owner in the order they were last written (updated_at, then
id), and each owner's counter starts at the highest of them: every contact has a version, and the
first sync of an existing book sees every contact.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 19:20:00
"""

from __future__ import annotations

from collections.abc import Sequence

import advanced_alchemy.types
import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

GUID = advanced_alchemy.types.guid.GUID(length=16)


def upgrade() -> None:
    op.create_table(
        "address_books",
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("last_change_seq", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_address_books_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", name="pk_address_books"),
    )
    op.create_table(
        "contact_tombstones",
        sa.Column("owner_id", GUID, nullable=False),
        sa.Column("change_seq", sa.BigInteger(), nullable=False),
        sa.Column("contact_id", GUID, nullable=False),
        sa.Column("deleted_at", advanced_alchemy.types.DateTimeUTC(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["users.id"], name=op.f("fk_contact_tombstones_owner_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("owner_id", "change_seq", name="pk_contact_tombstones"),
    )
    op.create_index("ix_contact_tombstones_deleted_at", "contact_tombstones", ["deleted_at"])
    with op.batch_alter_table("contacts") as batch:
        batch.add_column(sa.Column("change_seq", sa.BigInteger(), nullable=True))
    # One statement each, on both databases (SQLite has UPDATE … FROM and window functions since
    # 3.33 and 3.25): the numbering is one pass over the table, whatever the books' sizes.
    op.execute(
        """
        UPDATE contacts SET change_seq = numbered.seq
        FROM (
            SELECT id, row_number() OVER (PARTITION BY owner_id ORDER BY updated_at, id) AS seq FROM contacts
        ) AS numbered
        WHERE contacts.id = numbered.id
        """
    )
    op.execute(
        """
        INSERT INTO address_books (owner_id, last_change_seq)
        SELECT owner_id, max(change_seq) FROM contacts GROUP BY owner_id
        """
    )
    with op.batch_alter_table("contacts") as batch:
        batch.alter_column("change_seq", existing_type=sa.BigInteger(), nullable=False)
        batch.create_index("ux_contacts_owner_id_change_seq", ["owner_id", "change_seq"], unique=True)


def downgrade() -> None:
    with op.batch_alter_table("contacts") as batch:
        batch.drop_index("ux_contacts_owner_id_change_seq")
        batch.drop_column("change_seq")
    op.drop_index("ix_contact_tombstones_deleted_at", table_name="contact_tombstones")
    op.drop_table("contact_tombstones")
    op.drop_table("address_books")
