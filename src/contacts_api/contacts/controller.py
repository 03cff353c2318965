"""HTTP routes of contacts: /api/contacts. Parse, call the service, shape the answer."""

from __future__ import annotations

import typing
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
from litestar.openapi.spec import Example, Link, OpenAPI, OpenAPIResponse, OpenAPIType, Operation, Schema
from litestar.params import Parameter
from litestar.status_codes import HTTP_201_CREATED, HTTP_204_NO_CONTENT
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.guards import BEARER_SECURITY, requires_user
from contacts_api.accounts.schemas import User
from contacts_api.clock import CLOCK_STATE_KEY
from contacts_api.contacts.schemas import (
    MAX_ADDRESSES,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,
    PATCH_EXAMPLES,
    WRITE_EXAMPLES,
    Contact,
    ContactFilters,
    ContactPatchDTO,
    ContactReadDTO,
    ContactSort,
    ContactWriteDTO,
    Tag,
    TagCount,
    UpcomingBirthday,
    UpcomingBirthdayDTO,
)
from contacts_api.contacts.service import CONTACT_RULES_STATE_KEY, ContactService
from contacts_api.db import one_statement_without_transaction
from contacts_api.docs import name_response_schema, rename_schemas
from contacts_api.errors import BODY_ERRORS, ConflictError
from contacts_api.validation import STORABLE_TEXT


def _search_text(description: str, *examples: str) -> Any:
    """A search parameter's rule: up to 320 characters, no NUL, compared as text.fold compares."""
    return Parameter(
        max_length=320,
        pattern=STORABLE_TEXT,
        description=description,
        examples=[Example(value=example) for example in examples],
    )


SearchText = Annotated[str | None, _search_text("Case- and accent-insensitive substring", "emi")]
QueryText = Annotated[
    str | None,
    _search_text(
        "Case- and accent-insensitive substring of the first name, last name, organization or any email; with 3"
        " digits or more, also a substring of any phone's digits (`5550100` finds `+1 (555) 010-0200`). `%` and `_`"
        " match literally",
        "hopp",
        "5550100",
    ),
]
EmailSearchText = Annotated[
    str | None, _search_text("Case-insensitive substring of any of the contact's emails", "example.com")
]
ContactId = Annotated[uuid.UUID, Parameter(description="The contact's id")]
TagParameter = Annotated[
    str,
    Parameter(
        min_length=1,
        max_length=140,
        pattern=STORABLE_TEXT,
        description="A tag, compared case-insensitively (surrounding spaces ignored)",
        examples=[Example(value="family")],
    ),
]
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


def document_contacts(openapi: OpenAPI) -> None:
    """What the generated document cannot say by itself: the page's name, the sizes of the lists
    a body may send and the rule of each tag (Litestar's DTOs leave list constraints out; the
    service checks them), and plain names for the list entries' schemas."""
    name_response_schema(openapi, "/api/contacts", "get", "ContactPage", {"total": "All contacts matching the filters"})
    tag_rule = typing.get_args(Tag)[1]
    tag_item = Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=tag_rule.max_length, pattern=tag_rule.pattern,
        description=tag_rule.description,
    )  # fmt: skip
    limits = {"emails": MAX_EMAILS, "phones": MAX_PHONES, "addresses": MAX_ADDRESSES, "tags": MAX_TAGS}
    for name in ("ContactWrite", "ContactPatch"):
        schema = (openapi.components.schemas or {}).get(name)
        properties = schema.properties if isinstance(schema, Schema) and schema.properties else {}
        for field, limit in limits.items():
            for candidate in [properties.get(field), *(getattr(properties.get(field), "one_of", None) or [])]:
                if isinstance(candidate, Schema) and candidate.type == OpenAPIType.ARRAY:
                    candidate.max_items = limit
                    if field == "tags":
                        candidate.items = tag_item
    # Litestar names a nested transfer struct after its route and DTO ("CreateContactContact_0
    # EmailEntryRequestBody"): one name per entry and direction instead. The create's request
    # entries serve the PATCH too (an entry is always sent whole: the service checks it so).
    for entry in ("EmailEntry", "PhoneEntry", "PostalAddress"):
        requests, responses = rf"\w+_0{entry}RequestBody", rf"\w+_0{entry}ResponseBody"
        rename_schemas(openapi, f"{entry}Write", requests, keep=f"CreateContactContact_0{entry}RequestBody")
        rename_schemas(openapi, entry, responses)


def provide_contact_service(db_session: AsyncSession, request: Request[User, Any, Any], state: State) -> ContactService:
    return ContactService(
        db_session, owner_id=request.user.id, clock=state[CLOCK_STATE_KEY], rules=state[CONTACT_RULES_STATE_KEY]
    )


class ContactController(Controller):
    """The address book's routes. The reads and the delete are one SQL statement each (see
    ContactRepository), so each says it runs without a transaction
    (`opt=one_statement_without_transaction()`); the writes that also write the index tables, and
    any route added here without saying so, get a transaction."""

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
        q: QueryText = None,
        first_name: SearchText = None,
        last_name: SearchText = None,
        email: EmailSearchText = None,
        tag: Annotated[
            list[TagParameter] | None,
            Parameter(
                max_items=20,
                description="Only contacts with this tag (case-insensitive); repeat it for contacts with all of them",
            ),
        ] = None,
        favorite: Annotated[
            bool | None, Parameter(description="Only favourites (true) or only the others (false)")
        ] = None,
        sort: Annotated[
            ContactSort,
            Parameter(
                description=(
                    "`name`: last name, first name, id, case- and accent-insensitively; `created_at`, `updated_at`"
                    " (then id); a leading `-` reverses the order"
                )
            ),
        ] = "name",
        limit: Annotated[int, Parameter(ge=1, le=100, description="Page size")] = 20,
        offset: Annotated[int, Parameter(ge=0, le=1_000_000_000, description="Contacts to skip")] = 0,
    ) -> OffsetPagination[Contact]:
        """A page of the contacts matching every filter given, in `sort` order; `total` counts every match."""
        filters = ContactFilters(
            q=q, first_name=first_name, last_name=last_name, email=email, tags=tuple(tag or ()), favorite=favorite
        )
        items, total = await contacts.list_contacts(filters, sort=sort, limit=limit, offset=offset)
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
        tag: Annotated[
            TagParameter | None, Parameter(description="Only contacts with this tag (case-insensitive)")
        ] = None,
    ) -> list[UpcomingBirthday]:
        """Contacts whose next birthday (UTC) falls from today to today + `days` inclusive, soonest first,
        then by name; year-less birthdays (`--MM-DD`) included, with `age` null. A 29 February birthday
        falls on 28 February in common years."""
        return await contacts.upcoming_birthdays(days, tag)

    @get(
        "/tags",
        operation_id="listTags",
        opt=one_statement_without_transaction(),
        return_dto=None,
        summary="Tags in use, with their counts",
        raises=[NotAuthorizedException, ServiceUnavailableException],
    )
    async def list_tags(self, contacts: ContactService) -> list[TagCount]:
        """Every tag on your contacts, compared case-insensitively, sorted by name, with how many contacts have it."""
        return await contacts.tag_counts()

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
        dto=ContactWriteDTO,
        summary="Replace a contact",
        raises=[*BODY_ERRORS, NotAuthorizedException, NotFoundException, ConflictError],
    )
    async def replace_contact(self, contact_id: ContactId, data: ContactWriteData, contacts: ContactService) -> Contact:
        return await contacts.replace_contact(contact_id, data)

    @patch(
        "/{contact_id:uuid}",
        operation_id="updateContact",
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
