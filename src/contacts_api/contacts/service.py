"""The rules of one user's address book.

A service is built for one owner and never sees another's rows: it has no method that takes an
owner, and every repository call passes `self.owner_id`.
"""

from __future__ import annotations

import datetime
import uuid

from litestar.exceptions import NotFoundException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.clock import Clock
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import ContactFilters, ContactPatch, ContactRead, ContactWrite, UpcomingBirthday
from contacts_api.errors import ConflictError, is_unique_violation
from contacts_api.validation import invalid_field

DUPLICATE_EMAIL = "You already have a contact with this email"
# PostgreSQL (through asyncpg) would store 0001-01-01 as -infinity; no birthday in an address book
# is that old, so the range starts at the year 1000.
EARLIEST_BIRTHDAY = datetime.date(1000, 1, 1)


class ContactService:
    def __init__(self, db_session: AsyncSession, *, owner_id: uuid.UUID, clock: Clock) -> None:
        self.contacts = ContactRepository(session=db_session)
        self.owner_id = owner_id
        self.clock = clock

    def today(self) -> datetime.date:
        return self.clock().date()

    async def create_contact(self, data: ContactWrite) -> ContactRead:
        self._check_birthday(data.birthday)
        try:
            return await self.contacts.insert(self.owner_id, data.fields())
        except SQLAlchemyError as exc:
            raise_if_duplicate(exc)
            raise

    async def get_contact(self, contact_id: uuid.UUID) -> ContactRead:
        contact = await self.contacts.get_owned(self.owner_id, contact_id)
        if contact is None:
            # The same answer whether the id does not exist or belongs to someone else.
            raise NotFoundException(detail="Contact not found")
        return contact

    async def replace_contact(self, contact_id: uuid.UUID, data: ContactWrite) -> ContactRead:
        return await self._change(contact_id, data.fields())

    async def patch_contact(self, contact_id: uuid.UUID, data: ContactPatch) -> ContactRead:
        return await self._change(contact_id, data.fields())

    async def delete_contact(self, contact_id: uuid.UUID) -> None:
        if not await self.contacts.delete_owned(self.owner_id, contact_id):
            raise NotFoundException(detail="Contact not found")

    async def list_contacts(self, filters: ContactFilters, *, limit: int, offset: int) -> tuple[list[ContactRead], int]:
        return await self.contacts.search(self.owner_id, filters, limit=limit, offset=offset)

    async def upcoming_birthdays(self, days: int) -> list[UpcomingBirthday]:
        return await self.contacts.upcoming_birthdays(self.owner_id, today=self.today(), days=days)

    async def _change(self, contact_id: uuid.UUID, fields: dict[str, object]) -> ContactRead:
        birthday = fields.get("birthday")
        if isinstance(birthday, datetime.date):
            self._check_birthday(birthday)
        try:
            contact = await self.contacts.update_owned(self.owner_id, contact_id, fields)
        except SQLAlchemyError as exc:
            raise_if_duplicate(exc)
            raise
        if contact is None:
            raise NotFoundException(detail="Contact not found")
        return contact

    def _check_birthday(self, birthday: datetime.date) -> None:
        if birthday > self.today():
            raise invalid_field("birthday", "The birthday cannot be in the future")
        if birthday < EARLIEST_BIRTHDAY:
            raise invalid_field("birthday", f"The birthday cannot be before {EARLIEST_BIRTHDAY.isoformat()}")


def raise_if_duplicate(exc: Exception) -> None:
    """The unique (owner, email) index decides duplicates, also between concurrent requests."""
    if is_unique_violation(exc):
        raise ConflictError(detail=DUPLICATE_EMAIL) from None
