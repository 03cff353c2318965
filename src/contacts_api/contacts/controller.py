"""HTTP routes of contacts: /api/contacts. Parse, call the service, shape the answer."""

from __future__ import annotations

import typing
import uuid
from dataclasses import dataclass
from typing import Annotated, Any

import msgspec
from advanced_alchemy.service import OffsetPagination
from litestar import Controller, MediaType, Request, Response, delete, get, patch, post, put
from litestar.datastructures import ResponseHeader, State
from litestar.di import Provide
from litestar.dto import DTOData
from litestar.exceptions import (
    NotAuthorizedException,
    NotFoundException,
    ServiceUnavailableException,
    ValidationException,
)
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import (
    Example,
    Link,
    OpenAPI,
    OpenAPIHeader,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    Reference,
    Schema,
)
from litestar.params import Parameter
from litestar.status_codes import HTTP_200_OK, HTTP_201_CREATED, HTTP_204_NO_CONTENT, HTTP_304_NOT_MODIFIED
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.guards import BEARER_SECURITY, requires_user
from contacts_api.accounts.schemas import User
from contacts_api.clock import CLOCK_STATE_KEY
from contacts_api.conditional import entity_tags
from contacts_api.contacts.interchange.vcard_writer import VCARD_MEDIA_TYPE, contact_as_vcard
from contacts_api.contacts.schemas import (
    MAX_ADDRESSES,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,
    PATCH_EXAMPLES,
    READ_ENTRIES,
    WRITE_ENTRIES,
    WRITE_EXAMPLES,
    ChangesPage,
    Contact,
    ContactChange,
    ContactChangeDTO,
    ContactFilters,
    ContactPatchDTO,
    ContactReadDTO,
    ContactSort,
    ContactWriteDTO,
    Tag,
    TagCount,
    UpcomingBirthday,
    UpcomingBirthdayDTO,
    vcard_etag_of,
)
from contacts_api.contacts.service import CONTACT_RULES_STATE_KEY, ContactService
from contacts_api.db import one_statement_without_transaction
from contacts_api.errors import BODY_ERRORS, ConflictError, GoneError, PreconditionFailedError
from contacts_api.openapi_document import name_response_schema, use_schema_instead
from contacts_api.validation import STORABLE_TEXT, invalid_field


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
        " digits or more, its digits also match a substring of any phone's digits (`555 0100` finds"
        " `+1 (555) 010-0200`). `%` and `_` match literally",
        "hopp",
        "5550100",
    ),
]
EmailSearchText = Annotated[
    str | None, _search_text("Case-insensitive substring of any of the contact's emails", "example.com")
]
ContactId = Annotated[uuid.UUID, Parameter(description="The contact's id")]
MAX_TAG_QUERY_LENGTH = 140
TagFilter = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=MAX_TAG_QUERY_LENGTH,
        pattern=STORABLE_TEXT,
        description="Only contacts with this tag, compared case-insensitively (surrounding spaces ignored)",
        examples=[Example(value="family")],
    ),
]
TagFilters = Annotated[
    list[str] | None,
    Parameter(
        max_items=20,
        description=(
            "Only contacts with this tag, compared case-insensitively (surrounding spaces ignored); repeat it for"
            " contacts with all of them"
        ),
        examples=[Example(value=["family"])],
    ),
]


def query_tags(values: list[str] | None) -> tuple[str, ...]:
    """The `tag` parameters, each checked as TagFilter states (Litestar does not check the items
    of a list parameter against a rule of their own)."""
    for value in values or ():
        if not value or len(value) > MAX_TAG_QUERY_LENGTH or "\x00" in value:
            raise invalid_field("tag", f"A tag has 1 to {MAX_TAG_QUERY_LENGTH} characters, with no NUL", source="query")
    return tuple(values or ())


ContactWriteData = Annotated[DTOData[Contact], WRITE_EXAMPLES]
ContactPatchData = Annotated[DTOData[Contact], PATCH_EXAMPLES]


@dataclass
class CreateContactOperation(Operation):
    """Links the 201 to the operations on the new contact (OpenAPI links), for clients and for
    stateful testers that walk create → read → change → delete, with and without its ETag."""

    def __post_init__(self) -> None:
        created = (self.responses or {}).get(str(HTTP_201_CREATED))
        if isinstance(created, OpenAPIResponse):
            by_id = {"contact_id": "$response.body#/id"}
            # The conditional variants carry the new contact's ETag (RFC 9110 §13).
            created.links = {
                name: Link(operation_id=operation_id, parameters=parameters)
                for name, operation_id, parameters in [
                    ("GetContact", "getContact", by_id),
                    ("GetContactIfChanged", "getContact", {**by_id, "header.If-None-Match": "$response.header.ETag"}),
                    ("ReplaceContact", "replaceContact", by_id),
                    (
                        "ReplaceContactIfUnchanged",
                        "replaceContact",
                        {**by_id, "header.If-Match": "$response.header.ETag"},
                    ),
                    ("UpdateContact", "updateContact", by_id),
                    (
                        "UpdateContactIfUnchanged",
                        "updateContact",
                        {**by_id, "header.If-Match": "$response.header.ETag"},
                    ),
                    ("DeleteContact", "deleteContact", by_id),
                    (
                        "DeleteContactIfUnchanged",
                        "deleteContact",
                        {**by_id, "header.If-Match": "$response.header.ETag"},
                    ),
                ]
            }


def document_contacts(openapi: OpenAPI) -> None:
    """What the generated document cannot say by itself: the page's name; the request bodies'
    lists, which msgspec decodes whole (dto.EntityDTO.field_types) and Litestar documents with
    no item type (their entries' schemas come from msgspec itself, as `…Write`); the rule of
    each tag; the version 1 fields' exclusion; plain names for the answers' entry schemas."""
    name_response_schema(openapi, "/api/contacts", "get", "ContactPage", {"total": "All contacts matching the filters"})
    name_response_schema(
        openapi, "/api/contacts/changes", "get", "ContactChangesPage",
        {
            "changes": "Oldest change first",
            "cursor": "Where the next read starts: follow it while `has_more`, keep the last one for the next sync",
            "has_more": "More changes follow: read again with `cursor` at once",
        },
    )  # fmt: skip
    # A change's contact is a ContactRead: Litestar's nested copy of it (named after the handler,
    # with a number when several apps are built in one process) goes.
    change = (openapi.components.schemas or {}).get("ContactChange")
    contact = (change.properties or {}).get("contact") if isinstance(change, Schema) else None
    for option in getattr(contact, "one_of", None) or []:
        if isinstance(option, Reference):
            use_schema_instead(openapi, option.ref.rsplit("/", 1)[-1], "ContactRead")
    # A 412 says which version is current (RFC 9110 §13.1.1; the contract), and so does a 304.
    item = (openapi.paths or {}).get("/api/contacts/{contact_id}")
    not_modified = (getattr(getattr(item, "get", None), "responses", None) or {}).get("304")
    if isinstance(not_modified, OpenAPIResponse):
        not_modified.headers = {
            "ETag": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description="The ETag that is still current")
        }
    feed = getattr((openapi.paths or {}).get("/api/contacts/changes"), "get", None)
    gone = (getattr(feed, "responses", None) or {}).get("410")
    if isinstance(gone, OpenAPIResponse):
        gone.description = (
            "The cursor is older than SYNC_TOMBSTONE_DAYS (or not from this book): sync again from the start,"
            " without a cursor"
        )
    for operation in (getattr(item, method, None) for method in ("put", "patch", "delete")):
        failed = (getattr(operation, "responses", None) or {}).get("412")
        if isinstance(failed, OpenAPIResponse):
            failed.headers = {
                "ETag": OpenAPIHeader(schema=Schema(type=OpenAPIType.STRING), description="The contact's current ETag")
            }
    schemas = openapi.components.schemas if openapi.components.schemas is not None else {}
    # The entries' schemas as msgspec states them: `…Write` for bodies, the plain names for answers.
    _, written = msgspec.json.schema_components(WRITE_ENTRIES.values(), ref_template="#/components/schemas/{name}")
    _, stored = msgspec.json.schema_components(READ_ENTRIES.values(), ref_template="#/components/schemas/{name}")
    for entry in WRITE_ENTRIES.values():
        name = f"{entry.__name__.removesuffix('Write')}Write"
        # Plain JSON Schema objects: Litestar's document serialises them as they are.
        schemas[name] = typing.cast("Schema", {**written[entry.__name__], "title": name})
    for entry in READ_ENTRIES.values():
        schemas[entry.__name__] = typing.cast("Schema", stored[entry.__name__])
    for name in ("ContactRead", "UpcomingBirthday"):
        schema = schemas.get(name)
        properties = schema.properties or {} if isinstance(schema, Schema) else {}
        for field, entry in READ_ENTRIES.items():
            prop = properties.get(field)
            if isinstance(prop, Schema):
                prop.items = Reference(ref=f"#/components/schemas/{entry.__name__}")
                prop.description = contact_field_description(field)
    tag_rule = typing.get_args(Tag)[1]
    tag_item = Schema(
        type=OpenAPIType.STRING, min_length=1, max_length=tag_rule.max_length, pattern=tag_rule.pattern,
        description=tag_rule.description,
    )  # fmt: skip
    lists: dict[str, tuple[int, Schema | Reference]] = {
        "emails": (MAX_EMAILS, Reference(ref="#/components/schemas/EmailEntryWrite")),
        "phones": (MAX_PHONES, Reference(ref="#/components/schemas/PhoneEntryWrite")),
        "addresses": (MAX_ADDRESSES, Reference(ref="#/components/schemas/PostalAddressWrite")),
        "tags": (MAX_TAGS, tag_item),
    }
    descriptions = {name: contact_field_description(name) for name in lists}
    for name in ("ContactWrite", "ContactPatch"):
        schema = schemas.get(name)
        if not isinstance(schema, Schema):
            continue
        properties = schema.properties or {}
        for field, (limit, items) in lists.items():
            prop = properties.get(field)
            if isinstance(prop, Schema):
                prop.description = descriptions[field]
            for candidate in [prop, *(getattr(prop, "one_of", None) or [])]:
                if isinstance(candidate, Schema) and candidate.type == OpenAPIType.ARRAY:
                    candidate.max_items = limit
                    candidate.items = items
        # A version 1 field and its list in one body: a 400 (service.ContactRules).
        schema.schema_not = Schema(
            any_of=[Schema(required=["email", "emails"]), Schema(required=["phone", "phones"])],
            description="`email` and `emails` (or `phone` and `phones`) are never sent together",
        )
    # The `tag` list parameter's items, as query_tags checks them.
    tag_filter = Schema(type=OpenAPIType.STRING, min_length=1, max_length=MAX_TAG_QUERY_LENGTH, pattern=STORABLE_TEXT)
    listing = getattr((openapi.paths or {}).get("/api/contacts"), "get", None)
    for parameter in getattr(listing, "parameters", None) or []:
        if getattr(parameter, "name", None) == "tag" and isinstance(parameter.schema, Schema):
            for candidate in [parameter.schema, *(parameter.schema.one_of or [])]:
                if isinstance(candidate, Schema) and candidate.type == OpenAPIType.ARRAY:
                    candidate.items = tag_filter


def contact_field_description(name: str) -> str | None:
    """The description a field of `Contact` declares in its msgspec Meta."""
    annotation = typing.get_type_hints(Contact, include_extras=True)[name]
    metas = [meta for meta in getattr(annotation, "__metadata__", ()) if isinstance(meta, msgspec.Meta)]
    return next((meta.description for meta in metas if meta.description), None)


VCARD_MEDIA_TYPES = ("text/vcard", "text/x-vcard", "text/directory")
IfMatch = Annotated[
    str | None,
    Parameter(
        header="If-Match",
        description=(
            "Change the contact only if its current ETag is one of these (RFC 9110 §13.1.1), or `*` for any"
            " existing contact; otherwise 412 with the current `ETag`, and nothing changes"
        ),
        examples=[Example(value='"42"')],
    ),
]
IfNoneMatch = Annotated[
    str | None,
    Parameter(
        header="If-None-Match",
        description="The ETag you hold: 304 without a body while it is still current (RFC 9110 §13.1.2)",
        examples=[Example(value='"42"')],
    ),
]
ETAG_HEADER = ResponseHeader(
    name="ETag",
    description=(
        "The contact's current strong entity tag (RFC 9110 §8.8.3): its `etag` field for the JSON, and"
        ' `"<n>-vcard"` for its vCard (another representation of the same version)'
    ),
    value='"42"',
    documentation_only=True,
)
VARY_HEADER = ResponseHeader(
    name="Vary", description="The answer depends on `Accept`: JSON or a vCard", value="Accept", documentation_only=True
)


def contact_path(contact: Contact) -> str:
    return f"/api/contacts/{contact.id}"


def with_etag(contact: Contact, status_code: int = HTTP_200_OK, **headers: str) -> Response[Contact]:
    """The contact as the answer, with its ETag (and `headers`): every single-contact write's."""
    return Response(contact, status_code=status_code, headers={"ETag": contact.etag, **headers})


def wants_vcard(request: Request[Any, Any, Any]) -> bool:
    """Whether the client prefers a vCard to JSON (RFC 9110 §12.5.1), checked only when it names one."""
    if "vcard" not in request.headers.get("accept", "") and "directory" not in request.headers.get("accept", ""):
        return False
    best = request.accept.best_match(["application/json", *VCARD_MEDIA_TYPES], default="application/json")
    return best in VCARD_MEDIA_TYPES


def provide_contact_service(db_session: AsyncSession, request: Request[User, Any, Any], state: State) -> ContactService:
    return ContactService(
        db_session, owner_id=request.user.id, clock=state[CLOCK_STATE_KEY], rules=state[CONTACT_RULES_STATE_KEY]
    )


class ContactController(Controller):
    """The address book's routes. The reads are one SQL statement each (see ContactRepository
    and sync.ChangeFeed), so each says it runs without a transaction
    (`opt=one_statement_without_transaction()`); the writes (which also take a change number and
    write the index tables or a tombstone), and any route added here without saying so, get a
    transaction."""

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
        media_type=MediaType.JSON,
        operation_class=CreateContactOperation,
        dto=ContactWriteDTO,
        status_code=HTTP_201_CREATED,
        summary="Add a contact",
        response_headers=[
            ETAG_HEADER,
            ResponseHeader(
                name="Location",
                description="The new contact's URL",
                value="/api/contacts/01930000-0000-7000-8000-000000000000",
                documentation_only=True,
            ),
        ],
        raises=[*BODY_ERRORS, NotAuthorizedException, ConflictError],
    )
    async def create_contact(self, data: ContactWriteData, contacts: ContactService) -> Response[Contact]:
        contact = await contacts.create_contact(data)
        return with_etag(contact, HTTP_201_CREATED, Location=contact_path(contact))

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
        tag: TagFilters = None,
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
            q=q, first_name=first_name, last_name=last_name, email=email, tags=query_tags(tag), favorite=favorite
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
        tag: TagFilter = None,
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
        "/changes",
        operation_id="listContactChanges",
        opt=one_statement_without_transaction(),
        return_dto=ContactChangeDTO,
        summary="Changes since a cursor: sync a copy of the book",
        raises=[ValidationException, NotAuthorizedException, GoneError, ServiceUnavailableException],
    )
    async def list_changes(
        self,
        contacts: ContactService,
        cursor: Annotated[
            str | None,
            Parameter(
                max_length=100,
                description=(
                    "The `cursor` of the previous page or sync. Without it: every current contact (a full sync);"
                    " with it: every contact created, changed or deleted since, oldest change first. Older than"
                    " SYNC_TOMBSTONE_DAYS: 410, sync again without it"
                ),
            ),
        ] = None,
        limit: Annotated[int, Parameter(ge=1, le=1000, description="Changes per page")] = 100,
    ) -> ChangesPage[ContactChange]:
        """A page of changes, oldest first: `{changes: [{id, deleted, contact}], cursor, has_more}`
        (`contact` is null for a deletion). Follow `cursor` while `has_more`; keep the last one for
        the next sync. A client that does sees every committed change, even while others write."""
        return await contacts.changes(cursor, limit=limit)

    @get(
        "/{contact_id:uuid}",
        operation_id="getContact",
        media_type=MediaType.JSON,
        opt=one_statement_without_transaction(),
        summary="Read a contact",
        response_headers=[ETAG_HEADER, VARY_HEADER],
        responses={
            HTTP_304_NOT_MODIFIED: ResponseSpec(
                data_container=None, description="Not Modified: the `If-None-Match` ETag is current (no body)"
            )
        },
        raises=[NotAuthorizedException, NotFoundException, ServiceUnavailableException],
    )
    async def get_contact(
        self,
        contact_id: ContactId,
        contacts: ContactService,
        request: Request[User, Any, Any],
        if_none_match: IfNoneMatch = None,
    ) -> Response[Contact]:
        """The contact as JSON, or with `Accept: text/vcard` as one vCard 4.0 (RFC 6350). With
        `If-None-Match` naming its current ETag: 304 Not Modified, without a body (RFC 9110 §13.1.2)."""
        contact = await contacts.get_contact(contact_id)
        vcard = wants_vcard(request)
        # Each representation has its own strong ETag (RFC 9110 §8.8.3); both name this version.
        headers = {"ETag": vcard_etag_of(contact.change_seq) if vcard else contact.etag, "Vary": "Accept"}
        if (tags := entity_tags(if_none_match)) is not None and tags.weak_match(headers["ETag"]):
            return Response(None, status_code=HTTP_304_NOT_MODIFIED, headers=headers)  # type: ignore[arg-type]
        if vcard:
            # A Response whose content is no Contact passes by the return DTO: the vCard is the answer.
            return Response(contact_as_vcard(contact), media_type=VCARD_MEDIA_TYPE, headers=headers)  # type: ignore[arg-type]
        return Response(contact, headers=headers)

    @put(
        "/{contact_id:uuid}",
        operation_id="replaceContact",
        media_type=MediaType.JSON,
        dto=ContactWriteDTO,
        summary="Replace a contact",
        response_headers=[ETAG_HEADER],
        raises=[*BODY_ERRORS, NotAuthorizedException, NotFoundException, ConflictError, PreconditionFailedError],
    )
    async def replace_contact(
        self, contact_id: ContactId, data: ContactWriteData, contacts: ContactService, if_match: IfMatch = None
    ) -> Response[Contact]:
        """Every field as sent; absent optional ones are cleared. With `If-Match`, only if the
        contact is still at that version: else 412 with its current `ETag`, and nothing changes."""
        return with_etag(await contacts.replace_contact(contact_id, data, entity_tags(if_match)))

    @patch(
        "/{contact_id:uuid}",
        operation_id="updateContact",
        media_type=MediaType.JSON,
        dto=ContactPatchDTO,
        summary="Change some fields of a contact",
        response_headers=[ETAG_HEADER],
        raises=[*BODY_ERRORS, NotAuthorizedException, NotFoundException, ConflictError, PreconditionFailedError],
    )
    async def update_contact(
        self, contact_id: ContactId, data: ContactPatchData, contacts: ContactService, if_match: IfMatch = None
    ) -> Response[Contact]:
        """Only the fields sent change. `If-Match` as for PUT."""
        return with_etag(await contacts.patch_contact(contact_id, data, entity_tags(if_match)))

    @delete(
        "/{contact_id:uuid}",
        operation_id="deleteContact",
        return_dto=None,
        status_code=HTTP_204_NO_CONTENT,
        summary="Delete a contact",
        raises=[NotAuthorizedException, NotFoundException, PreconditionFailedError, ServiceUnavailableException],
    )
    async def delete_contact(self, contact_id: ContactId, contacts: ContactService, if_match: IfMatch = None) -> None:
        """The contact is gone, and the changes feed shows its deletion. `If-Match` as for PUT."""
        await contacts.delete_contact(contact_id, entity_tags(if_match))
