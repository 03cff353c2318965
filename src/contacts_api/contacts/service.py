"""The rules of one user's address book.

A service is built for one owner and never sees another's rows: it has no method that takes an
owner, and every repository call passes `self.owner_id`.
"""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence

from advanced_alchemy.exceptions import RepositoryError
from litestar.exceptions import NotFoundException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm.exc import StaleDataError

from contacts_api.clock import Clock
from contacts_api.contacts.models import Contact
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import ContactFilters, ContactPatch, ContactWrite
from contacts_api.errors import ConflictError, is_unique_violation
from contacts_api.validation import invalid_field

DUPLICATE_EMAIL = "You already have a contact with this email"
# PostgreSQL (through asyncpg) would store 0001-01-01 as -infinity; no birthday in an address book
# is that old, so the range starts at the year 1000.
EARLIEST_BIRTHDAY = datetime.date(1000, 1, 1)


class ContactService:
    def __init__(self, db_session: AsyncSession, *, owner_id: uuid.UUID, clock: Clock) -> None:
        self.db_session = db_session
        self.contacts = ContactRepository(session=db_session)
        self.owner_id = owner_id
        self.clock = clock

    def today(self) -> datetime.date:
        return self.clock().date()

    async def create_contact(self, data: ContactWrite) -> Contact:
        self._check_birthday(data.birthday)
        try:
            return await self.contacts.add(Contact(owner_id=self.owner_id, **data.fields()))
        except RepositoryError as exc:
            raise_if_duplicate(exc)
            raise

    async def get_contact(self, contact_id: uuid.UUID) -> Contact:
        contact = await self.contacts.get_owned(self.owner_id, contact_id)
        if contact is None:
            # The same answer whether the id does not exist or belongs to someone else.
            raise NotFoundException(detail="Contact not found")
        return contact

    async def replace_contact(self, contact_id: uuid.UUID, data: ContactWrite) -> Contact:
        return await self._change(contact_id, data.fields())

    async def patch_contact(self, contact_id: uuid.UUID, data: ContactPatch) -> Contact:
        return await self._change(contact_id, data.fields())

    async def delete_contact(self, contact_id: uuid.UUID) -> None:
        if not await self.contacts.delete_owned(self.owner_id, contact_id):
            raise NotFoundException(detail="Contact not found")

    async def list_contacts(self, filters: ContactFilters, *, limit: int, offset: int) -> tuple[Sequence[Contact], int]:
        return await self.contacts.search(self.owner_id, filters, limit=limit, offset=offset)

    async def upcoming_birthdays(self, days: int) -> list[tuple[Contact, datetime.date]]:
        return await self.contacts.upcoming_birthdays(self.owner_id, today=self.today(), days=days)

    async def _change(self, contact_id: uuid.UUID, fields: dict[str, object]) -> Contact:
        birthday = fields.get("birthday")
        if isinstance(birthday, datetime.date):
            self._check_birthday(birthday)
        contact = await self.get_contact(contact_id)
        for name, value in fields.items():
            setattr(contact, name, value)
        try:
            # Flushed now, so that a duplicate email surfaces here as a 409.
            await self.db_session.flush()
        except StaleDataError:
            # Deleted by a concurrent request between our read and our write.
            raise NotFoundException(detail="Contact not found") from None
        except SQLAlchemyError as exc:
            raise_if_duplicate(exc)
            raise
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
