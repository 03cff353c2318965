"""The rules of one user's address book.

A service is built for one owner and never sees another's rows: its repository is bound to that
owner (see repository.py), and no method here takes an owner.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Any

from advanced_alchemy.exceptions import RepositoryError
from litestar.dto import DTOData
from litestar.exceptions import NotFoundException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.clock import Clock
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import Contact, ContactFilters, UpcomingBirthday
from contacts_api.errors import ConflictError, is_unique_violation
from contacts_api.text import nfc
from contacts_api.validation import check_fields, invalid_field, normalize_email

DUPLICATE_EMAIL = "You already have a contact with this email"
NOT_FOUND = "Contact not found"
# PostgreSQL (through asyncpg) would store 0001-01-01 as -infinity; no birthday in an address book
# is that old, so the range starts at the year 1000.
EARLIEST_BIRTHDAY = datetime.date(1000, 1, 1)


class ContactService:
    def __init__(self, db_session: AsyncSession, *, owner_id: uuid.UUID, clock: Clock) -> None:
        self.contacts = ContactRepository(session=db_session, owner_id=owner_id)
        self.owner_id = owner_id
        self.clock = clock

    def today(self) -> datetime.date:
        return self.clock().date()

    async def create_contact(self, data: DTOData[Contact]) -> Contact:
        now = datetime.datetime.now(datetime.UTC)
        fields = self._checked(data.as_builtins())
        contact = Contact(**fields, id=uuid7(), owner_id=self.owner_id, created_at=now, updated_at=now)
        try:
            return await self.contacts.add_contact(contact)
        except (SQLAlchemyError, RepositoryError) as exc:
            raise_if_duplicate(exc)
            raise

    async def get_contact(self, contact_id: uuid.UUID) -> Contact:
        contact = await self.contacts.get_contact(contact_id)
        if contact is None:
            # The same answer whether the id does not exist or belongs to someone else.
            raise NotFoundException(detail=NOT_FOUND)
        return contact

    async def replace_contact(self, contact_id: uuid.UUID, data: DTOData[Contact]) -> Contact:
        """Every writable field, as a create would set it: absent optional fields are cleared."""
        return await self._change(contact_id, data.as_builtins())

    async def patch_contact(self, contact_id: uuid.UUID, data: DTOData[Contact]) -> Contact:
        """Only the fields the client sent (a partial DTO leaves out the others)."""
        return await self._change(contact_id, data.as_builtins())

    async def delete_contact(self, contact_id: uuid.UUID) -> None:
        if not await self.contacts.delete_contact(contact_id):
            raise NotFoundException(detail=NOT_FOUND)

    async def list_contacts(self, filters: ContactFilters, *, limit: int, offset: int) -> tuple[list[Contact], int]:
        return await self.contacts.search(filters, limit=limit, offset=offset)

    async def upcoming_birthdays(self, days: int) -> list[UpcomingBirthday]:
        return await self.contacts.upcoming_birthdays(today=self.today(), days=days)

    async def _change(self, contact_id: uuid.UUID, changes: dict[str, Any]) -> Contact:
        fields = self._checked(changes)
        try:
            contact = await self.contacts.update_contact(contact_id, fields, now=datetime.datetime.now(datetime.UTC))
        except (SQLAlchemyError, RepositoryError) as exc:
            raise_if_duplicate(exc)
            raise
        if contact is None:
            raise NotFoundException(detail=NOT_FOUND)
        return contact

    def _checked(self, sent: dict[str, Any]) -> dict[str, Any]:
        """The fields a client sent, checked against the entity's rules and in stored form: text
        in Unicode NFC (text.py), names trimmed, the email lower-cased."""
        fields = {name: nfc(value) if isinstance(value, str) else value for name, value in sent.items()}
        # Checked again against the entity's own annotations: NFC can lengthen text, and the rules
        # then hold for the stored form.
        check_fields(Contact, fields)
        for name in ("first_name", "last_name"):
            if isinstance(fields.get(name), str):
                fields[name] = fields[name].strip()
        if isinstance(fields.get("email"), str):
            fields["email"] = normalize_email(fields["email"])
        # msgspec matches patterns with re.search, whose `$` also accepts a final newline.
        if isinstance(fields.get("phone"), str) and "\n" in fields["phone"]:
            raise invalid_field("phone", "A phone number cannot contain a line break")
        if isinstance(birthday := fields.get("birthday"), datetime.date):
            if birthday > self.today():
                raise invalid_field("birthday", "The birthday cannot be in the future")
            if birthday < EARLIEST_BIRTHDAY:
                raise invalid_field("birthday", f"The birthday cannot be before {EARLIEST_BIRTHDAY.isoformat()}")
        return fields


def raise_if_duplicate(exc: Exception) -> None:
    """The unique (owner, email) index decides duplicates, also between concurrent requests."""
    if is_unique_violation(exc):
        raise ConflictError(detail=DUPLICATE_EMAIL) from None
