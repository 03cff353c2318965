"""HTTP routes of import and export: `POST /api/contacts/import`, `GET /api/contacts/export`.

Both sit under the contacts' path; create_app mounts this controller on a router of its own
whose body limit is IMPORT_MAX_BYTES (the other routes keep MAX_BODY_BYTES).
"""

from __future__ import annotations

import typing
from typing import Annotated, Any

import anyio.to_thread
from litestar import Controller, Request, get, post
from litestar.datastructures import State, UploadFile
from litestar.di import Provide
from litestar.exceptions import NotAuthorizedException, ServiceUnavailableException, ValidationException
from litestar.exceptions.http_exceptions import RequestEntityTooLarge
from litestar.openapi.spec import (
    OpenAPI,
    OpenAPIMediaType,
    OpenAPIResponse,
    OpenAPIType,
    Operation,
    RequestBody,
    Schema,
)
from litestar.params import Parameter
from litestar.response import Stream
from sqlalchemy.ext.asyncio import AsyncSession

from contacts_api.accounts.guards import BEARER_SECURITY, requires_user
from contacts_api.accounts.schemas import User
from contacts_api.clock import CLOCK_STATE_KEY
from contacts_api.contacts.controller import MAX_TAG_QUERY_LENGTH
from contacts_api.contacts.interchange.csv_writer import CSV_MEDIA_TYPE
from contacts_api.contacts.interchange.service import (
    AddressBookTransfer,
    ExportFormat,
    ImportReport,
    OnDuplicate,
    VCardVersion,
    book_pages,
    csv_header_line,
    mapped_records,
    read_records,
    render_csv,
    render_vcards,
    rendered,
    unreadable,
)
from contacts_api.contacts.interchange.vcard_writer import VCARD_MEDIA_TYPE
from contacts_api.contacts.service import CONTACT_RULES_STATE_KEY
from contacts_api.db import DB_CONFIG_STATE_KEY
from contacts_api.validation import STORABLE_TEXT

IMPORT_MEDIA_TYPES = ("text/vcard", "text/x-vcard", "text/directory", "text/csv")
MULTIPART = "multipart/form-data"
IMPORT_LIMITS_STATE_KEY = "import_max_contacts"


def provide_transfer(db_session: AsyncSession, request: Request[User, Any, Any], state: State) -> AddressBookTransfer:
    return AddressBookTransfer(
        db_session,
        owner_id=request.user.id,
        rules=state[CONTACT_RULES_STATE_KEY],
        today=state[CLOCK_STATE_KEY]().date(),
    )


async def uploaded_file(request: Request[Any, Any, Any]) -> bytes:
    """The file of an import: the body itself, or the `file` field of a multipart form (what a
    browser form or the docs pages' file picker sends). The router's body limit applies to both."""
    try:
        media_type, _ = request.content_type
        if media_type != MULTIPART:
            return await request.body()
        form = await request.form()
    except RequestEntityTooLarge:
        limit = request.route_handler.resolve_request_max_body_size()
        raise RequestEntityTooLarge(
            detail=f"The file is larger than {limit or 0:,} bytes, the most one import takes (IMPORT_MAX_BYTES)"
        ) from None
    uploads = form.getall("file") if "file" in form else []
    if len(uploads) > 1:
        raise unreadable("A multipart upload carries one file, in its field `file`: import each file on its own")
    upload = uploads[0] if uploads else None
    if isinstance(upload, UploadFile):
        return await upload.read()
    if isinstance(upload, str):
        return upload.encode()
    raise unreadable("A multipart upload carries the file in its field `file`")


# The list's tag filter without its example: Swagger UI fills a parameter's example into "Try it
# out", and an export filtered by a tag the user never gave is an empty file that looks like a bug.
ExportTag = Annotated[
    str | None,
    Parameter(
        min_length=1,
        max_length=MAX_TAG_QUERY_LENGTH,
        pattern=STORABLE_TEXT,
        description="Only the contacts with this tag, compared case-insensitively; without it, the whole book",
    ),
]


class AddressBookTransferController(Controller):
    path = "/api/contacts"
    tags = ["Import and export"]
    guards = [requires_user]
    security = BEARER_SECURITY
    dependencies = {"transfer": Provide(provide_transfer, sync_to_thread=False)}

    @post(
        "/import",
        operation_id="importContacts",
        status_code=200,
        summary="Import a vCard or CSV file",
        raises=[ValidationException, RequestEntityTooLarge, NotAuthorizedException, ServiceUnavailableException],
    )
    async def import_contacts(
        self,
        request: Request[User, Any, Any],
        transfer: AddressBookTransfer,
        state: State,
        on_duplicate: Annotated[
            OnDuplicate,
            Parameter(
                description=(
                    "What to do with a record that shares an email or an E.164 phone number with an existing contact"
                    " or an earlier record: `skip` it, `update` that contact with it, or `create` it anyway (without"
                    " the shared emails, which stay on one contact)"
                )
            ),
        ] = "skip",
        dry_run: Annotated[bool, Parameter(description="Only report what would happen; store nothing")] = False,
    ) -> ImportReport:
        """vCard 2.1, 3.0 and 4.0 (RFC 2426, RFC 6350) or the CSV exports of Google Contacts, Outlook and
        Thunderbird, as the body (`text/vcard`, `text/csv`, …) or a `multipart/form-data` upload in field
        `file`. Every kept record is stored in one transaction; the report tells, per record in file
        order, what happened and why, and what was not kept."""
        # The auth middleware's work is committed now, so that no connection (nor SQLite's write
        # lock) is held while a slow client uploads the file and it is parsed; the import then
        # runs in a transaction of its own.
        await transfer.session.commit()
        data = await uploaded_file(request)
        max_contacts = typing.cast("int", state[IMPORT_LIMITS_STATE_KEY])
        records = await _off_the_loop(read_records, data, max_contacts)
        mapped = await _off_the_loop(mapped_records, records, transfer.rules, transfer.today)
        return await transfer.import_records(mapped, on_duplicate=on_duplicate, dry_run=dry_run)

    @get(
        "/export",
        operation_id="exportContacts",
        summary="Export the address book as vCard or CSV",
        raises=[ValidationException, NotAuthorizedException, ServiceUnavailableException],
    )
    async def export_contacts(
        self,
        transfer: AddressBookTransfer,
        state: State,
        request: Request[User, Any, Any],
        # Named as the query parameter, so that a 400 names `format` (Litestar reports the Python name).
        format: Annotated[
            ExportFormat,
            Parameter(
                description="`vcard` (RFC 6350) or `csv` (Google Contacts' layout, UTF-8; `version` does not apply)"
            ),
        ] = "vcard",
        version: Annotated[
            VCardVersion, Parameter(description="The vCard version: 4.0 (RFC 6350) or 3.0 (RFC 2426, older clients)")
        ] = "4.0",
        tag: ExportTag = None,
    ) -> Stream:
        """The whole book, or the contacts with `tag`, as a download, streamed page by page in id order."""
        # The first page is read here, so that a database down answers 503 rather than a cut file; the
        # others as the client takes them, after this handler has returned, each in a session of its own.
        first = await transfer.contacts.export_page(after=None, tag=tag)
        pages = book_pages(state[DB_CONFIG_STATE_KEY].get_session, owner_id=request.user.id, tag=tag, first=first)
        if format == "csv":
            body = _prefixed(csv_header_line().encode(), rendered(pages, render_csv))
            return Stream(
                body,
                media_type=CSV_MEDIA_TYPE,
                headers={"Content-Disposition": 'attachment; filename="contacts.csv"'},
            )
        return Stream(
            rendered(pages, lambda page: render_vcards(page, version)),
            media_type=VCARD_MEDIA_TYPE,
            headers={"Content-Disposition": 'attachment; filename="contacts.vcf"'},
        )


async def _prefixed(first: bytes, rest: typing.AsyncIterator[bytes]) -> typing.AsyncIterator[bytes]:
    yield first
    async for chunk in rest:
        yield chunk


async def _off_the_loop(function: Any, *args: Any) -> Any:
    return await anyio.to_thread.run_sync(function, *args)


def document_transfer(openapi: OpenAPI) -> None:
    """The import's body (Litestar documents none for a handler that reads the request itself):
    a file picker in Swagger UI and Scalar, as a multipart upload or as the raw file; and the
    export's answer as a file download."""
    path = (openapi.paths or {}).get("/api/contacts/import")
    operation: Operation | None = getattr(path, "post", None)
    if operation is not None:
        binary = Schema(type=OpenAPIType.STRING, format=typing.cast("Any", "binary"))
        content = {
            MULTIPART: OpenAPIMediaType(
                schema=Schema(
                    type=OpenAPIType.OBJECT,
                    properties={
                        "file": Schema(
                            type=OpenAPIType.STRING,
                            format=typing.cast("Any", "binary"),
                            description="A .vcf or .csv file",
                        )
                    },
                    required=["file"],
                )
            ),
            **{media_type: OpenAPIMediaType(schema=binary) for media_type in IMPORT_MEDIA_TYPES},
        }
        operation.request_body = RequestBody(
            content=content, required=True, description="The file: up to IMPORT_MAX_BYTES (5 MiB by default)"
        )
    path = (openapi.paths or {}).get("/api/contacts/export")
    operation = getattr(path, "get", None)
    if operation is not None and operation.responses:
        ok = operation.responses.get("200")
        if ok is not None and not isinstance(ok, type(None)) and hasattr(ok, "content"):
            binary = Schema(type=OpenAPIType.STRING, format=typing.cast("Any", "binary"))
            ok.content = {
                "text/vcard": OpenAPIMediaType(schema=binary),
                "text/csv": OpenAPIMediaType(schema=binary),
            }
            ok.description = "The file, as an attachment (`contacts.vcf` or `contacts.csv`)"
    # One contact as a vCard: the same route, chosen by `Accept: text/vcard` (contacts/controller.py).
    path = (openapi.paths or {}).get("/api/contacts/{contact_id}")
    operation = getattr(path, "get", None)
    ok = (operation.responses or {}).get("200") if operation is not None else None
    if isinstance(ok, OpenAPIResponse) and ok.content is not None:
        ok.content[VCARD_MEDIA_TYPE] = OpenAPIMediaType(
            schema=Schema(type=OpenAPIType.STRING, description="The contact as one vCard 4.0 (RFC 6350)")
        )
