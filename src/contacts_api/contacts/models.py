"""A contact in one user's address book, and the indexes its queries rely on."""

from __future__ import annotations

import datetime
import uuid

from advanced_alchemy.base import UUIDv7AuditBase
from sqlalchemy import (
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    cast,
    extract,
    func,
    literal_column,
)
from sqlalchemy.orm import Mapped, mapped_column


class ContactModel(UUIDv7AuditBase):
    """The contacts table (the API's view of a row is `schemas.Contact`)."""

    __tablename__ = "contacts"
    __table_args__ = (
        # Decides duplicates, race-safe: two concurrent creates of one email cannot both commit.
        UniqueConstraint("owner_id", "email", name="uq_contacts_owner_id_email"),
        # The list's sort order within one owner's book: an index range scan, no sort step.
        Index("ix_contacts_owner_id_last_name_first_name_id", "owner_id", "last_name", "first_name", "id"),
    )

    # Named by table, not imported: the contacts domain does not need the User model. It leads
    # every index here, which serve all owner-scoped lookups.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100))
    email: Mapped[str] = mapped_column(String(320))
    phone: Mapped[str] = mapped_column(String(20))
    birthday: Mapped[datetime.date] = mapped_column(Date)
    notes: Mapped[str | None] = mapped_column(Text, default=None)


CONTACTS: Table = ContactModel.__table__  # type: ignore[assignment]

# A birthday's month and day as one number (17 May is 517). Upcoming-birthday queries select
# ranges of it, which the index below serves: the query must use this very expression, with the
# 100 written into the SQL as in the index, not sent as a parameter.
BIRTHDAY_MONTH_DAY = cast(extract("month", CONTACTS.c.birthday), Integer) * literal_column("100", Integer) + cast(
    extract("day", CONTACTS.c.birthday), Integer
)
Index("ix_contacts_owner_id_birthday_month_day", CONTACTS.c.owner_id, BIRTHDAY_MONTH_DAY)

# Substring search (`LIKE '%…%'` on the lower-cased names and email) reads trigram indexes on
# PostgreSQL, so a large book is not scanned row by row; with the owner in the same index
# (btree_gin), only that owner's matches are fetched. SQLite has no such index and scans.
for _column in ("first_name", "last_name", "email"):
    Index(
        f"ix_contacts_owner_id_{_column}_trigram",
        CONTACTS.c.owner_id,
        func.lower(CONTACTS.c[_column]).label(_column),
        postgresql_using="gin",
        postgresql_ops={_column: "gin_trgm_ops"},
    ).ddl_if(dialect="postgresql")
