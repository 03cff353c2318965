"""Import and export of one user's address book (the contract's `POST /api/contacts/import` and
`GET /api/contacts/export`).

An import reads the whole file first (off the event loop: parsing 10,000 cards takes seconds),
maps every record through `records.contact_fields`, then decides each record's fate against the
book and against the earlier records of the same file (`on_duplicate`), and stores every kept
record in the caller's one transaction. The email index's key decides a race with a concurrent
writer: a unique violation rolls the transaction back and the plan is made again from the
book as it now is (`IMPORT_ATTEMPTS` times, then a 503), never a check-then-write.

An export reads the book in keyset pages (`ContactRepository.export_page`), each page in a short
session of its own, and renders each page off the event loop, so a 100,000-contact book is never
held in memory, on either database.
"""

from __future__ import annotations

import codecs
import datetime
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal

import anyio.to_thread
import msgspec
from advanced_alchemy.exceptions import RepositoryError
from litestar.exceptions import ServiceUnavailableException, ValidationException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.contacts.interchange.csv_reader import NotAnAddressBookCsv, read_csv_contacts
from contacts_api.contacts.interchange.csv_writer import contact_as_google_csv_row, csv_lines, google_csv_header
from contacts_api.contacts.interchange.decoding import UndecodableFile
from contacts_api.contacts.interchange.records import MappedRecord, ReadRecord, contact_fields, quoted
from contacts_api.contacts.interchange.vcard_reader import NotAVCardFile, looks_like_vcard, read_vcards
from contacts_api.contacts.interchange.vcard_writer import contact_as_vcard
from contacts_api.contacts.repository import EXPORT_PAGE_SIZE, ContactRepository
from contacts_api.contacts.schemas import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, MAX_TAGS, Contact
from contacts_api.contacts.service import ContactRules, with_primaries
from contacts_api.errors import is_unique_violation
from contacts_api.text import tag_key

OnDuplicate = Literal["skip", "update", "create"]
ExportFormat = Literal["vcard", "csv"]
VCardVersion = Literal["4.0", "3.0"]
ImportStatus = Literal["created", "updated", "skipped", "failed"]
IMPORT_ATTEMPTS = 3
# The single fields an update takes from a record when the record has them.
_SINGLE_FIELDS = ("organization", "job_title", "birthday", "notes")
# What an update writes: every stored field a merge can change.
_MERGED_FIELDS = ("first_name", "last_name", *_SINGLE_FIELDS, "favorite", "emails", "phones", "addresses", "tags")


class ImportItem(msgspec.Struct, kw_only=True):
    """What happened to one record of the file."""

    index: Annotated[int, msgspec.Meta(ge=0, description="The record's place in the file, from 0")]
    status: Annotated[ImportStatus, msgspec.Meta(description="created, updated, skipped or failed")]
    id: Annotated[
        uuid.UUID | None,
        msgspec.Meta(
            description="The contact created, updated or duplicated; null on failure and for a dry run's new ones"
        ),
    ] = None
    name: Annotated[str, msgspec.Meta(description="The contact's name as imported (first and last name)")] = ""
    detail: Annotated[str | None, msgspec.Meta(description="Why it was skipped or failed")] = None
    dropped: Annotated[
        list[str],
        msgspec.Meta(
            description="Properties or columns not kept (`PHOTO`, `URL`), and values that broke a field's rule"
        ),
    ] = msgspec.field(default_factory=list)


class ImportReport(msgspec.Struct, kw_only=True):
    """The outcome of an import: counts, and an item per record in file order."""

    created: int
    updated: int
    skipped: int
    failed: int
    dry_run: Annotated[bool, msgspec.Meta(description="True when nothing was stored")] = False
    items: list[ImportItem]


# The byte-order marks of UTF-16 and UTF-32 (UTF-32 LE's begins with UTF-16 LE's), whose text holds NULs.
_WIDE_TEXT_MARKS = (codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE, codecs.BOM_UTF32_BE)


def unreadable(message: str) -> ValidationException:
    return ValidationException(detail=message, extra=[{"key": "file", "message": message, "source": "body"}])


def read_records(data: bytes, max_contacts: int) -> list[ReadRecord]:
    """The file's records in order: vCard (2.1, 3.0, 4.0) when it starts with BEGIN:VCARD, else a
    contacts CSV. A 400 for a file that is neither, cannot be decoded, or holds more than
    `max_contacts` records."""
    if not data.strip():
        raise unreadable("The file is empty")
    # A NUL byte outside UTF-16 and UTF-32 text is an image, an archive, a spreadsheet: no export
    # of contacts, whatever a lenient charset fallback would make of it.
    if b"\x00" in data and not data.startswith(_WIDE_TEXT_MARKS):
        raise unreadable("This is a binary file, not a vCard or CSV text: export the address book as .vcf or .csv")
    try:
        reader: Iterator[ReadRecord] = read_vcards(data) if looks_like_vcard(data) else read_csv_contacts(data)
        records: list[ReadRecord] = []
        for record in reader:
            if len(records) == max_contacts:
                raise unreadable(f"The file holds more than {max_contacts:,} contacts, the most one import takes")
            records.append(record)
    except (NotAVCardFile, NotAnAddressBookCsv, UndecodableFile) as exc:
        raise unreadable(str(exc)) from None
    if not records:
        raise unreadable("The file holds no contact")
    return records


def mapped_records(
    records: list[ReadRecord], rules: ContactRules, today: datetime.date, progress: Callable[[int], None] | None = None
) -> list[MappedRecord]:
    mapped = []
    for record in records:
        try:
            mapped.append(contact_fields(record, rules, today))
        except ValidationException as exc:
            # A rule the per-value checks did not foresee: the record fails, the others are kept.
            reason = (exc.extra or [{}])[0].get("message", exc.detail) if isinstance(exc.extra, list) else exc.detail
            mapped.append(MappedRecord(fields=None, name="", dropped=list(record.dropped), error=str(reason)))
        if progress is not None:
            progress(1)
    return mapped


@dataclass
class _Plan:
    """What an import would do: the report, the new contacts, and the changes of existing ones."""

    items: list[ImportItem] = field(default_factory=list)
    new: dict[uuid.UUID, Contact] = field(default_factory=dict)
    merged: dict[uuid.UUID, Contact] = field(default_factory=dict)  # existing contacts, as updated
    stored: dict[uuid.UUID, Contact] = field(default_factory=dict)  # the same, as they were

    def changed(self) -> list[Contact]:
        """The merged contacts that differ from what is stored, in id order: only those are
        written (a record that brings nothing new is no change: same ETag, no feed entry)."""
        return [
            contact
            for contact_id, contact in sorted(self.merged.items())
            if any(
                msgspec.to_builtins(getattr(contact, name))
                != msgspec.to_builtins(getattr(self.stored[contact_id], name))
                for name in _MERGED_FIELDS
            )
        ]


def _keys(fields: dict[str, Any]) -> tuple[list[str], list[str]]:
    return [entry.value for entry in fields["emails"]], [entry.e164 for entry in fields["phones"] if entry.e164]


class AddressBookTransfer:
    """Import into and export from one owner's book, over the caller's session."""

    def __init__(
        self, db_session: AsyncSession, *, owner_id: uuid.UUID, rules: ContactRules, today: datetime.date
    ) -> None:
        self.session = db_session
        self.contacts = ContactRepository(session=db_session, owner_id=owner_id)
        self.owner_id = owner_id
        self.rules = rules
        self.today = today

    async def import_records(
        self, records: list[MappedRecord], *, on_duplicate: OnDuplicate, dry_run: bool
    ) -> ImportReport:
        """Store every kept record (nothing on a `dry_run`) in the session's transaction, and say
        what happened to each. The caller commits."""
        for _ in range(IMPORT_ATTEMPTS):
            if not dry_run:
                # Imports of one book run one after the other (their duplicate checks by phone have
                # no unique index to decide a race); a create or PATCH meanwhile is decided below.
                await self.contacts.lock_book()
            plan = await self._plan(records, on_duplicate)
            if dry_run:
                return _report(plan, dry_run=True)
            try:
                stored = await self._store(plan)
            except (SQLAlchemyError, RepositoryError) as exc:
                if not is_unique_violation(exc):
                    raise
                stored = False  # a concurrent create or PATCH took one of the addresses meanwhile
            if stored:
                return _report(plan, dry_run=False)
            # Plan again from the book as it now is (a contact to update may also have been deleted).
            await self.session.rollback()
        raise ServiceUnavailableException(
            detail="The address book kept changing during the import: send it again", headers={"Retry-After": "1"}
        )

    async def _plan(self, records: list[MappedRecord], on_duplicate: OnDuplicate) -> _Plan:
        emails: set[str] = set()
        numbers: set[str] = set()
        for record in records:
            if record.fields is not None:
                found_emails, found_numbers = _keys(record.fields)
                emails.update(found_emails)
                numbers.update(found_numbers)
        by_email = await self.contacts.contacts_by_email(emails)
        by_e164 = await self.contacts.contacts_by_e164(numbers)
        # The contacts an update merges into, as they are now.
        current = (
            await self.contacts.contacts_by_id({*by_email.values(), *by_e164.values()})
            if on_duplicate == "update"
            else {}
        )
        now = datetime.datetime.now(datetime.UTC)
        plan = _Plan()
        # Which contact (existing or planned) holds each address and number, and which record
        # of this file put it there.
        holder_of_email: dict[str, uuid.UUID] = dict(by_email)
        holder_of_e164: dict[str, uuid.UUID] = dict(by_e164)
        record_of: dict[uuid.UUID, int] = {}
        for index, record in enumerate(records):
            if record.fields is None:
                plan.items.append(
                    ImportItem(
                        index=index, status="failed", name=record.name, detail=record.error, dropped=record.dropped
                    )
                )
                continue
            fields = dict(record.fields)
            dropped = list(record.dropped)
            record_emails, record_numbers = _keys(fields)
            matches = [holder_of_email[address] for address in record_emails if address in holder_of_email]
            matches += [holder_of_e164[number] for number in record_numbers if number in holder_of_e164]
            shared = [a for a in record_emails if a in holder_of_email] + [
                n for n in record_numbers if n in holder_of_e164
            ]
            target = matches[0] if matches else None
            if target is not None and on_duplicate == "skip":
                earlier = record_of.get(target)
                what = f"record {earlier} of this file" if earlier is not None else "an existing contact"
                plan.items.append(
                    ImportItem(
                        index=index,
                        status="skipped",
                        id=target,
                        name=record.name,
                        detail=f"A duplicate of {what}: both have {quoted(shared[0])}",
                        dropped=dropped,
                    )
                )
                continue
            if target is None or on_duplicate == "create":
                contact_id = uuid7()
                fields["emails"] = _without_taken(fields["emails"], holder_of_email, contact_id, dropped)
                plan.new[contact_id] = with_primaries(
                    Contact(**fields, id=contact_id, owner_id=self.owner_id, created_at=now, updated_at=now)
                )
                record_of[contact_id] = index
                kept_emails = plan.new[contact_id].emails
                status: ImportStatus = "created"
                name = record.name
            else:
                contact_id = target
                base = plan.new.get(contact_id) or plan.merged.get(contact_id) or current[contact_id]
                changes = _merged(base, fields, dropped)
                changes["emails"] = _without_taken(changes["emails"], holder_of_email, contact_id, dropped)
                merged = with_primaries(msgspec.structs.replace(base, **changes))
                if contact_id in plan.new:
                    plan.new[contact_id] = merged
                else:
                    plan.merged[contact_id] = merged
                    plan.stored.setdefault(contact_id, current[contact_id])
                kept_emails = merged.emails
                status = "updated"
                name = " ".join(part for part in (merged.first_name, merged.last_name) if part)
            for entry in kept_emails:
                holder_of_email[entry.value] = contact_id
            for number in record_numbers:
                holder_of_e164.setdefault(number, contact_id)
            plan.items.append(ImportItem(index=index, status=status, id=contact_id, name=name, dropped=dropped))
        return plan

    async def _store(self, plan: _Plan) -> bool:
        """Whether the whole plan was stored: False when a contact to update is gone meanwhile."""
        await self.contacts.add_contacts(list(plan.new.values()))
        now = datetime.datetime.now(datetime.UTC)
        # In id order, so that two transactions updating the same contacts cannot deadlock.
        return await self.contacts.update_contacts(plan.changed(), fields=_MERGED_FIELDS, now=now)


async def book_pages(
    new_session: Callable[[], AbstractAsyncContextManager[AsyncSession]],
    *,
    owner_id: uuid.UUID,
    tag: str | None,
    first: list[Contact],
) -> AsyncIterator[list[Contact]]:
    """The book (or the contacts with `tag`) in pages of EXPORT_PAGE_SIZE, in id order, from the
    `first` page on. Each further page is read in a session of its own, closed before the page is
    handed on: a slow client holds no connection and no transaction open."""
    page = first
    while page:
        yield page
        if len(page) < EXPORT_PAGE_SIZE:
            return
        async with new_session() as session:
            page = await ContactRepository(session=session, owner_id=owner_id).export_page(after=page[-1].id, tag=tag)


def _without_taken(
    emails: list[Any], holder_of_email: dict[str, uuid.UUID], contact_id: uuid.UUID, dropped: list[str]
) -> list[Any]:
    """`emails` less those already on another contact (an address is on one contact only), each named in `dropped`."""
    kept = []
    for entry in emails:
        holder = holder_of_email.get(entry.value)
        if holder is not None and holder != contact_id:
            dropped.append(f"EMAIL {quoted(entry.value)}: already on another of your contacts")
            continue
        kept.append(entry)
    return kept


def _merged(contact: Contact, fields: dict[str, Any], dropped: list[str]) -> dict[str, Any]:
    """What `on_duplicate=update` makes of `contact` with a record's `fields`: the record's name
    (its family name only when it has one) and each single field it has a value for; its emails,
    phones, addresses and tags added to the contact's, those already there not twice, up to the
    model's maxima (the rest named in `dropped`); a favourite stays one. Nothing is taken away."""
    changes: dict[str, Any] = {"first_name": fields["first_name"]}
    if fields.get("last_name"):
        changes["last_name"] = fields["last_name"]
    changes.update({name: fields[name] for name in _SINGLE_FIELDS if fields.get(name)})
    changes["favorite"] = contact.favorite or bool(fields.get("favorite"))
    changes["emails"] = _added(
        contact.emails, fields["emails"], lambda entry: entry.value, MAX_EMAILS, "EMAIL", dropped
    )
    changes["phones"] = _added(
        contact.phones, fields["phones"], lambda entry: entry.e164 or entry.value, MAX_PHONES, "TEL", dropped
    )
    changes["addresses"] = _added(
        contact.addresses, fields["addresses"], msgspec.structs.astuple, MAX_ADDRESSES, "ADR", dropped
    )
    changes["tags"] = _added(contact.tags, fields["tags"], tag_key, MAX_TAGS, "CATEGORIES", dropped)
    return changes


def _added(
    kept: list[Any], new: list[Any], key: Callable[[Any], Any], most: int, what: str, dropped: list[str]
) -> list[Any]:
    """`kept` and then each of `new` whose key is not there yet, up to `most` entries."""
    entries = list(kept)
    seen = {key(entry) for entry in entries}
    for entry in new:
        if key(entry) in seen:
            continue
        if len(entries) == most:
            dropped.append(f"{what} {quoted(str(getattr(entry, 'value', entry)))}: the contact has {most} already")
            continue
        entries.append(entry)
        seen.add(key(entry))
    return entries


def _report(plan: _Plan, *, dry_run: bool) -> ImportReport:
    counts = dict.fromkeys(("created", "updated", "skipped", "failed"), 0)
    items = plan.items
    for item in items:
        counts[item.status] += 1
    if dry_run:
        items = [msgspec.structs.replace(item, id=None) if item.status == "created" else item for item in items]
    return ImportReport(**counts, dry_run=dry_run, items=items)


def render_vcards(contacts: list[Contact], version: VCardVersion) -> str:
    return "".join(contact_as_vcard(contact, version) for contact in contacts)


def render_csv(contacts: list[Contact]) -> str:
    return "".join(csv_lines(contact_as_google_csv_row(contact) for contact in contacts))


async def rendered(pages: AsyncIterator[list[Contact]], render: Callable[[list[Contact]], str]) -> AsyncIterator[bytes]:
    """Each page rendered off the event loop (vobject writes a few thousand cards a second)."""
    async for page in pages:
        yield (await anyio.to_thread.run_sync(render, page)).encode()


def csv_header_line() -> str:
    return "".join(csv_lines([google_csv_header()]))
