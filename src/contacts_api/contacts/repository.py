"""The SQL of the contacts domain: an advanced-alchemy repository bound to one owner.

The repository's base statement selects the owner's rows only, so every read of its API
(`get_one_or_none`, `get_many`, `get_many_and_count`, `count`) and the `get` that its own
`update` and `delete` start from is owner-scoped by construction. Rows come back as
`ContactModel` entities and become `Contact` structs in one place, `to_contact`, by name.

Two writes are hand-written statements instead of the repository's `update` and `delete_where`,
each for a measured reason given where it is defined.
"""

from __future__ import annotations

import calendar
import datetime
import re
import uuid
from collections.abc import Mapping
from typing import Any

from advanced_alchemy.filters import LimitOffset
from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from advanced_alchemy.repository.typing import OrderingPair
from sqlalchemy import ColumnElement, delete, func, or_, select, true, update
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.contacts.models import BIRTHDAY_MONTH_DAY, ContactModel
from contacts_api.contacts.schemas import Contact, ContactFilters, UpcomingBirthday

NAME_ORDER: list[OrderingPair] = [
    (ContactModel.last_name, False),
    (ContactModel.first_name, False),
    (ContactModel.id, False),
]
SEARCHABLE = ("first_name", "last_name", "email")
_FEBRUARY_28, _FEBRUARY_29 = 228, 229
_LIKE_SPECIALS = re.compile(r"([\\%_])")
_CONTACT_FIELDS = Contact.__struct_fields__


def to_contact(row: ContactModel) -> Contact:
    """The one mapping from a row to the entity, field by field by name."""
    return Contact(**{name: getattr(row, name) for name in _CONTACT_FIELDS})


def like_pattern(fragment: str) -> str:
    """A LIKE pattern for "contains `fragment`", with `%`, `_` and `\\` taken literally."""
    return "%" + _LIKE_SPECIALS.sub(r"\\\1", fragment) + "%"


def contains(column: Any, fragment: str) -> ColumnElement[bool]:
    # The database folds both sides, so that text and pattern are folded by the same rules (and
    # the trigram indexes on lower(column) serve the match on PostgreSQL).
    return func.lower(column).like(func.lower(like_pattern(fragment)), escape="\\")


def search_conditions(filters: ContactFilters) -> list[ColumnElement[bool]]:
    """`q` in any searchable field, and each per-field filter in its own field."""
    conditions: list[ColumnElement[bool]] = []
    if filters.q:
        conditions.append(or_(*(contains(getattr(ContactModel, name), filters.q) for name in SEARCHABLE)))
    conditions.extend(
        contains(getattr(ContactModel, name), value) for name in SEARCHABLE if (value := getattr(filters, name))
    )
    return conditions


def next_birthday(birthday: datetime.date, today: datetime.date) -> datetime.date:
    """The next day from `today` (included) on which `birthday` is celebrated; in a common year a
    29 February birthday falls on 28 February."""

    def in_year(year: int) -> datetime.date:
        if birthday.month == 2 and birthday.day == 29 and not calendar.isleap(year):
            return datetime.date(year, 2, 28)
        return birthday.replace(year=year)

    this_year = in_year(today.year)
    return this_year if this_year >= today else in_year(today.year + 1)


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


class ContactRepository(SQLAlchemyAsyncRepository[ContactModel]):
    """One owner's contacts, over the request's session.

    Built for one owner (see the module docstring). `add_many`, `update_many`, `delete_many`,
    `delete_where` and the upserts do not start from the base statement: they are not used.
    """

    model_type = ContactModel

    def __init__(self, *, session: AsyncSession, owner_id: uuid.UUID) -> None:
        owned = select(ContactModel).where(ContactModel.owner_id == owner_id)
        # SQLAlchemy 2.1 types select(Model) as Select[Model], advanced-alchemy expects 2.0's
        # Select[tuple[Model]]: the same statement.
        super().__init__(session=session, statement=owned)  # type: ignore[arg-type]
        self.owner_id = owner_id

    async def get_contact(self, contact_id: uuid.UUID) -> Contact | None:
        row = await self.get_one_or_none(ContactModel.id == contact_id)
        return None if row is None else to_contact(row)

    async def add_contact(self, contact: Contact) -> Contact:
        """Raises advanced-alchemy's IntegrityError when the owner already has this email.

        Every column is set here (id and timestamps included), so there is nothing to read back:
        no refresh, one INSERT."""
        row = ContactModel(**{name: getattr(contact, name) for name in _CONTACT_FIELDS})
        row.owner_id = self.owner_id
        return to_contact(await self.add(row, auto_refresh=False))

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
            update(ContactModel)
            .where(ContactModel.owner_id == self.owner_id, ContactModel.id == contact_id)
            .values(**changes, updated_at=now)
            .returning(ContactModel)
            .execution_options(synchronize_session=False)
        )
        row = (await self.session.execute(statement)).scalar_one_or_none()
        return None if row is None else to_contact(row)

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
        """A page of the contacts matching `filters`, sorted by name, and how many match in all.

        One statement: the page with a window count. A page past the end carries no count, so
        only then is the count asked for on its own."""
        conditions = search_conditions(filters)
        rows, total = await self.get_many_and_count(
            *conditions, LimitOffset(limit=limit, offset=offset), order_by=NAME_ORDER
        )
        if not rows and offset:
            total = await self.count(*conditions)
        return [to_contact(row) for row in rows], total

    async def upcoming_birthdays(self, *, today: datetime.date, days: int) -> list[UpcomingBirthday]:
        """Contacts whose next birthday falls in [today, today + days], soonest first, then by name.

        The month-day ranges of the window are what the index serves; the exact next birthday
        is then computed for the few rows they select."""
        last_day = today + datetime.timedelta(days=days)
        rows = await self.get_many(month_day_window(today, last_day), order_by=NAME_ORDER)
        upcoming = [
            UpcomingBirthday(**{name: getattr(row, name) for name in _CONTACT_FIELDS}, next_birthday=when)
            for row in rows
            if (when := next_birthday(row.birthday, today)) <= last_day
        ]
        # Stable: contacts with the same next birthday stay in name order.
        upcoming.sort(key=lambda contact: contact.next_birthday)
        return upcoming
