"""The SQL of the contacts domain: an advanced-alchemy repository bound to one owner.

The repository's base statement selects the owner's rows only, so every read of its API
(`get_one_or_none`, `get_many`, `get_many_and_count`, `count`) and the `get` that its own
`update` and `delete` start from is owner-scoped by construction; the statements written here
take the owner from the repository too. Rows become `Contact` structs by column name, in one
place (`contact_from_row`, and `exact_contact_from_row` for rows of the entity's columns alone).

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
from collections.abc import Mapping
from typing import Any

import msgspec
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import (
    ColumnElement,
    Row,
    Select,
    bindparam,
    case,
    delete,
    func,
    or_,
    select,
    true,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.contacts.models import BIRTHDAY_MONTH_DAY, CONTACTS, ContactModel, search_key
from contacts_api.contacts.schemas import Contact, ContactFilters, UpcomingBirthday
from contacts_api.text import fold

SEARCHABLE = ("first_name", "last_name", "email")
_FEBRUARY_28, _FEBRUARY_29 = 228, 229
_LIKE_SPECIALS = re.compile(r"([\\%_])")
_CONTACT_FIELDS = Contact.__struct_fields__
# Every column the entity has, labelled with its field's name: rows map onto it by name.
CONTACT_COLUMNS = tuple(CONTACTS.c[name].label(name) for name in _CONTACT_FIELDS)


def contact_from_row(row: Row[Any]) -> Contact:
    """The one mapping from a row of CONTACT_COLUMNS (and maybe more) to the struct, by name."""
    mapping = row._mapping
    return Contact(**{name: mapping[name] for name in _CONTACT_FIELDS})


def exact_contact_from_row(row: Row[Any]) -> Contact:
    """contact_from_row for a row of CONTACT_COLUMNS alone: a third faster."""
    return Contact(**row._mapping)


def like_pattern(fragment: str) -> str:
    """A LIKE pattern for "contains `fragment`", with `%`, `_` and `\\` taken literally."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", fragment) + "%"


def contains(column: ColumnElement[str], pattern_parameter: str) -> ColumnElement[bool]:
    return column.like(bindparam(pattern_parameter), escape="\\")


# Where each filter looks: the names' search keys (text.fold, written with each row), and the
# email, stored lower-cased, which folding leaves as it is. Each is trigram-indexed on PostgreSQL.
_SEARCHED_COLUMN = {
    "first_name": CONTACTS.c.first_name_key,
    "last_name": CONTACTS.c.last_name_key,
    "email": CONTACTS.c.email,
}


def search_conditions(*, q: bool, fields: frozenset[str]) -> list[ColumnElement[bool]]:
    """`q` in any searchable field, and each per-field filter in its own field; the patterns
    are the parameters `search_parameters` names."""
    conditions: list[ColumnElement[bool]] = []
    if q:
        conditions.append(or_(*(contains(_SEARCHED_COLUMN[name], "q") for name in SEARCHABLE)))
    conditions.extend(contains(_SEARCHED_COLUMN[name], name) for name in SEARCHABLE if name in fields)
    return conditions


def search_parameters(filters: ContactFilters) -> dict[str, str]:
    """The LIKE patterns of the filters given, folded by the same rule as the stored keys. A value
    that folds to nothing (only combining marks) filters nothing, deliberately, as if not given."""
    folded = {name: fold(value) for name in ("q", *SEARCHABLE) if (value := getattr(filters, name))}
    return {name: like_pattern(value) for name, value in folded.items() if value}


def with_search_keys(fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` to write, plus the search key of each name among them."""
    keys = {f"{name}_key": search_key(fields[name]) for name in ("first_name", "last_name") if name in fields}
    return {**fields, **keys}


_OWNER = CONTACTS.c.owner_id == bindparam("owner")
# By name, compared by the search keys (case- and accent-insensitively, byte order on both
# databases), then by id: the order the (owner, last_name_key, first_name_key, id) index holds.
_NAME_ORDER_COLUMNS = (CONTACTS.c.last_name_key, CONTACTS.c.first_name_key, CONTACTS.c.id)
# Built once: building a statement and its cache key costs more than running it on PostgreSQL.
_OWNED_ROWS = select(ContactModel).where(ContactModel.owner_id == bindparam("owner"))
_GET_OWNED = select(*CONTACT_COLUMNS).where(_OWNER, CONTACTS.c.id == bindparam("contact"))


@functools.cache
def search_statement(q: bool, fields: frozenset[str]) -> Select[Any]:
    """One page of an owner's contacts matching `q` and the given per-field filters, sorted by
    name, and how many match in all.

    Both come from one statement: the count of matches, left-joined to the page, so that the
    count arrives even when the page is empty (an offset past the end).
    """
    conditions = [_OWNER, *search_conditions(q=q, fields=fields)]
    if len(conditions) == 1:
        # The whole book: the count reads the owner's index entries, the page a range of the
        # name-ordered index.
        total = select(func.count().label("total")).select_from(CONTACTS).where(*conditions)
        page = select(*CONTACT_COLUMNS, *_NAME_ORDER_COLUMNS[:2]).where(*conditions).order_by(*_NAME_ORDER_COLUMNS)
    else:
        # A search: its matches are found once (through the trigram indexes on PostgreSQL), then
        # counted and sorted. Left to itself, the planner walks the name-ordered index and tests
        # every contact before the first match: with the repository's window-count query a
        # 100,000-contact book answered 10 searches a second instead of 279.
        matching = (
            select(*CONTACT_COLUMNS, *_NAME_ORDER_COLUMNS[:2])
            .where(*conditions)
            .cte("matching")
            .prefix_with("MATERIALIZED")
        )
        total = select(func.count().label("total")).select_from(matching)
        page = select(matching).order_by(matching.c.last_name_key, matching.c.first_name_key, matching.c.id)
    totals = total.subquery("matches")
    page_rows = page.limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    return (
        select(totals.c.total, *page_rows.c)
        .select_from(totals.outerjoin(page_rows, true()))
        .order_by(page_rows.c.last_name_key, page_rows.c.first_name_key, page_rows.c.id)
    )


def _date_key(day: datetime.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _key_to_date(key: int) -> datetime.date:
    return datetime.date(key // 10_000, key // 100 % 100, key % 100)


@functools.lru_cache(maxsize=1024)
def upcoming_birthdays_statement(today: datetime.date, days: int) -> Select[Any]:
    """An owner's contacts whose next birthday falls in [today, today + days], soonest first,
    then by name, with that birthday as a `yyyymmdd` key.

    The next birthday is computed in SQL from integer keys, which read the same on every
    dialect: the birthday's month and day are placed in this year or, once passed, in the next
    one; in a common year 29 February becomes 28 February. That key is exact but no index can
    serve it; the month-day ranges the window covers can, and narrow a large book to the few
    rows the key then checks.
    """

    def key_in(year: int) -> ColumnElement[int]:
        in_year = (
            BIRTHDAY_MONTH_DAY
            if calendar.isleap(year)
            else case((BIRTHDAY_MONTH_DAY == _FEBRUARY_29, _FEBRUARY_28), else_=BIRTHDAY_MONTH_DAY)
        )
        return year * 10_000 + in_year

    this_year, next_year = key_in(today.year), key_in(today.year + 1)
    next_birthday = case((this_year >= _date_key(today), this_year), else_=next_year).label("next_birthday")
    last_day = today + datetime.timedelta(days=days)
    return (
        select(*CONTACT_COLUMNS, next_birthday)
        .where(_OWNER, month_day_window(today, last_day), next_birthday <= _date_key(last_day))
        .order_by(next_birthday, *_NAME_ORDER_COLUMNS)
    )


def month_day_window(first_day: datetime.date, last_day: datetime.date) -> ColumnElement[bool]:
    """Birthdays whose month and day fall between two dates at most a year apart: what the
    (owner, month-day) index serves.

    A window that crosses New Year is two ranges. In a common year a 29 February birthday is
    celebrated on the 28th, so it belongs to any range that holds 28 February of such a year.
    """
    if (last_day - first_day).days >= 365:
        return true()
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

    def __init__(self, *, session: AsyncSession, owner_id: uuid.UUID) -> None:
        # The owner's value in a prebuilt statement: building `select(…).where(…)` anew costs
        # 28 µs per request, filling in the parameter 1 µs. SQLAlchemy 2.1 types select(Model) as
        # Select[Model], advanced-alchemy expects 2.0's Select[tuple[Model]]: the same statement.
        super().__init__(session=session, statement=_OWNED_ROWS.params(owner=owner_id))  # type: ignore[arg-type]
        self.owner_id = owner_id

    async def get_contact(self, contact_id: uuid.UUID) -> Contact | None:
        """One prebuilt SELECT rather than `get_one_or_none()`, which builds its statement (and
        the statement's cache key) and loads an ORM entity on every call: a sixth of a read's
        throughput."""
        parameters = {"owner": self.owner_id, "contact": contact_id}
        row = (await self.session.execute(_GET_OWNED, parameters)).one_or_none()
        return None if row is None else exact_contact_from_row(row)

    async def add_contact(self, contact: Contact) -> Contact:
        """Raises advanced-alchemy's IntegrityError when the owner already has this email.

        Every column is set here (id and timestamps included), so there is nothing to read back:
        no refresh, one INSERT."""
        await self.add(ContactModel(**msgspec.structs.asdict(contact)), auto_refresh=False)
        return msgspec.structs.replace(contact, owner_id=self.owner_id)  # as add() stored it

    async def add(self, data: ContactModel, **options: Any) -> ContactModel:
        """advanced-alchemy's `add`, for this owner only."""
        data.owner_id = self.owner_id
        return await super().add(data, **options)

    async def update_contact(
        self, contact_id: uuid.UUID, changes: Mapping[str, object], *, now: datetime.datetime
    ) -> Contact | None:
        """Change the given fields; None when the owner has no such contact.

        One `UPDATE … WHERE owner, id RETURNING *` rather than the repository's `update()`, which
        reads the row first and writes it back (two round trips, three with its refresh): a third
        of a PATCH's database time, and a read-then-write that a concurrent delete turns into a
        StaleDataError. A contact deleted meanwhile simply matches no row here.
        """
        if not changes:
            return await self.get_contact(contact_id)
        statement = (
            update(CONTACTS)
            .where(CONTACTS.c.owner_id == self.owner_id, CONTACTS.c.id == contact_id)
            .values(**with_search_keys(changes), updated_at=now)
            .returning(*CONTACT_COLUMNS)
        )
        row = (await self.session.execute(statement)).one_or_none()
        return None if row is None else exact_contact_from_row(row)

    async def delete_contact(self, contact_id: uuid.UUID) -> bool:
        """Whether a contact was deleted.

        One `DELETE … WHERE owner, id` rather than `delete_where()`, which on SQLite (no
        RETURNING for many rows) selects the rows before deleting them: two round trips."""
        statement = (
            delete(ContactModel)
            .where(ContactModel.owner_id == self.owner_id, ContactModel.id == contact_id)
            .execution_options(synchronize_session=False)
        )
        result = await self.session.execute(statement)
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def search(self, filters: ContactFilters, *, limit: int, offset: int) -> tuple[list[Contact], int]:
        """A page of the contacts matching `filters` (see search_statement), and their number.

        The prebuilt statement rather than `get_many_and_count()`: that one builds a new
        statement per call and loads ORM entities (a fifth of the list's throughput), and its
        window count leaves the planner free to scan a large book for a search (see above)."""
        matched = search_parameters(filters)
        statement = search_statement("q" in matched, frozenset(matched) - {"q"})
        parameters = {"owner": self.owner_id, "limit": limit, "offset": offset, **matched}
        rows = (await self.session.execute(statement, parameters)).all()
        items = [contact_from_row(row) for row in rows if row.id is not None]
        return items, int(rows[0].total)

    async def upcoming_birthdays(self, *, today: datetime.date, days: int) -> list[UpcomingBirthday]:
        """See upcoming_birthdays_statement: prebuilt, and computed in SQL, rather than
        `get_many()` and a sort here, which loads an ORM entity per row (2.3 times slower for a
        book with 2,000 birthdays in the week)."""
        statement = upcoming_birthdays_statement(today, days)
        rows = (await self.session.execute(statement, {"owner": self.owner_id})).all()
        return [UpcomingBirthday(**{**row._mapping, "next_birthday": _key_to_date(row.next_birthday)}) for row in rows]
