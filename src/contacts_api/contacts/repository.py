"""The SQL of the contacts domain. Every statement takes the owner's id and filters on it.

Each operation is one SQLAlchemy Core statement (one round trip), and its rows become the
`ContactRead` structs the API returns without passing through ORM objects: loading entities into
the session's identity map costs more than the query itself on a page of contacts.

Statements are built once per shape and cached, with the request's values as bound parameters:
building a statement object and its cache key costs more than running it on PostgreSQL.
"""

from __future__ import annotations

import calendar
import datetime
import functools
import re
import uuid
from collections.abc import Mapping
from typing import Any

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import (
    ColumnElement,
    Delete,
    Insert,
    Select,
    Update,
    and_,
    bindparam,
    case,
    delete,
    func,
    insert,
    or_,
    select,
    true,
    update,
)

from contacts_api.contacts.models import BIRTHDAY_MONTH_DAY, CONTACTS, Contact
from contacts_api.contacts.schemas import ContactFilters, ContactRead, UpcomingBirthday

# The columns a client sees, in ContactRead's field order: a row maps onto the struct positionally.
READ_COLUMNS = tuple(CONTACTS.c[name] for name in ContactRead.__struct_fields__)
NAME_ORDER = (CONTACTS.c.last_name, CONTACTS.c.first_name, CONTACTS.c.id)
SEARCHABLE = ("first_name", "last_name", "email")
_FEBRUARY_28, _FEBRUARY_29 = 228, 229
_LIKE_SPECIALS = re.compile(r"([\\%_])")

# Parameter names differ from column names, which insert() and update() reserve for values.
_OWNED = and_(CONTACTS.c.owner_id == bindparam("owner"), CONTACTS.c.id == bindparam("contact"))
_GET_OWNED = select(*READ_COLUMNS).where(_OWNED)
_DELETE_OWNED: Delete = delete(CONTACTS).where(_OWNED)
# Without .values(), the columns set are the keys of the parameters given at execution.
_INSERT: Insert = insert(CONTACTS).returning(*READ_COLUMNS)
_UPDATE_OWNED: Update = update(CONTACTS).where(_OWNED).returning(*READ_COLUMNS)


def like_pattern(fragment: str) -> str:
    """A LIKE pattern for "contains `fragment`", with `%`, `_` and `\\` taken literally."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", fragment) + "%"


def contains(column: ColumnElement[str], pattern_parameter: str) -> ColumnElement[bool]:
    # The database folds both sides, so that text and pattern are folded by the same rules (and
    # the trigram indexes on lower(column) serve the match on PostgreSQL).
    return func.lower(column).like(func.lower(bindparam(pattern_parameter)), escape="\\")


@functools.cache
def search_statement(q: bool, fields: frozenset[str]) -> Select[Any]:
    """One page of an owner's contacts matching `q` and the given per-field filters, sorted by
    name, and how many match in all.

    Both come from one statement: the count of matches, left-joined to the page, so that the
    count arrives even when the page is empty (an offset past the end).
    """
    conditions = [CONTACTS.c.owner_id == bindparam("owner")]
    if q:
        conditions.append(or_(*(contains(CONTACTS.c[name], "q") for name in SEARCHABLE)))
    conditions.extend(contains(CONTACTS.c[name], name) for name in SEARCHABLE if name in fields)
    if len(conditions) == 1:
        # The whole book: the count reads the owner's index entries, the page a range of the
        # name-ordered index.
        total = select(func.count().label("total")).select_from(CONTACTS).where(*conditions)
        page = select(*READ_COLUMNS).where(*conditions).order_by(*NAME_ORDER)
    else:
        # A search: its matches are found once (through the trigram indexes on PostgreSQL), then
        # counted and sorted. Left to itself, the planner may walk the name-ordered index and
        # test every contact before the first match, tens of milliseconds in a large book.
        matching = select(*READ_COLUMNS).where(*conditions).cte("matching").prefix_with("MATERIALIZED")
        total = select(func.count().label("total")).select_from(matching)
        page = select(matching).order_by(matching.c.last_name, matching.c.first_name, matching.c.id)
    totals = total.subquery("matches")
    page_rows = page.limit(bindparam("limit")).offset(bindparam("offset")).subquery("page")
    return (
        select(totals.c.total, *page_rows.c)
        .select_from(totals.outerjoin(page_rows, true()))
        .order_by(page_rows.c.last_name, page_rows.c.first_name, page_rows.c.id)
    )


def _date_key(day: datetime.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _key_to_date(key: int) -> datetime.date:
    return datetime.date(key // 10_000, key // 100 % 100, key % 100)


@functools.lru_cache(maxsize=1024)
def upcoming_birthdays_statement(today: datetime.date, days: int) -> Select[Any]:
    """An owner's contacts whose next birthday falls in [today, today + days], soonest first.

    The next birthday is computed in SQL from integer keys (yyyymmdd), which read the same on
    every dialect: the birthday's month and day are placed in this year or, once passed, in the
    next one; in a common year 29 February becomes 28 February. That key is exact but no index
    can serve it; the month-day ranges the window covers can, and narrow a large book to the few
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
        select(*READ_COLUMNS, next_birthday)
        .where(
            CONTACTS.c.owner_id == bindparam("owner"),
            month_day_window(today, last_day),
            next_birthday <= _date_key(last_day),
        )
        .order_by(next_birthday, *NAME_ORDER)
    )


def month_day_window(first_day: datetime.date, last_day: datetime.date) -> ColumnElement[bool]:
    """Birthdays whose month and day fall between two dates at most a year apart.

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


class ContactRepository(SQLAlchemyAsyncRepository[Contact]):
    """An advanced-alchemy repository over the request's session. Its generic methods (`get`,
    `list`, …) are not owner-scoped, so only the service's owner-bound calls below are used."""

    model_type = Contact

    async def get_owned(self, owner_id: uuid.UUID, contact_id: uuid.UUID) -> ContactRead | None:
        row = (await self.session.execute(_GET_OWNED, {"owner": owner_id, "contact": contact_id})).one_or_none()
        return None if row is None else ContactRead(*row)

    async def insert(self, owner_id: uuid.UUID, fields: Mapping[str, object]) -> ContactRead:
        """Raises the driver's IntegrityError when the owner already has a contact with this email."""
        row = (await self.session.execute(_INSERT, {**fields, "owner_id": owner_id})).one()
        return ContactRead(*row)

    async def update_owned(
        self, owner_id: uuid.UUID, contact_id: uuid.UUID, fields: Mapping[str, object]
    ) -> ContactRead | None:
        """Change the given fields in one conditional UPDATE; None when there is no such contact.

        A contact deleted by a concurrent request simply matches no row.
        """
        if not fields:
            return await self.get_owned(owner_id, contact_id)
        parameters = {
            **fields,
            "updated_at": datetime.datetime.now(datetime.UTC),
            "owner": owner_id,
            "contact": contact_id,
        }
        row = (await self.session.execute(_UPDATE_OWNED, parameters)).one_or_none()
        return None if row is None else ContactRead(*row)

    async def delete_owned(self, owner_id: uuid.UUID, contact_id: uuid.UUID) -> bool:
        result = await self.session.execute(_DELETE_OWNED, {"owner": owner_id, "contact": contact_id})
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def search(
        self, owner_id: uuid.UUID, filters: ContactFilters, *, limit: int, offset: int
    ) -> tuple[list[ContactRead], int]:
        """A page of the contacts matching `filters` (see search_statement), and their number."""
        fields = {name: like_pattern(value) for name in SEARCHABLE if (value := getattr(filters, name))}
        parameters: dict[str, object] = {"owner": owner_id, "limit": limit, "offset": offset, **fields}
        if filters.q:
            parameters["q"] = like_pattern(filters.q)
        statement = search_statement(bool(filters.q), frozenset(fields))
        rows = (await self.session.execute(statement, parameters)).all()
        items = [ContactRead(*row[1:]) for row in rows if row.id is not None]
        return items, int(rows[0].total)

    async def upcoming_birthdays(
        self, owner_id: uuid.UUID, *, today: datetime.date, days: int
    ) -> list[UpcomingBirthday]:
        statement = upcoming_birthdays_statement(today, days)
        rows = (await self.session.execute(statement, {"owner": owner_id})).all()
        return [UpcomingBirthday(*row[:-1], next_birthday=_key_to_date(row[-1])) for row in rows]
