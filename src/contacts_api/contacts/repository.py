"""The SQL of the contacts domain: an advanced-alchemy repository bound to one owner.

The repository's base statement selects the owner's rows only, so every read of its API
(`get_one_or_none`, `get_many`, `get_many_and_count`, `count`) and the `get` that its own
`update` and `delete` start from is owner-scoped by construction; the statements written here
take the owner from the repository too. Rows become `Contact` structs by column name, in one
place (`contact_from_row`); the index tables (models.py) are written from a contact's lists in
one place too (`IndexRows`), in the same transaction as the row.

The routes' reads and writes are hand-written statements, each where the repository's API was
measured to cost too much (`python -m benchmarks --compare-with`, README "Performance"); each
says what it saves. The repository's API serves the create (`add`).
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import uuid
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.types import GUID
from sqlalchemy import (
    BigInteger,
    ColumnElement,
    Row,
    Select,
    Table,
    bindparam,
    case,
    column,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)
from sqlalchemy import table as sql_table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.contacts.models import (
    ADDRESS_BOOKS,
    CONTACT_EMAILS,
    CONTACT_PHONES,
    CONTACT_TAGS,
    CONTACT_TOMBSTONES,
    CONTACTS,
    LIST_SEPARATOR,
    ContactModel,
    search_key,
)
from contacts_api.contacts.phones import digits_of
from contacts_api.contacts.schemas import (
    Contact,
    ContactFilters,
    ContactSort,
    EmailEntry,
    PhoneEntry,
    TagCount,
    UpcomingBirthday,
    primaries,
)
from contacts_api.errors import InvalidCredentials
from contacts_api.text import fold, tag_key

_FEBRUARY_28, _FEBRUARY_29 = 228, 229
_LIKE_SPECIALS = re.compile(r"([\\%_])")
# A pattern no search key can match: two separators in a row never occur.
_NEVER_MATCHES = f"%{LIST_SEPARATOR}{LIST_SEPARATOR}%"
# The entity's fields that are columns; `email` and `phone` are views of the lists, `etag` of
# `change_seq`.
DERIVED_FIELDS = frozenset({"email", "phone", "etag"})
STORED_FIELDS = tuple(name for name in Contact.__struct_fields__ if name not in DERIVED_FIELDS)
# Every column the entity has, labelled with its field's name: rows map onto it by name.
CONTACT_COLUMNS = tuple(CONTACTS.c[name].label(name) for name in STORED_FIELDS)
# Lists whose entries the index tables mirror.
INDEXED_LISTS = frozenset({"emails", "phones", "tags"})
# A `q` with this many digits also searches the phones' digits.
MIN_PHONE_DIGITS = 3


def contact_from_row(row: Row[Any]) -> Contact:
    """The one mapping from a row of CONTACT_COLUMNS (and maybe more) to the struct, by name."""
    mapping = row._mapping
    return Contact(**{name: mapping[name] for name in STORED_FIELDS}, **primaries(mapping["emails"], mapping["phones"]))


def upcoming_birthday_from_row(row: Row[Any]) -> UpcomingBirthday:
    """A row of upcoming_birthdays_statement: the contact's columns, `next_birthday`, `age`."""
    mapping = row._mapping
    return UpcomingBirthday(
        **{name: mapping[name] for name in STORED_FIELDS},
        **primaries(mapping["emails"], mapping["phones"]),
        next_birthday=_key_to_date(mapping["next_birthday"]),
        age=mapping["age"],
    )


def exact_contact_from_row(row: Row[Any]) -> Contact:
    """contact_from_row for a row of CONTACT_COLUMNS alone: faster."""
    mapping = row._mapping
    return Contact(**mapping, **primaries(mapping["emails"], mapping["phones"]))


def birthday_parts(birthday: str | None) -> tuple[int | None, int | None]:
    """(month * 100 + day, year or None) of a stored birthday (`YYYY-MM-DD` or `--MM-DD`)."""
    if birthday is None:
        return None, None
    year = None if birthday.startswith("--") else int(birthday[:4])
    return int(birthday[-5:-3]) * 100 + int(birthday[-2:]), year


def with_derived_columns(fields: Mapping[str, Any]) -> dict[str, Any]:
    """The columns to write for `fields` (stored fields only): the fields themselves, plus the
    search key of each name among them and the birthday's parts."""
    columns = {name: value for name, value in fields.items() if name not in DERIVED_FIELDS}
    for name in ("first_name", "last_name", "organization"):
        if name in fields:
            columns[f"{name}_key"] = search_key(fields[name])
    if "birthday" in fields:
        columns["birthday_month_day"], columns["birthday_year"] = birthday_parts(fields["birthday"])
    if "emails" in fields:
        columns["emails_key"] = LIST_SEPARATOR.join(entry.value for entry in fields["emails"])
    if "phones" in fields:
        columns["phone_digits"] = LIST_SEPARATOR.join(digits_of(entry.value) for entry in fields["phones"])
    return columns


@dataclass(frozen=True)
class IndexRows:
    """The index tables' rows for one contact's lists (models.py): one place, for every writer."""

    owner_id: uuid.UUID
    contact_id: uuid.UUID

    def emails(self, entries: Iterable[EmailEntry]) -> list[dict[str, Any]]:
        return [{"owner_id": self.owner_id, "contact_id": self.contact_id, "address": e.value} for e in entries]

    def phones(self, entries: Iterable[PhoneEntry]) -> list[dict[str, Any]]:
        return [
            {
                "owner_id": self.owner_id,
                "contact_id": self.contact_id,
                "position": position,
                "digits": digits_of(entry.value),
                "e164": entry.e164,
            }
            for position, entry in enumerate(entries)
        ]

    def tags(self, names: Iterable[str]) -> list[dict[str, Any]]:
        return [
            {"owner_id": self.owner_id, "contact_id": self.contact_id, "tag_key": tag_key(name), "name": name}
            for name in names
        ]


_INDEX_TABLES = {"emails": CONTACT_EMAILS, "phones": CONTACT_PHONES, "tags": CONTACT_TAGS}


def like_pattern(fragment: str) -> str:
    """A LIKE pattern for "contains `fragment`", with `%`, `_` and `\\` taken literally."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", fragment) + "%"


def contains(column: ColumnElement[str], pattern_parameter: str) -> ColumnElement[bool]:
    return column.like(bindparam(pattern_parameter), escape="\\")


_OWNER = CONTACTS.c.owner_id == bindparam("owner")


def _tagged(parameter: str) -> ColumnElement[bool]:
    return CONTACTS.c.id.in_(
        select(CONTACT_TAGS.c.contact_id).where(
            CONTACT_TAGS.c.owner_id == bindparam("owner"), CONTACT_TAGS.c.tag_key == bindparam(parameter)
        )
    )


def _q_matches(digits: bool) -> ColumnElement[bool]:
    """`q` in a name, the organization or any email, or (`digits`) its digits in any phone's:
    one OR over the row's own search keys, which PostgreSQL answers with one bitmap over their
    trigram indexes and one visit of the matching rows. (A union of lookups in the index tables
    read each match three or four times: a big book's search ran at a fifth of the speed.)"""
    places = [
        contains(CONTACTS.c.first_name_key, "q"),
        contains(CONTACTS.c.last_name_key, "q"),
        contains(CONTACTS.c.organization_key, "q"),
        contains(CONTACTS.c.emails_key, "q_emails"),
    ]
    if digits:
        places.append(contains(CONTACTS.c.phone_digits, "q_digits"))
    return or_(*places)


@dataclass(frozen=True)
class SearchShape:
    """Which filters a search has (not their values): what its statement is built, and cached, for."""

    q: bool = False
    q_digits: bool = False
    first_name: bool = False
    last_name: bool = False
    email: bool = False
    tags: int = 0
    favorite: bool = False
    sort: ContactSort = "name"


def search_conditions(shape: SearchShape) -> list[ColumnElement[bool]]:
    """The owner's rows that match every filter of `shape`; the values are the parameters
    `search_parameters` names."""
    conditions: list[ColumnElement[bool]] = [_OWNER]
    if shape.q:
        conditions.append(_q_matches(shape.q_digits))
    if shape.first_name:
        conditions.append(contains(CONTACTS.c.first_name_key, "first_name"))
    if shape.last_name:
        conditions.append(contains(CONTACTS.c.last_name_key, "last_name"))
    if shape.email:
        conditions.append(contains(CONTACTS.c.emails_key, "email"))
    conditions.extend(_tagged(f"tag{index}") for index in range(shape.tags))
    if shape.favorite:
        conditions.append(CONTACTS.c.favorite == bindparam("favorite"))
    return conditions


def search_parameters(filters: ContactFilters, sort: ContactSort = "name") -> tuple[SearchShape, dict[str, Any]]:
    """The shape of a search and its parameters: LIKE patterns folded by the same rule as the
    stored keys. A value that folds to nothing (only combining marks) filters nothing,
    deliberately, as if not given."""
    folded = {
        name: fold(value) for name in ("q", "first_name", "last_name", "email") if (value := getattr(filters, name))
    }
    parameters: dict[str, Any] = {name: like_pattern(value) for name, value in folded.items() if value}
    # Addresses hold no separator: a value with one could only match across two of them.
    for name, emails_name in (("q", "q_emails"), ("email", "email")):
        if name in parameters:
            parameters[emails_name] = _NEVER_MATCHES if LIST_SEPARATOR in folded[name] else like_pattern(folded[name])
    digits = digits_of(filters.q or "")
    if "q" in parameters and len(digits) >= MIN_PHONE_DIGITS:
        parameters["q_digits"] = like_pattern(digits)
    tags = list(dict.fromkeys(tag_key(tag.strip()) for tag in filters.tags))
    parameters.update({f"tag{index}": tag for index, tag in enumerate(tags)})
    if filters.favorite is not None:
        parameters["favorite"] = filters.favorite
    shape = SearchShape(
        q="q" in parameters,
        q_digits="q_digits" in parameters,
        first_name="first_name" in parameters,
        last_name="last_name" in parameters,
        email="email" in parameters,
        tags=len(tags),
        favorite="favorite" in parameters,
        sort=sort,
    )
    return shape, parameters


def _sort_columns(sort: ContactSort) -> tuple[str, ...]:
    """The column names of an order, id last so that the order is total."""
    if sort.lstrip("-") == "name":
        return ("last_name_key", "first_name_key", "id")
    return (sort.lstrip("-"), "id")


# Built once: building a statement and its cache key costs more than running it on PostgreSQL.
_OWNED_ROWS = select(ContactModel).where(ContactModel.owner_id == bindparam("owner"))
_GET_OWNED = select(*CONTACT_COLUMNS).where(_OWNER, CONTACTS.c.id == bindparam("contact"))
_GET_OWNED_FOR_UPDATE = _GET_OWNED.with_for_update()


# The owners' table, as far as a book's writers lock it (the accounts domain owns it).
_OWNERS = sql_table("users", column("id", GUID(length=16)))


def _take_change_numbers(insert_for: Any, *, lock_owner: bool) -> Any:
    """The upsert of take_change_numbers, in a dialect's own INSERT … SELECT … ON CONFLICT DO
    UPDATE, from the owner's `users` row: no row when the account is gone.

    On PostgreSQL it takes that row `FOR KEY SHARE` first, the lock the writer's inserts would take
    later for their foreign keys anyway: taken before the counter's, it keeps the order of every
    writer's locks the same as an account deletion's (the user, then its book), where the other
    order deadlocked against a deletion's cascade."""
    owner = select(_OWNERS.c.id, bindparam("count", type_=BigInteger())).where(_OWNERS.c.id == bindparam("owner"))
    if lock_owner:
        owner = owner.with_for_update(read=True, key_share=True)
    inserted = insert_for(ADDRESS_BOOKS).from_select(["owner_id", "last_change_seq"], owner)
    return inserted.on_conflict_do_update(
        index_elements=[ADDRESS_BOOKS.c.owner_id],
        set_={"last_change_seq": ADDRESS_BOOKS.c.last_change_seq + bindparam("count")},
    ).returning(ADDRESS_BOOKS.c.last_change_seq)


_TAKE_CHANGE_NUMBERS = {
    "postgresql": _take_change_numbers(postgresql.insert, lock_owner=True),
    # SQLite has no row locks: its one write transaction at a time already orders the writers.
    "sqlite": _take_change_numbers(sqlite.insert, lock_owner=False),
}
# Export pages: the owner's contacts in id order (creation order: ids are UUIDv7) after a given id,
# a keyset page that reads the primary key's order, whatever the book's size.
EXPORT_PAGE_SIZE = 500
_EXPORT_ORDER = (CONTACTS.c.id,)
_EXPORT_FIRST = select(*CONTACT_COLUMNS).where(_OWNER).order_by(*_EXPORT_ORDER).limit(bindparam("limit"))
_EXPORT_AFTER = _EXPORT_FIRST.where(CONTACTS.c.id > bindparam("after"))
_COUNT = select(func.count()).select_from(CONTACTS).where(_OWNER)
# How many values one `IN (…)` of a duplicate lookup carries (SQLite allows 32,766 in all).
LOOKUP_CHUNK = 500
INSERT_CHUNK = 1000
_TAG_COUNTS = (
    select(func.min(CONTACT_TAGS.c.name).label("name"), func.count().label("count"))
    .where(CONTACT_TAGS.c.owner_id == bindparam("owner"))
    .group_by(CONTACT_TAGS.c.tag_key)
    .order_by(CONTACT_TAGS.c.tag_key)
)


@functools.cache
def search_statement(shape: SearchShape) -> Select[Any]:
    """One page of an owner's contacts matching the filters of `shape`, in its order, and how
    many match in all.

    Both come from one statement: the count of matches, left-joined to the page, so that the
    count arrives even when the page is empty (an offset past the end).
    """
    conditions = search_conditions(shape)
    names = _sort_columns(shape.sort)
    descending = shape.sort.startswith("-")
    order_keys = tuple(name for name in names if name not in STORED_FIELDS)  # the keys, not in the entity
    if len(conditions) == 1:
        # The whole book: the count reads the owner's index entries, the page a range of an
        # ordered index ((owner, name keys, id), (owner, created_at, id), …), forwards or backwards.
        total = select(func.count().label("total")).select_from(CONTACTS).where(*conditions)
        order = [CONTACTS.c[name].desc() if descending else CONTACTS.c[name] for name in names]
        page = select(*CONTACT_COLUMNS, *(CONTACTS.c[name] for name in order_keys)).where(*conditions).order_by(*order)
    else:
        # A search: its matches are found once (through the trigram indexes on PostgreSQL), then
        # counted and sorted. Left to itself, the planner walks the name-ordered index and tests
        # every contact before the first match: with the repository's window-count query a
        # 100,000-contact book answered 10 searches a second instead of 279.
        matching = (
            select(*CONTACT_COLUMNS, *(CONTACTS.c[name] for name in order_keys))
            .where(*conditions)
            .cte("matching")
            .prefix_with("MATERIALIZED")
        )
        total = select(func.count().label("total")).select_from(matching)
        page = select(matching).order_by(
            *(matching.c[name].desc() if descending else matching.c[name] for name in names)
        )
    totals = total.subquery("matches")
    page_rows = page.limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    return (
        select(totals.c.total, *page_rows.c)
        .select_from(totals.outerjoin(page_rows, true()))
        .order_by(*(page_rows.c[name].desc() if descending else page_rows.c[name] for name in names))
    )


def _date_key(day: datetime.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _key_to_date(key: int) -> datetime.date:
    return datetime.date(key // 10_000, key // 100 % 100, key % 100)


BIRTHDAY_MONTH_DAY = CONTACTS.c.birthday_month_day
_NAME_ORDER_COLUMNS = (CONTACTS.c.last_name_key, CONTACTS.c.first_name_key, CONTACTS.c.id)


@functools.lru_cache(maxsize=1024)
def upcoming_birthdays_statement(today: datetime.date, days: int, tagged: bool) -> Select[Any]:
    """An owner's contacts whose next birthday falls in [today, today + days], soonest first,
    then by name, with that birthday as a `yyyymmdd` key and the age then (null without a
    year); `tagged`: only those with the tag given as the `tag` parameter.

    The next birthday is computed in SQL from integer keys, which read the same on every
    dialect: the birthday's month and day are placed in this year or, once passed, in the next
    one; in a common year 29 February becomes 28 February. That key is exact but no index can
    serve it; the month-day ranges the window covers can, and narrow a large book to the few
    rows the key then checks. Year-less birthdays have a month and day like the others.
    """

    def key_in(year: int) -> ColumnElement[int]:
        in_year = (
            BIRTHDAY_MONTH_DAY
            if calendar.isleap(year)
            else case((BIRTHDAY_MONTH_DAY == _FEBRUARY_29, _FEBRUARY_28), else_=BIRTHDAY_MONTH_DAY)
        )
        return year * 10_000 + in_year

    this_year, next_year = key_in(today.year), key_in(today.year + 1)
    next_birthday = case((this_year >= _date_key(today), this_year), else_=next_year)
    age = case((CONTACTS.c.birthday_year.is_(None), None), else_=next_birthday // 10_000 - CONTACTS.c.birthday_year)
    last_day = today + datetime.timedelta(days=days)
    conditions = [_OWNER, month_day_window(today, last_day), next_birthday <= _date_key(last_day)]
    if tagged:
        conditions.append(_tagged("tag"))
    return (
        select(*CONTACT_COLUMNS, next_birthday.label("next_birthday"), age.label("age"))
        .where(*conditions)
        .order_by(next_birthday, *_NAME_ORDER_COLUMNS)
    )


def month_day_window(first_day: datetime.date, last_day: datetime.date) -> ColumnElement[bool]:
    """Birthdays whose month and day fall between two dates at most a year apart: what the
    (owner, month-day) index serves.

    A window that crosses New Year is two ranges. In a common year a 29 February birthday is
    celebrated on the 28th, so it belongs to any range that holds 28 February of such a year.
    """
    if (last_day - first_day).days >= 365:
        return BIRTHDAY_MONTH_DAY.is_not(None)
    if first_day.year == last_day.year:
        segments = [(first_day.year, first_day, last_day)]
    else:
        segments = [
            (first_day.year, first_day, datetime.date(first_day.year, 12, 31)),
            (last_day.year, datetime.date(last_day.year, 1, 1), last_day),
        ]
    ranges: list[ColumnElement[bool]] = []
    for year, start, end in segments:
        low, high = start.month * 100 + start.day, end.month * 100 + end.day
        ranges.append(BIRTHDAY_MONTH_DAY.between(low, high))
        if not calendar.isleap(year) and low <= _FEBRUARY_28 <= high < _FEBRUARY_29:
            ranges.append(BIRTHDAY_MONTH_DAY == _FEBRUARY_29)
    return or_(*ranges)


async def _not_owner_scoped(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("not owner-scoped: write a method of ContactRepository that is")


async def _skips_index_rows(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("writes no index rows: use ContactRepository.update_contact")


async def _leaves_no_tombstone(*_: Any, **__: Any) -> Any:
    raise NotImplementedError("leaves no tombstone: use ContactRepository.delete_contact")


class OwnerGoneError(InvalidCredentials):
    """The book's owner was deleted while one of its writes waited (the account deletion won):
    401, as every later request with that account's tokens is."""

    def __init__(self) -> None:
        super().__init__("This account no longer exists", token_given=True)


class ContactRepository(SQLAlchemyAsyncRepository[ContactModel]):
    """One owner's contacts, over the request's session.

    Built for one owner (see the module docstring): `add` writes this owner's rows only, and
    advanced-alchemy's writes that would not start from the base statement raise.
    """

    model_type = ContactModel

    # advanced-alchemy's writes that do not start from the base statement: refused here, so that
    # no method reachable from the service can touch another owner's rows.
    add_many = update_many = delete_many = delete_where = _not_owner_scoped
    upsert = upsert_many = get_or_upsert = get_and_update = _not_owner_scoped
    # Owner-scoped, but it would write the lists without their index rows: update_contact does both;
    # or delete a contact without a tombstone (the changes feed would never show it): delete_contact.
    update = _skips_index_rows
    delete = _leaves_no_tombstone

    def __init__(self, *, session: AsyncSession, owner_id: uuid.UUID) -> None:
        # The owner's value in a prebuilt statement: building `select(…).where(…)` anew costs
        # 28 µs per request, filling in the parameter 1 µs. SQLAlchemy 2.1 types select(Model) as
        # Select[Model], advanced-alchemy expects 2.0's Select[tuple[Model]]: the same statement.
        super().__init__(session=session, statement=_OWNED_ROWS.params(owner=owner_id))  # type: ignore[arg-type]
        self.owner_id = owner_id

    async def get_contact(self, contact_id: uuid.UUID, *, for_update: bool = False) -> Contact | None:
        """One prebuilt SELECT rather than `get_one_or_none()`, which builds its statement (and
        the statement's cache key) and loads an ORM entity on every call: a sixth of a read's
        throughput. `for_update` locks the row until the transaction ends (PostgreSQL; SQLite's
        one writer at a time needs no lock): for a change computed from the current lists."""
        parameters = {"owner": self.owner_id, "contact": contact_id}
        statement = _GET_OWNED_FOR_UPDATE if for_update else _GET_OWNED
        row = (await self.session.execute(statement, parameters)).one_or_none()
        return None if row is None else exact_contact_from_row(row)

    async def add_contact(self, contact: Contact) -> Contact:
        """The row and its index rows. Raises advanced-alchemy's IntegrityError (or SQLAlchemy's)
        when one of the emails is on another contact of the owner.

        Every column is set here (id and timestamps included), so there is nothing to read back:
        no refresh."""
        contact = msgspec.structs.replace(contact, change_seq=await self.take_change_numbers(1))
        fields = {name: getattr(contact, name) for name in STORED_FIELDS if name != "owner_id"}
        await self.add(ContactModel(**with_derived_columns(fields)), auto_refresh=False)
        await self._write_index_rows(contact.id, {name: fields[name] for name in INDEXED_LISTS}, replace=False)
        return contact

    async def add(self, data: ContactModel, **options: Any) -> ContactModel:
        """advanced-alchemy's `add`, for this owner only, numbered as the owner's next change
        unless the caller took its number already."""
        data.owner_id = self.owner_id
        if data.change_seq is None:
            data.change_seq = await self.take_change_numbers(1)
        return await super().add(data, **options)

    async def take_change_numbers(self, count: int) -> int:
        """Take the owner's next `count` change numbers and return the last of them (the first is
        that less `count` - 1); `count=0` takes none and returns the last number taken so far.

        One upsert of the owner's `address_books` row, which also locks the row until the
        transaction ends: on PostgreSQL every other writer of this owner waits here, on SQLite the
        upsert starts the database's one write transaction. Numbers are therefore taken and
        committed in the same order, which the changes feed relies on (sync.py). A writer that
        reads the book to plan a change (a PATCH of `email`, an import) takes this first, so
        that every writer locks the counter before any contact row (no lock-order deadlock)."""
        statement = _TAKE_CHANGE_NUMBERS[self.session.get_bind().dialect.name]
        taken = (await self.session.execute(statement, {"owner": self.owner_id, "count": count})).scalar()
        if taken is None:
            raise OwnerGoneError
        return int(taken)

    async def update_contact(
        self,
        contact_id: uuid.UUID,
        changes: Mapping[str, object],
        *,
        now: datetime.datetime,
        unless_changed: Mapping[str, object] | None = None,
        versions: Collection[int] | None = None,
    ) -> Contact | None:
        """Change the given fields (stored fields only) as the owner's next change; None when the
        owner has no such contact.

        One `UPDATE … WHERE owner, id RETURNING *` rather than the repository's `update()`, which
        reads the row first and writes it back (two round trips, three with its refresh): a third
        of a PATCH's database time, and a read-then-write that a concurrent delete turns into a
        StaleDataError. A contact deleted meanwhile simply matches no row here. The index rows of
        the lists that changed are then replaced.

        `unless_changed` makes it a compare-and-set: the row is written only if those columns
        still hold the given values (a change computed from them, as a PATCH of `email` is);
        otherwise nothing is written and None is returned, as for a missing contact. `versions`
        (an `If-Match`) is one too: the row is written only if its `change_seq` is one of them.

        A write that would change nothing (every field as stored) is no change: the row keeps its
        version (ETag), `updated_at` and place in the changes feed, and is returned as it is.
        """
        if not changes:
            contact = await self.get_contact(contact_id)
            return None if contact is None or (versions is not None and contact.change_seq not in versions) else contact
        expected = [CONTACTS.c[name] == value for name, value in (unless_changed or {}).items()]
        if versions is not None:
            expected.append(CONTACTS.c.change_seq.in_(versions))
        change_seq = await self.take_change_numbers(1)
        differs = or_(*(CONTACTS.c[name].is_distinct_from(value) for name, value in changes.items()))
        statement = (
            update(CONTACTS)
            .where(CONTACTS.c.owner_id == self.owner_id, CONTACTS.c.id == contact_id, *expected, differs)
            .values(**with_derived_columns(changes), updated_at=now, change_seq=change_seq)
            .returning(*CONTACT_COLUMNS)
        )
        row = (await self.session.execute(statement)).one_or_none()
        if row is None:
            # Missing, changed meanwhile, or nothing to change. The owner's writers wait on the
            # counter this transaction holds, so the row read now is the one the UPDATE saw.
            return await self._unchanged(contact_id, changes, unless_changed=unless_changed, versions=versions)
        lists = {name: changes[name] for name in INDEXED_LISTS if name in changes}
        await self._write_index_rows(contact_id, lists, replace=True)
        return exact_contact_from_row(row)

    async def _unchanged(
        self,
        contact_id: uuid.UUID,
        changes: Mapping[str, object],
        *,
        unless_changed: Mapping[str, object] | None,
        versions: Collection[int] | None,
    ) -> Contact | None:
        """The contact, if it meets update_contact's conditions and already holds `changes`."""
        current = await self.get_contact(contact_id)
        if current is None or (versions is not None and current.change_seq not in versions):
            return None
        expected = {**(unless_changed or {}), **changes}
        # As builtins: the entries read from a row are of the lighter read types (models.py).
        held = {name: msgspec.to_builtins(getattr(current, name)) for name in expected}
        return current if held == msgspec.to_builtins(expected) else None

    async def _write_index_rows(self, contact_id: uuid.UUID, lists: Mapping[str, Any], *, replace: bool) -> None:
        rows = IndexRows(self.owner_id, contact_id)
        for name, entries in lists.items():
            table = _INDEX_TABLES[name]
            if replace:
                await self.session.execute(
                    delete(table).where(table.c.owner_id == self.owner_id, table.c.contact_id == contact_id)
                )
            if values := getattr(rows, name)(entries):
                await self.session.execute(insert(table), values)

    async def delete_contact(
        self, contact_id: uuid.UUID, *, now: datetime.datetime, versions: Collection[int] | None = None
    ) -> bool:
        """Whether a contact was deleted (its index rows go with it, ON DELETE CASCADE); its
        tombstone takes the owner's next change number. `versions` (an `If-Match`): deleted only
        if its `change_seq` is one of them, in the DELETE itself.

        One `DELETE … WHERE owner, id` rather than `delete_where()`, which on SQLite (no
        RETURNING for many rows) selects the rows before deleting them: two round trips."""
        change_seq = await self.take_change_numbers(1)
        conditions = [ContactModel.owner_id == self.owner_id, ContactModel.id == contact_id]
        if versions is not None:
            conditions.append(ContactModel.change_seq.in_(versions))
        statement = delete(ContactModel).where(*conditions).execution_options(synchronize_session=False)
        if not (await self.session.execute(statement)).rowcount:  # type: ignore[attr-defined]
            return False
        tombstone = {"owner_id": self.owner_id, "change_seq": change_seq, "contact_id": contact_id, "deleted_at": now}
        await self.session.execute(insert(CONTACT_TOMBSTONES), tombstone)
        return True

    async def current_version(self, contact_id: uuid.UUID) -> int | None:
        """The contact's `change_seq`, or None when the owner has no such contact: what a 412 reports."""
        statement = select(CONTACTS.c.change_seq).where(_OWNER, CONTACTS.c.id == bindparam("contact"))
        return (await self.session.execute(statement, {"owner": self.owner_id, "contact": contact_id})).scalar()

    async def lock_book(self) -> None:
        """Make the caller's transaction the owner's only writer until it ends (an import, or a
        change computed from what it reads): take_change_numbers(0), the counter's row lock.
        What is read afterwards is the book as the earlier writer committed it."""
        await self.take_change_numbers(0)

    async def add_contacts(self, contacts: Sequence[Contact]) -> None:
        """Many new contacts and their index rows (an import), as one multi-row INSERT per table
        and thousand contacts rather than add_contact's five statements per contact: 10,000
        contacts in about a hundred statements. Raises as add_contact does when an email is taken."""
        first_number = await self.take_change_numbers(len(contacts)) - len(contacts) + 1
        for start in range(0, len(contacts), INSERT_CHUNK):
            chunk = contacts[start : start + INSERT_CHUNK]
            rows = [
                {
                    **with_derived_columns({name: getattr(contact, name) for name in STORED_FIELDS}),
                    "owner_id": self.owner_id,
                    "change_seq": first_number + start + offset,
                }
                for offset, contact in enumerate(chunk)
            ]
            await self.session.execute(insert(CONTACTS), rows)
            await self._insert_index_rows(chunk, _INDEX_TABLES)

    async def update_contacts(
        self, contacts: Sequence[Contact], *, fields: Sequence[str], now: datetime.datetime
    ) -> bool:
        """Write `fields` of many existing contacts (an import's updates) as they are in
        `contacts`, a thousand at a time: one executemany UPDATE, and the index rows of the lists
        among `fields` replaced by one DELETE and one INSERT per table, where update_contact
        takes seven statements per contact. False when a contact is gone meanwhile (the rows the
        UPDATE wrote are counted by their new `updated_at`); the caller then rolls back."""
        lists = {name: _INDEX_TABLES[name] for name in fields if name in _INDEX_TABLES}
        first_number = await self.take_change_numbers(len(contacts)) - len(contacts) + 1
        for start in range(0, len(contacts), INSERT_CHUNK):
            chunk = contacts[start : start + INSERT_CHUNK]
            ids = [contact.id for contact in chunk]
            rows = [
                {
                    "contact_id": contact.id,
                    **with_derived_columns({name: getattr(contact, name) for name in fields}),
                    "updated_at": now,
                    "change_seq": first_number + start + offset,
                }
                for offset, contact in enumerate(chunk)
            ]
            statement = update(CONTACTS).where(
                CONTACTS.c.owner_id == self.owner_id, CONTACTS.c.id == bindparam("contact_id")
            )
            await self.session.execute(statement, rows)
            written = (
                select(func.count())
                .select_from(CONTACTS)
                .where(_OWNER, CONTACTS.c.id.in_(ids), CONTACTS.c.updated_at == now)
            )
            if (await self.session.execute(written, {"owner": self.owner_id})).scalar_one() != len(chunk):
                return False
            for table in lists.values():
                await self.session.execute(
                    delete(table).where(table.c.owner_id == self.owner_id, table.c.contact_id.in_(ids))
                )
            await self._insert_index_rows(chunk, lists)
        return True

    async def _insert_index_rows(self, contacts: Sequence[Contact], tables: Mapping[str, Table]) -> None:
        """The index rows of `contacts`' lists in `tables`, one multi-row INSERT per table."""
        for name, table in tables.items():
            values = [
                row
                for contact in contacts
                for row in getattr(IndexRows(self.owner_id, contact.id), name)(getattr(contact, name))
            ]
            if values:
                await self.session.execute(insert(table), values)

    async def contacts_by_email(self, addresses: Iterable[str]) -> dict[str, uuid.UUID]:
        """The owner's contact holding each of `addresses` (stored form), for those that one does."""
        found: dict[str, uuid.UUID] = {}
        wanted = sorted(set(addresses))
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            statement = select(CONTACT_EMAILS.c.address, CONTACT_EMAILS.c.contact_id).where(
                CONTACT_EMAILS.c.owner_id == self.owner_id,
                CONTACT_EMAILS.c.address.in_(wanted[start : start + LOOKUP_CHUNK]),
            )
            found.update({row.address: row.contact_id for row in await self.session.execute(statement)})
        return found

    async def contacts_by_e164(self, numbers: Iterable[str]) -> dict[str, uuid.UUID]:
        """A contact of the owner with each of the E.164 `numbers`, for those some contact has
        (several may: phone numbers are not unique; the one created first is named)."""
        found: dict[str, uuid.UUID] = {}
        wanted = sorted(set(numbers))
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            statement = (
                select(CONTACT_PHONES.c.e164, CONTACT_PHONES.c.contact_id)
                .where(
                    CONTACT_PHONES.c.owner_id == self.owner_id,
                    CONTACT_PHONES.c.e164.in_(wanted[start : start + LOOKUP_CHUNK]),
                )
                .order_by(CONTACT_PHONES.c.contact_id)
            )
            for row in await self.session.execute(statement):
                found.setdefault(row.e164, row.contact_id)
        return found

    async def contacts_by_id(self, contact_ids: Iterable[uuid.UUID]) -> dict[uuid.UUID, Contact]:
        wanted = sorted(set(contact_ids))
        found: dict[uuid.UUID, Contact] = {}
        for start in range(0, len(wanted), LOOKUP_CHUNK):
            statement = select(*CONTACT_COLUMNS).where(
                CONTACTS.c.owner_id == self.owner_id, CONTACTS.c.id.in_(wanted[start : start + LOOKUP_CHUNK])
            )
            found.update({row.id: exact_contact_from_row(row) for row in await self.session.execute(statement)})
        return found

    async def export_page(
        self, *, after: uuid.UUID | None, tag: str | None, limit: int = EXPORT_PAGE_SIZE
    ) -> list[Contact]:
        """Up to `limit` contacts (with `tag`, if given) whose id follows `after`, in id order: one
        page of a streamed export. Each page is its own short query (a keyset page, not an
        OFFSET), so an export of any size holds one page in memory and no transaction open."""
        statement = _EXPORT_FIRST if after is None else _EXPORT_AFTER
        parameters: dict[str, Any] = {"owner": self.owner_id, "limit": limit, "after": after}
        if tag is not None:
            statement = statement.where(_tagged("tag"))
            parameters["tag"] = tag_key(tag.strip())
        rows = (await self.session.execute(statement, parameters)).all()
        return [exact_contact_from_row(row) for row in rows]

    async def count_contacts(self, *, tag: str | None) -> int:
        """How many contacts the owner has (with `tag`, if given): the length of an export."""
        statement = _COUNT
        parameters: dict[str, Any] = {"owner": self.owner_id}
        if tag is not None:
            statement = statement.where(_tagged("tag"))
            parameters["tag"] = tag_key(tag.strip())
        return int((await self.session.execute(statement, parameters)).scalar_one())

    async def emails_taken(self, addresses: Sequence[str], *, besides: uuid.UUID) -> list[str]:
        """Which of `addresses` are on another contact of the owner than `besides`."""
        statement = select(CONTACT_EMAILS.c.address).where(
            CONTACT_EMAILS.c.owner_id == self.owner_id,
            CONTACT_EMAILS.c.address.in_(addresses),
            CONTACT_EMAILS.c.contact_id != besides,
        )
        return list((await self.session.scalars(statement)).all())

    async def search(
        self, filters: ContactFilters, *, sort: ContactSort, limit: int, offset: int
    ) -> tuple[list[Contact], int]:
        """A page of the contacts matching `filters` (see search_statement), and their number.

        The prebuilt statement rather than `get_many_and_count()`: that one builds a new
        statement per call and loads ORM entities (a fifth of the list's throughput), and its
        window count leaves the planner free to scan a large book for a search (see above)."""
        shape, matched = search_parameters(filters, sort)
        parameters = {"owner": self.owner_id, "limit": limit, "offset": offset, **matched}
        rows = (await self.session.execute(search_statement(shape), parameters)).all()
        items = [contact_from_row(row) for row in rows if row.id is not None]
        return items, int(rows[0].total)

    async def upcoming_birthdays(self, *, today: datetime.date, days: int, tag: str | None) -> list[UpcomingBirthday]:
        """See upcoming_birthdays_statement: prebuilt, and computed in SQL, rather than
        `get_many()` and a sort here, which loads an ORM entity per row (2.3 times slower for a
        book with 2,000 birthdays in the week)."""
        statement = upcoming_birthdays_statement(today, days, tag is not None)
        parameters: dict[str, Any] = {"owner": self.owner_id}
        if tag is not None:
            parameters["tag"] = tag_key(tag.strip())
        rows = (await self.session.execute(statement, parameters)).all()
        return [upcoming_birthday_from_row(row) for row in rows]

    async def tag_counts(self) -> list[TagCount]:
        """Every tag the owner uses, by its case-insensitive key, with how many contacts have it."""
        rows = (await self.session.execute(_TAG_COUNTS, {"owner": self.owner_id})).all()
        return [TagCount(name=row.name, count=row.count) for row in rows]
