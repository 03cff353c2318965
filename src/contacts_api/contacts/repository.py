"""The SQL of the contacts domain. Every query takes the owner's id and filters on it."""

from __future__ import annotations

import calendar
import datetime
import re
import uuid
from collections.abc import Sequence

from advanced_alchemy.repository import SQLAlchemyAsyncRepository
from sqlalchemy import (
    ColumnElement,
    Integer,
    Select,
    case,
    cast,
    delete,
    extract,
    func,
    or_,
    select,
)
from sqlalchemy.orm import InstrumentedAttribute

from contacts_api.contacts.models import Contact
from contacts_api.contacts.schemas import ContactFilters

_LIKE_SPECIALS = re.compile(r"([\\%_])")


def contains(column: InstrumentedAttribute[str], fragment: str) -> ColumnElement[bool]:
    """Case-insensitive substring match with `%`, `_` and `\\` in `fragment` taken literally."""
    pattern = "%" + _LIKE_SPECIALS.sub(r"\\\1", fragment) + "%"
    # The database folds both sides, so that text and pattern are folded by the same rules.
    return func.lower(column).like(func.lower(pattern), escape="\\")


def _date_key(day: datetime.date) -> int:
    return day.year * 10_000 + day.month * 100 + day.day


def _key_to_date(key: int) -> datetime.date:
    return datetime.date(key // 10_000, key // 100 % 100, key % 100)


class ContactRepository(SQLAlchemyAsyncRepository[Contact]):
    model_type = Contact

    async def get_owned(self, owner_id: uuid.UUID, contact_id: uuid.UUID) -> Contact | None:
        statement = select(Contact).where(Contact.owner_id == owner_id, Contact.id == contact_id)
        return (await self.session.execute(statement)).scalar_one_or_none()

    async def delete_owned(self, owner_id: uuid.UUID, contact_id: uuid.UUID) -> bool:
        result = await self.session.execute(
            delete(Contact)
            .where(Contact.owner_id == owner_id, Contact.id == contact_id)
            .execution_options(synchronize_session=False)
        )
        return bool(result.rowcount)  # type: ignore[attr-defined]

    async def search(
        self, owner_id: uuid.UUID, filters: ContactFilters, *, limit: int, offset: int
    ) -> tuple[Sequence[Contact], int]:
        conditions = [Contact.owner_id == owner_id, *self._filter_conditions(filters)]
        total = await self.session.scalar(select(func.count()).select_from(Contact).where(*conditions))
        page = await self.session.scalars(
            select(Contact)
            .where(*conditions)
            .order_by(Contact.last_name, Contact.first_name, Contact.id)
            .limit(limit)
            .offset(offset)
        )
        return page.all(), int(total or 0)

    @staticmethod
    def _filter_conditions(filters: ContactFilters) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if filters.q:
            conditions.append(
                or_(
                    contains(Contact.first_name, filters.q),
                    contains(Contact.last_name, filters.q),
                    contains(Contact.email, filters.q),
                )
            )
        for column, fragment in (
            (Contact.first_name, filters.first_name),
            (Contact.last_name, filters.last_name),
            (Contact.email, filters.email),
        ):
            if fragment:
                conditions.append(contains(column, fragment))
        return conditions

    async def upcoming_birthdays(
        self, owner_id: uuid.UUID, *, today: datetime.date, days: int
    ) -> list[tuple[Contact, datetime.date]]:
        """Contacts whose next birthday falls in [today, today + days], soonest first.

        Computed in SQL from integer keys (yyyymmdd), which read the same on every dialect: the
        birthday's month and day are placed in this year or, once passed, in the next one; in a
        common year 29 February becomes 28 February.
        """
        statement = self._upcoming_birthdays_query(owner_id, today=today, days=days)
        rows = (await self.session.execute(statement)).tuples().all()
        return [(contact, _key_to_date(int(key))) for contact, key in rows]

    @staticmethod
    def _upcoming_birthdays_query(owner_id: uuid.UUID, *, today: datetime.date, days: int) -> Select[Contact, int]:
        month_day = cast(extract("month", Contact.birthday), Integer) * 100 + cast(
            extract("day", Contact.birthday), Integer
        )

        def key_in(year: int) -> ColumnElement[int]:
            in_year = month_day if calendar.isleap(year) else case((month_day == 229, 228), else_=month_day)
            return year * 10_000 + in_year

        this_year, next_year = key_in(today.year), key_in(today.year + 1)
        next_birthday = case((this_year >= _date_key(today), this_year), else_=next_year).label("next_birthday")
        last_day = today + datetime.timedelta(days=days)
        return (
            select(Contact, next_birthday)
            .where(Contact.owner_id == owner_id, next_birthday <= _date_key(last_day))
            .order_by(next_birthday, Contact.last_name, Contact.first_name, Contact.id)
        )
