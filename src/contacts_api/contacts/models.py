"""A contact in one user's address book, and the indexes its queries rely on."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Callable

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
    literal_column,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from contacts_api.text import fold

# Search keys (text.fold of a name) compare byte by byte, as SQLite does: PostgreSQL's default
# collation would order them by its locale's rules, and the two databases would sort differently.
SEARCH_KEY_LENGTH = 300
SearchKey = String(SEARCH_KEY_LENGTH).with_variant(String(SEARCH_KEY_LENGTH, collation="C"), "postgresql")


def search_key(name: str) -> str:
    """A name's search key: text.fold of it, cut to the column's length. Folding can lengthen text
    (U+FDFA becomes 18 letters), and a 100-character name must still fit, in the column and in
    the b-tree's entry size; a search never looks past the 300th folded character of a name."""
    return fold(name)[:SEARCH_KEY_LENGTH]


def keyed(source: str) -> Callable[[DefaultExecutionContext], str]:
    """An insert default: the search key of another column's value. Inserts (the repository's
    `add`, seeding, tests) rely on it; updates set the keys themselves (repository.py)."""

    def default(context: DefaultExecutionContext) -> str:
        return search_key(context.get_current_parameters()[source])  # type: ignore[no-untyped-call]

    return default


class ContactModel(UUIDv7AuditBase):
    """The contacts table (the API's view of a row is `schemas.Contact`)."""

    __tablename__ = "contacts"
    __table_args__ = (
        # Decides duplicates, race-safe: two concurrent creates of one email cannot both commit.
        UniqueConstraint("owner_id", "email", name="uq_contacts_owner_id_email"),
        # The list's sort order within one owner's book: an index range scan, no sort step.
        Index("ix_contacts_owner_id_name_keys_id", "owner_id", "last_name_key", "first_name_key", "id"),
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
    # text.fold of the names: what search, the per-field filters and the name order compare.
    first_name_key: Mapped[str] = mapped_column(SearchKey, default=keyed("first_name"))
    last_name_key: Mapped[str] = mapped_column(SearchKey, default=keyed("last_name"))


CONTACTS: Table = ContactModel.__table__  # type: ignore[assignment]

# A birthday's month and day as one number (17 May is 517). Upcoming-birthday queries select
# ranges of it, which the index below serves: the query must use this very expression, with the
# 100 written into the SQL as in the index, not sent as a parameter.
BIRTHDAY_MONTH_DAY = cast(extract("month", CONTACTS.c.birthday), Integer) * literal_column("100", Integer) + cast(
    extract("day", CONTACTS.c.birthday), Integer
)
Index("ix_contacts_owner_id_birthday_month_day", CONTACTS.c.owner_id, BIRTHDAY_MONTH_DAY)

# Substring search (`LIKE '%…%'` on the search keys and the email, stored lower-cased) reads
# trigram indexes on PostgreSQL, so a large book is not scanned row by row; with the owner in the
# same index (btree_gin), only that owner's matches are fetched. SQLite has no such index and scans.
for _column in ("first_name_key", "last_name_key", "email"):
    Index(
        f"ix_contacts_owner_id_{_column}_trigram",
        CONTACTS.c.owner_id,
        CONTACTS.c[_column],
        postgresql_using="gin",
        postgresql_ops={_column: "gin_trgm_ops"},
        info={"only_on": "postgresql"},  # for Alembic's comparison: see db.include_in_comparison
    ).ddl_if(dialect="postgresql")
