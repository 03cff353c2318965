"""The rules of one user's address book. A service is built for one owner and never sees
another's rows: every repository call passes `self.owner_id`."""

from __future__ import annotations

import datetime
import uuid
from collections.abc import Sequence

from advanced_alchemy.exceptions import IntegrityError
from advanced_alchemy.service import SQLAlchemyAsyncRepositoryService
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.clock import Clock
from contacts_api.contacts.models import Contact
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import ContactFilters, ContactPatch, ContactWrite
from contacts_api.errors import ConflictError, ResourceNotFound
from contacts_api.validation import invalid_field

DUPLICATE_EMAIL = "You already have a contact with this email"


class ContactService(SQLAlchemyAsyncRepositoryService[Contact, ContactRepository]):
    repository_type = ContactRepository

    def __init__(self, session: AsyncSession, *, owner_id: uuid.UUID, clock: Clock) -> None:
        super().__init__(session=session)
        self.owner_id = owner_id
        self.clock = clock

    def today(self) -> datetime.date:
        return self.clock().date()

    async def create_contact(self, data: ContactWrite) -> Contact:
        self._check_birthday(data.birthday)
        contact = Contact(owner_id=self.owner_id, **data.fields())
        try:
            return await self.repository.add(contact)
        except IntegrityError:  # only the unique email index can fail here
            raise ConflictError(detail=DUPLICATE_EMAIL) from None

    async def get_contact(self, contact_id: uuid.UUID) -> Contact:
        contact = await self.repository.get_owned(self.owner_id, contact_id)
        if contact is None:
            # The same answer whether the id does not exist or belongs to someone else.
            raise ResourceNotFound(detail="Contact not found")
        return contact

    async def replace_contact(self, contact_id: uuid.UUID, data: ContactWrite) -> Contact:
        return await self._change(contact_id, data.fields())

    async def patch_contact(self, contact_id: uuid.UUID, data: ContactPatch) -> Contact:
        return await self._change(contact_id, data.fields())

    async def delete_contact(self, contact_id: uuid.UUID) -> None:
        if not await self.repository.delete_owned(self.owner_id, contact_id):
            raise ResourceNotFound(detail="Contact not found")

    async def list_contacts(self, filters: ContactFilters, *, limit: int, offset: int) -> tuple[Sequence[Contact], int]:
        return await self.repository.search(self.owner_id, filters, limit=limit, offset=offset)

    async def upcoming_birthdays(self, days: int) -> list[tuple[Contact, datetime.date]]:
        return await self.repository.upcoming_birthdays(self.owner_id, today=self.today(), days=days)

    async def _change(self, contact_id: uuid.UUID, fields: dict[str, object]) -> Contact:
        birthday = fields.get("birthday")
        if isinstance(birthday, datetime.date):
            self._check_birthday(birthday)
        contact = await self.get_contact(contact_id)
        for name, value in fields.items():
            setattr(contact, name, value)
        try:
            return await self.repository.update(contact)
        except IntegrityError:  # only the unique email index can fail here
            raise ConflictError(detail=DUPLICATE_EMAIL) from None

    def _check_birthday(self, birthday: datetime.date) -> None:
        if birthday > self.today():
            raise invalid_field("birthday", "The birthday cannot be in the future")
