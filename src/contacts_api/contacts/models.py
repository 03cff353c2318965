"""A contact in one user's address book, and the tables and indexes its queries rely on.

A contact is one row of `contacts`, which holds everything an answer shows: the lists (emails,
phones, addresses, tags) as JSON text, so that a page of 20 contacts or one contact is one
single-table statement with no join or aggregation. What a list must be searched by or kept
unique by is projected into three index tables, written by the repository in the same
transaction as the row (and removed with it, ON DELETE CASCADE):

- `contact_emails` (owner, address): its primary key keeps an address on at most one contact of
  an owner, race-safe.
- `contact_phones` (contact, position): each number's digits and E.164 form (for finding
  duplicates by number).

Every write of a contact takes the next number of its owner's change counter (`address_books`)
and stores it in `change_seq` (the contact's version, its ETag); a deletion leaves a tombstone in
`contact_tombstones` with the number it took. sync.py says why, and how the changes feed reads them.

Substring search reads the row alone: its search keys (names, organization, `emails_key`,
`phone_digits`), trigram-indexed on PostgreSQL.
- `contact_tags` (owner, folded tag, contact): the `tag` filters and the tag counts.

Migration 0006 says why this storage, with the alternatives weighed.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import msgspec
from advanced_alchemy.base import UUIDv7AuditBase
from advanced_alchemy.types import GUID, DateTimeUTC
from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    PrimaryKeyConstraint,
    SmallInteger,
    String,
    Table,
    Text,
    TypeDecorator,
)
from sqlalchemy.engine.default import DefaultExecutionContext
from sqlalchemy.orm import Mapped, mapped_column

from contacts_api.contacts.schemas import EmailEntry, PhoneEntry, PostalAddress
from contacts_api.dto import without_constraints
from contacts_api.text import fold

# Between the entries of emails_key and phone_digits: a character no address or digit string
# holds (ASCII unit separator), so a search never matches across two entries.
LIST_SEPARATOR = "\x1f"
# Search keys (text.fold of a name) compare byte by byte, as SQLite does: PostgreSQL's default
# collation would order them by its locale's rules, and the two databases would sort differently.
SEARCH_KEY_LENGTH = 300
SearchKey = String(SEARCH_KEY_LENGTH).with_variant(String(SEARCH_KEY_LENGTH, collation="C"), "postgresql")
# A tag's key (its case fold) and its spelling, compared in byte order on both databases too.
# Case folding can triple a length ("ﬃ" → "ffi"): a 40-character tag fits in 120.
TagKey = String(120).with_variant(String(120, collation="C"), "postgresql")
TagName = String(40).with_variant(String(40, collation="C"), "postgresql")


def search_key(name: str | None) -> str:
    """A name's search key: text.fold of it, cut to the column's length. Folding can lengthen text
    (U+FDFA becomes 18 letters), and a 100-character name must still fit, in the column and in
    the b-tree's entry size; a search never looks past the 300th folded character of a name.
    An absent value (no organization) has the empty key."""
    return fold(name)[:SEARCH_KEY_LENGTH] if name else ""


def keyed(source: str) -> Callable[[DefaultExecutionContext], str]:
    """An insert default: the search key of another column's value. Inserts (the repository's
    `add`, seeding, tests) rely on it; updates set the keys themselves (repository.py)."""

    def default(context: DefaultExecutionContext) -> str:
        return search_key(context.get_current_parameters().get(source))  # type: ignore[no-untyped-call]

    return default


def stored_form(item_type: type[Any]) -> type[Any]:
    """A Struct with `item_type`'s fields and defaults but none of its constraints (or `item_type`
    itself if it is no Struct): what stored entries are read back as. They were checked when
    written; checking every pattern again on each read costs ten times the decoding itself
    (4.8 µs instead of 0.35 µs for two emails). The result has the same fields, so it reads and
    encodes like `item_type`; it is not an instance of it."""
    if not (isinstance(item_type, type) and issubclass(item_type, msgspec.Struct)):
        return item_type
    fields = [
        (field.name, without_constraints(field.type), field.default)
        if field.default is not msgspec.NODEFAULT
        else (field.name, without_constraints(field.type))
        for field in msgspec.structs.fields(item_type)
    ]
    return msgspec.defstruct(item_type.__name__, fields, kw_only=True)


class StructList(TypeDecorator[list[Any]]):
    """A list of msgspec Structs (or strings) stored as JSON text, and read straight back into
    them by msgspec: the same bytes and the same speed on both databases. The JSON is never
    queried in SQL (the index tables are), so PostgreSQL's jsonb would buy nothing here."""

    impl = Text
    cache_ok = True

    def __init__(self, item_type: type[Any]) -> None:
        super().__init__()
        self.item_type = item_type
        self._decoder = msgspec.json.Decoder(list[stored_form(item_type)])  # type: ignore[misc]

    def process_bind_param(self, value: list[Any] | None, dialect: Dialect) -> str | None:
        return None if value is None else msgspec.json.encode(value).decode()

    def process_result_value(self, value: str | None, dialect: Dialect) -> list[Any] | None:
        return None if value is None else self._decoder.decode(value)


class ContactModel(UUIDv7AuditBase):
    """The contacts table (the API's view of a row is `schemas.Contact`)."""

    __tablename__ = "contacts"
    __table_args__ = (
        # The list's name order within one owner's book (and its reverse): an index range scan, no sort step.
        Index("ix_contacts_owner_id_name_keys_id", "owner_id", "last_name_key", "first_name_key", "id"),
        Index("ix_contacts_owner_id_created_at_id", "owner_id", "created_at", "id"),
        Index("ix_contacts_owner_id_updated_at_id", "owner_id", "updated_at", "id"),
        # Upcoming birthdays read the month-day ranges of their window.
        Index("ix_contacts_owner_id_birthday_month_day", "owner_id", "birthday_month_day"),
        # The changes feed reads an owner's changes in number order; each number is one change.
        Index("ux_contacts_owner_id_change_seq", "owner_id", "change_seq", unique=True),
    )

    # Named by table, not imported: the contacts domain does not need the User model. It leads
    # every index here, which serve all owner-scoped lookups.
    owner_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    first_name: Mapped[str] = mapped_column(String(100))
    last_name: Mapped[str] = mapped_column(String(100), default="")
    emails: Mapped[list[EmailEntry]] = mapped_column(StructList(EmailEntry), default=list)
    phones: Mapped[list[PhoneEntry]] = mapped_column(StructList(PhoneEntry), default=list)
    addresses: Mapped[list[PostalAddress]] = mapped_column(StructList(PostalAddress), default=list)
    organization: Mapped[str | None] = mapped_column(String(200), default=None)
    job_title: Mapped[str | None] = mapped_column(String(200), default=None)
    # As the API has it, `YYYY-MM-DD` or `--MM-DD`; its parts below are what queries compare.
    birthday: Mapped[str | None] = mapped_column(String(10), default=None)
    notes: Mapped[str | None] = mapped_column(Text, default=None)
    tags: Mapped[list[str]] = mapped_column(StructList(str), default=list)
    favorite: Mapped[bool] = mapped_column(Boolean, default=False)
    # text.fold of the names and the organization: what search, the filters and the name order compare.
    first_name_key: Mapped[str] = mapped_column(SearchKey, default=keyed("first_name"))
    last_name_key: Mapped[str] = mapped_column(SearchKey, default=keyed("last_name"))
    organization_key: Mapped[str] = mapped_column(SearchKey, default=keyed("organization"))
    # Every email address, and the digits of every phone, joined by LIST_SEPARATOR: what `q` and
    # the email filter search, on the row itself, so that a search reads one table through one
    # bitmap of trigram indexes (repository.search_conditions). Written by the repository.
    emails_key: Mapped[str] = mapped_column(Text, default="")
    phone_digits: Mapped[str] = mapped_column(Text, default="")
    # The birthday's month * 100 + day (17 May is 517) and its year, if known (see birthday_parts).
    birthday_month_day: Mapped[int | None] = mapped_column(Integer, default=None)
    birthday_year: Mapped[int | None] = mapped_column(Integer, default=None)
    # The number of the owner's change that wrote this version of the contact (sync.py).
    change_seq: Mapped[int] = mapped_column(BigInteger)


CONTACTS: Table = ContactModel.__table__  # type: ignore[assignment]
METADATA = ContactModel.metadata


def _owner_column() -> Column[uuid.UUID]:
    # No foreign key of its own: the contact's row (whose owner this copies) cascades.
    return Column("owner_id", GUID(length=16), nullable=False)


def _contact_column() -> Column[uuid.UUID]:
    # The same type as contacts.id (advanced-alchemy's GUID: 16 bytes on SQLite, uuid on PostgreSQL).
    return Column("contact_id", GUID(length=16), ForeignKey("contacts.id", ondelete="CASCADE"), nullable=False)


def _owning_user_column() -> Column[uuid.UUID]:
    # An account's deletion takes its rows with it.
    return Column("owner_id", GUID(length=16), ForeignKey("users.id", ondelete="CASCADE"), nullable=False)


# One row per owner who ever wrote a contact: the number of the owner's last change. Writers take
# the next numbers with an upsert of this row, under its row lock (sync.py).
ADDRESS_BOOKS = Table(
    "address_books",
    METADATA,
    _owning_user_column(),
    Column("last_change_seq", BigInteger, nullable=False),
    PrimaryKeyConstraint("owner_id", name="pk_address_books"),
)
# A deleted contact, for the changes feed, until `contacts-api contacts purge-tombstones` removes
# it SYNC_TOMBSTONE_DAYS later.
CONTACT_TOMBSTONES = Table(
    "contact_tombstones",
    METADATA,
    _owning_user_column(),
    Column("change_seq", BigInteger, nullable=False),
    Column("contact_id", GUID(length=16), nullable=False),
    Column("deleted_at", DateTimeUTC(timezone=True), nullable=False),
    PrimaryKeyConstraint("owner_id", "change_seq", name="pk_contact_tombstones"),
    Index("ix_contact_tombstones_deleted_at", "deleted_at"),
)

CONTACT_EMAILS = Table(
    "contact_emails",
    METADATA,
    _owner_column(),
    Column("address", String(320), nullable=False),
    _contact_column(),
    # An address is on at most one contact of an owner: this key decides, also between racing writes.
    PrimaryKeyConstraint("owner_id", "address", name="pk_contact_emails"),
    Index("ix_contact_emails_contact_id", "contact_id"),
)
CONTACT_PHONES = Table(
    "contact_phones",
    METADATA,
    _contact_column(),
    Column("position", SmallInteger, nullable=False),
    _owner_column(),
    Column("digits", String(20), nullable=False),
    Column("e164", String(20), nullable=True),
    PrimaryKeyConstraint("contact_id", "position", name="pk_contact_phones"),
    Index("ix_contact_phones_owner_id_e164", "owner_id", "e164"),
)
CONTACT_TAGS = Table(
    "contact_tags",
    METADATA,
    _owner_column(),
    Column("tag_key", TagKey, nullable=False),
    _contact_column(),
    Column("name", TagName, nullable=False),
    PrimaryKeyConstraint("owner_id", "tag_key", "contact_id", name="pk_contact_tags"),
    Index("ix_contact_tags_contact_id", "contact_id"),
)

# Substring search (`LIKE '%…%'` on the search keys, the addresses, stored lower-cased, and the
# digits) reads trigram indexes on PostgreSQL, so a large book is not scanned row by row; with the
# owner in the same index (btree_gin), only that owner's matches are fetched. SQLite has no such
# index and scans the owner's rows.
for _table, _column in (
    (CONTACTS, "first_name_key"),
    (CONTACTS, "last_name_key"),
    (CONTACTS, "organization_key"),
    (CONTACTS, "emails_key"),
    (CONTACTS, "phone_digits"),
):
    Index(
        f"ix_{_table.name}_owner_id_{_column}_trigram",
        _table.c.owner_id,
        _table.c[_column],
        postgresql_using="gin",
        postgresql_ops={_column: "gin_trgm_ops"},
        info={"only_on": "postgresql"},  # for Alembic's comparison: see db.include_in_comparison
    ).ddl_if(dialect="postgresql")
