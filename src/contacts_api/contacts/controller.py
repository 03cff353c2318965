"""HTTP routes of contacts: /api/contacts. Parse, call the service, shape the answer."""

from __future__ import annotations

import datetime
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

from advanced_alchemy.service import OffsetPagination
from litestar import Controller, Request, delete, get, patch, post, put
from litestar.datastructures import State
from litestar.di import Provide
from litestar.dto import DTOData
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi.spec import Link, OpenAPI, OpenAPIFormat, OpenAPIResponse, Operation, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.guards import BEARER_SECURITY, requires_user
from contacts_api.accounts.schemas import User
from contacts_api.clock import CLOCK_STATE_KEY
from contacts_api.contacts.schemas import (
    PATCH_EXAMPLES,
    WRITE_EXAMPLES,
    Contact,
    ContactFilters,
    ContactPatchDTO,
    ContactReadDTO,
    ContactWriteDTO,
    UpcomingBirthday,
    UpcomingBirthdayDTO,
)
from contacts_api.contacts.service import EARLIEST_BIRTHDAY, ContactService
from contacts_api.db import one_statement_without_transaction
from contacts_api.docs import iso_dates_between_pattern, name_response_schema
from contacts_api.errors import BODY_ERRORS, ConflictError
from contacts_api.validation import STORABLE_TEXT

SearchText = Annotated[
    str | None, Parameter(max_length=320, pattern=STORABLE_TEXT, description="Case- and accent-insensitive substring")
]
ContactId = Annotated[uuid.UUID, Parameter(description="The contact's id")]
ContactWriteData = Annotated[DTOData[Contact], WRITE_EXAMPLES]
ContactPatchData = Annotated[DTOData[Contact], PATCH_EXAMPLES]


@dataclass
class CreateContactOperation(Operation):
    """Links the 201 to the operations on the new contact (OpenAPI links), for clients and for
    stateful testers that walk create → read → change → delete."""

    def __post_init__(self) -> None:
        created = (self.responses or {}).get(str(HTTP_201_CREATED))
        if isinstance(created, OpenAPIResponse):
            created.links = {
                name: Link(operation_id=operation_id, parameters={"contact_id": "$response.body#/id"})
                for name, operation_id in [
                    ("GetContact", "getContact"),
                    ("ReplaceContact", "replaceContact"),
                    ("UpdateContact", "updateContact"),
                    ("DeleteContact", "deleteContact"),
                ]
            }


def document_contacts(openapi: OpenAPI, today: datetime.date) -> None:
    """What the generated document cannot say by itself: the page's name, the birthday range."""
    name_response_schema(openapi, "/api/contacts", "get", "ContactPage", {"total": "All contacts matching the filters"})
    document_birthday_rule(openapi, today)


def document_birthday_rule(openapi: OpenAPI, today: datetime.date) -> None:
    """State the birthday range (from EARLIEST_BIRTHDAY, not in the future) in the schema of every
    birthday a client sends, as a pattern of the dates up to `today`. The document is built at
    start-up: a server running past midnight (UTC) keeps yesterday's bound until restarted."""
    pattern = iso_dates_between_pattern(EARLIEST_BIRTHDAY.year, today)
    for name in ("ContactWrite", "ContactPatch"):
        schema = (openapi.components.schemas or {}).get(name)
        birthday = schema.properties.get("birthday") if isinstance(schema, Schema) and schema.properties else None
        for candidate in [birthday, *(getattr(birthday, "one_of", None) or [])]:
            if isinstance(candidate, Schema) and candidate.format == OpenAPIFormat.DATE:
                candidate.pattern = pattern


def provide_contact_service(db_session: AsyncSession, request: Request[User, Any, Any], state: State) -> ContactService:
    return ContactService(db_session, owner_id=request.user.id, clock=state[CLOCK_STATE_KEY])


class ContactController(Controller):
    """The address book's routes. Each is one SQL statement (see ContactRepository), so each says
    it runs without a transaction (`opt=one_statement_without_transaction()`); a route added here
    without saying so gets a transaction."""

    path = "/api/contacts"
    tags = ["Contacts"]
    guards = [requires_user]
    security = BEARER_SECURITY
    dependencies = {"contacts": Provide(provide_contact_service, sync_to_thread=False)}
    # What a client sees of a contact, for every route here that returns one.
    return_dto = ContactReadDTO

    @post(
        "/",
        operation_id="createContact",
        opt=one_statement_without_transaction(),
        operation_class=CreateContactOperation,
        dto=ContactWriteDTO,
        status_code=HTTP_201_CREATED,
        summary="Add a contact",
        raises=[*BODY_ERRORS, NotAuthorizedException, ConflictError],
    )
    async def create_contact(self, data: ContactWriteData, contacts: ContactService) -> Contact:
        return await contacts.create_contact(data)

    @get(
        "/",
        operation_id="listContacts",
        opt=one_statement_without_transaction(),
        summary="List and search contacts",
        raises=[ValidationException, NotAuthorizedException, ServiceUnavailableException],
    )
    async def list_contacts(
        self,
        contacts: ContactService,
        q: Annotated[SearchText, Parameter(description="Substring of first name, last name or email")] = None,
        first_name: SearchText = None,
        last_name: SearchText = None,
        email: SearchText = None,
        limit: Annotated[int, Parameter(ge=1, le=100, description="Page size")] = 20,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000, description="Contacts to skip")] = 0,
    ) -> OffsetPagination[Contact]:
        """Sorted by last name, first name and id; `total` counts every match."""
        filters = ContactFilters(q=q, first_name=first_name, last_name=last_name, email=email)
        items, total = await contacts.list_contacts(filters, limit=limit, offset=offset)
        return OffsetPagination(items=items, total=total, limit=limit, offset=offset)

    @get(
        "/birthdays",
        operation_id="listUpcomingBirthdays",
        opt=one_statement_without_transaction(),
        return_dto=UpcomingBirthdayDTO,
        summary="Contacts with a birthday soon",
        raises=[ValidationException, NotAuthorizedException, ServiceUnavailableException],
    )
    async def upcoming_birthdays(
        self,
        contacts: ContactService,
        days: Annotated[int, Parameter(ge=1, le=366, description="How many days ahead, today included")] = 7,
    ) -> list[UpcomingBirthday]:
        """Contacts whose next birthday (UTC) falls from today to today + `days`, soonest first."""
        return await contacts.upcoming_birthdays(days)

    @get(
        "/{contact_id:uuid}",
        operation_id="getContact",
        opt=one_statement_without_transaction(),
        summary="Read a contact",
        raises=[NotAuthorizedException, NotFoundException, ServiceUnavailableException],
    )
    async def get_contact(self, contact_id: ContactId, contacts: ContactService) -> Contact:
        return await contacts.get_contact(contact_id)

    @put(
        "/{contact_id:uuid}",
        operation_id="replaceContact",
        opt=one_statement_without_transaction(),
        dto=ContactWriteDTO,
        summary="Replace a contact",
        raises=[*BODY_ERRORS, NotAuthorizedException, NotFoundException, ConflictError],
    )
    async def replace_contact(self, contact_id: ContactId, data: ContactWriteData, contacts: ContactService) -> Contact:
        return await contacts.replace_contact(contact_id, data)

    @patch(
        "/{contact_id:uuid}",
        operation_id="updateContact",
        opt=one_statement_without_transaction(),
        dto=ContactPatchDTO,
        summary="Change some fields of a contact",
        raises=[*BODY_ERRORS, NotAuthorizedException, NotFoundException, ConflictError],
    )
    async def update_contact(self, contact_id: ContactId, data: ContactPatchData, contacts: ContactService) -> Contact:
        return await contacts.patch_contact(contact_id, data)

    @delete(
        "/{contact_id:uuid}",
        operation_id="deleteContact",
        opt=one_statement_without_transaction(),
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a contact",
        raises=[NotAuthorizedException, NotFoundException, ServiceUnavailableException],
    )
    async def delete_contact(self, contact_id: ContactId, contacts: ContactService) -> None:
        await contacts.delete_contact(contact_id)
