"""The rules of one user's address book.

A service is built for one owner and never sees another's rows: its repository is bound to that
owner (see repository.py), and no method here takes an owner.

What a client sends becomes a stored contact here (`ContactRules.stored_fields`): text in NFC,
names, labels and tags trimmed, emails lower-cased and unique within the contact, tags
de-duplicated case-insensitively, each phone's E.164 form derived, the birthday checked, and the
version 1 fields `email` and `phone` turned into the lists' first entries.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Any, NoReturn

import msgspec
from advanced_alchemy.exceptions import RepositoryError
from litestar.dto import DTOData
from litestar.exceptions import NotFoundException, ServiceUnavailableException
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession
from uuid_utils.compat import uuid7

from contacts_api.clock import Clock
from contacts_api.conditional import EntityTags
from contacts_api.contacts.phones import e164_of
from contacts_api.contacts.repository import ContactRepository
from contacts_api.contacts.schemas import (
    ChangesPage,
    Contact,
    ContactChange,
    ContactFilters,
    ContactSort,
    EmailEntry,
    PhoneEntry,
    TagCount,
    UpcomingBirthday,
    etag_of,
    primaries,
    version_in,
)
from contacts_api.contacts.sync import (
    TOMBSTONE_GRACE,
    ChangeCursor,
    ChangeFeed,
    MalformedCursorError,
    oldest_honoured_issue,
)
from contacts_api.errors import ConflictError, GoneError, PreconditionFailedError, is_unique_violation
from contacts_api.text import nfc, tag_key
from contacts_api.validation import converted_fields, invalid_field, normalize_email

NOT_FOUND = "Contact not found"
DUPLICATE_EMAIL = "You already have a contact with this email"
CONTACT_RULES_STATE_KEY = "contact_rules"
# PostgreSQL (through asyncpg) would store 0001-01-01 as -infinity; no birthday in an address book
# is that old, so the range starts at the year 1000.
EARLIEST_BIRTHDAY_YEAR = 1000
_DATED_BIRTHDAY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_YEARLESS_BIRTHDAY = re.compile(r"--([0-9]{2})-([0-9]{2})")
_LEAP_YEAR = 2000  # a year-less --02-29 is a real month and day
# The version 1 field, and the list it is the first entry of.
PRIMARY_FIELDS = {"email": "emails", "phone": "phones"}
PATCH_ATTEMPTS = 3  # compare-and-set rounds of a PATCH of `email`/`phone` before a 503
ENTRY_TYPES: dict[str, type[EmailEntry] | type[PhoneEntry]] = {"emails": EmailEntry, "phones": PhoneEntry}
CHANGED_SINCE = (
    "If-Match names no current version of the contact (it was changed since, or the tag is not one of its"
    " ETags, sent exactly as received): its current ETag is in the ETag header; read it again, then retry"
)
FOREIGN_CURSOR = (
    "This cursor is ahead of this address book (another book's?): sync again from the start, without a cursor"
)
EXPIRED_CURSOR = "This cursor is older than the deletions the server keeps: sync again from the start, without a cursor"


def if_match_versions(if_match: EntityTags | None) -> frozenset[int] | None:
    """The versions an `If-Match` allows (strong comparison, RFC 9110 §13.1.1), or None for no
    condition beyond existence (no header, or `*`). A tag this service never wrote allows none."""
    if if_match is None or if_match.any:
        return None
    # Either representation's tag names the version: a client that holds the vCard may write JSON.
    return frozenset(version for opaque in if_match.strong_opaque_tags() if (version := version_in(opaque)) is not None)


def nfc_everywhere(value: Any) -> Any:
    """`value` (builtins) with every string in NFC, inside lists and objects too."""
    if isinstance(value, str):
        return nfc(value)
    if isinstance(value, list):
        return [nfc_everywhere(item) for item in value]
    if isinstance(value, dict):
        return {key: nfc_everywhere(item) for key, item in value.items()}
    return value


def checked_birthday(value: str, today: datetime.date) -> str:
    """A birthday as sent, if it is a real date from the year 1000 up to `today`, or a real
    month and day without the year (RFC 6350 §4.3.1's `--MMDD`, written `--MM-DD`)."""
    if yearless := _YEARLESS_BIRTHDAY.fullmatch(value):
        try:
            datetime.date(_LEAP_YEAR, int(yearless[1]), int(yearless[2]))
        except ValueError:
            raise invalid_field("birthday", f"{value} is not a month and day of the calendar") from None
        return value
    if not _DATED_BIRTHDAY.fullmatch(value):
        raise invalid_field("birthday", "A birthday is a date YYYY-MM-DD or, without the year, --MM-DD")
    try:
        date = datetime.date.fromisoformat(value)
    except ValueError:
        raise invalid_field("birthday", f"{value} is not a date of the calendar") from None
    if date > today:
        raise invalid_field("birthday", "The birthday cannot be in the future")
    if date.year < EARLIEST_BIRTHDAY_YEAR:
        raise invalid_field("birthday", f"The birthday cannot be before the year {EARLIEST_BIRTHDAY_YEAR}")
    return value


@dataclass(frozen=True)
class ContactRules:
    """What makes sent fields a stored contact; the same for the API and (later) imports."""

    default_phone_region: str
    # Days a deletion stays in the changes feed, and a cursor is honoured (sync.py).
    tombstone_days: int = 30

    def stored_fields(
        self, sent: dict[str, Any], *, today: datetime.date, whole: bool, current: Contact | None = None
    ) -> dict[str, Any]:
        """The fields a client sent (builtins, or structs a DTO decoded; absent ones left out or
        UNSET), checked against the entity's rules and in stored form.

        `email` and `phone` become the lists' first entries: on a `whole` contact `email: "a@b.c"`
        is `emails: [{value: "a@b.c"}]` (and absent lists are empty); on a change of `current`,
        it replaces the first entry's value (keeping its label) or adds one, and null removes the
        first entry. Sending both `email` and `emails` (or `phone` and `phones`) is a 400.
        """
        sent = {name: value for name, value in sent.items() if value is not msgspec.UNSET}
        builtins = nfc_everywhere(msgspec.to_builtins(sent))
        # A PATCH's entries arrive as sent (dto.EntityDTO.field_types): the read-only part of a
        # phone is refused here, as the whole views' decoding refuses it.
        if any(isinstance(entry, dict) and "e164" in entry for entry in builtins.get("phones") or ()):
            raise invalid_field("phones", "`e164` is read-only: the server derives it from `value`")
        fields = converted_fields(Contact, builtins)
        for primary, entries in PRIMARY_FIELDS.items():
            if primary not in fields:
                if whole and entries not in fields:
                    fields[entries] = []
                continue
            value = fields.pop(primary)
            if entries in fields:
                raise invalid_field(primary, f"Send either `{primary}` or `{entries}`, not both")
            if current is None:
                fields[entries] = [] if value is None else [ENTRY_TYPES[entries](value=value)]
            else:
                fields[entries] = with_primary(current_entries(current, entries), value, ENTRY_TYPES[entries])
        for name in ("first_name", "last_name"):
            if isinstance(fields.get(name), str):
                fields[name] = fields[name].strip()
        if "emails" in fields:
            fields["emails"] = checked_emails(
                fields["emails"], "email" if isinstance(sent.get("email"), str) else "emails"
            )
        if "phones" in fields:
            named = "phone" if isinstance(sent.get("phone"), str) else "phones"
            fields["phones"] = [self.checked_phone(entry, named) for entry in fields["phones"]]
        if "tags" in fields:
            fields["tags"] = unique_tags(fields["tags"])
        if isinstance(fields.get("birthday"), str):
            fields["birthday"] = checked_birthday(fields["birthday"], today)
        return fields

    def checked_phone(self, entry: PhoneEntry, field: str = "phones") -> PhoneEntry:
        # msgspec matches patterns with re.search, whose `$` also accepts a final newline.
        if "\n" in entry.value:
            raise invalid_field(field, "A phone number cannot contain a line break")
        return PhoneEntry(
            value=entry.value,
            label=trimmed_label(entry.label),
            e164=e164_of(entry.value, self.default_phone_region),
        )


def current_entries(contact: Contact, name: str) -> list[Any]:
    return list(getattr(contact, name))


def with_primary(entries: list[Any], value: str | None, entry_type: type[EmailEntry] | type[PhoneEntry]) -> list[Any]:
    """`entries` with the first one's value replaced by `value` (added if there is none), or
    without the first one when `value` is None."""
    if value is None:
        return entries[1:]
    if not entries:
        return [entry_type(value=value)]
    return [msgspec.structs.replace(entries[0], value=value), *entries[1:]]


def trimmed_label(label: str | None) -> str | None:
    return None if label is None else label.strip()


def checked_emails(entries: list[EmailEntry], field: str = "emails") -> list[EmailEntry]:
    """Lower-cased, labels trimmed; one address twice in one contact is a 400 naming `field`."""
    seen: set[str] = set()
    checked = []
    for entry in entries:
        address = normalize_email(entry.value)
        if address in seen:
            raise invalid_field(field, f"{address} is given twice")
        seen.add(address)
        checked.append(EmailEntry(value=address, label=trimmed_label(entry.label)))
    return checked


def unique_tags(tags: list[str]) -> list[str]:
    """Trimmed, and each tag once, compared case-insensitively, as first given."""
    unique: dict[str, str] = {}
    for tag in tags:
        unique.setdefault(tag_key(tag.strip()), tag.strip())
    return list(unique.values())


class ContactService:
    def __init__(self, db_session: AsyncSession, *, owner_id: uuid.UUID, clock: Clock, rules: ContactRules) -> None:
        self.session = db_session
        self.contacts = ContactRepository(session=db_session, owner_id=owner_id)
        self.owner_id = owner_id
        self.clock = clock
        self.rules = rules

    def today(self) -> datetime.date:
        return self.clock().date()

    async def create_contact(self, data: DTOData[Contact]) -> Contact:
        sent = data.as_builtins()
        fields = self.rules.stored_fields(sent, today=self.today(), whole=True)
        now = datetime.datetime.now(datetime.UTC)
        contact = with_primaries(Contact(**fields, id=uuid7(), owner_id=self.owner_id, created_at=now, updated_at=now))
        try:
            return await self.contacts.add_contact(contact)
        except (SQLAlchemyError, RepositoryError) as exc:
            await self.raise_if_duplicate(exc, contact.id, contact.emails, sent)
            raise

    async def get_contact(self, contact_id: uuid.UUID) -> Contact:
        contact = await self.contacts.get_contact(contact_id)
        if contact is None:
            # The same answer whether the id does not exist or belongs to someone else.
            raise NotFoundException(detail=NOT_FOUND)
        return contact

    async def replace_contact(
        self, contact_id: uuid.UUID, data: DTOData[Contact], if_match: EntityTags | None = None
    ) -> Contact:
        """Every writable field, as a create would set it: absent optional fields are cleared.
        With `if_match` (RFC 9110 §13.1.1), only if the contact is still at one of its versions:
        else PreconditionFailedError (412) carrying the current ETag, and nothing changes."""
        sent = data.as_builtins()
        fields = self.rules.stored_fields(sent, today=self.today(), whole=True)
        return await self._change(contact_id, sent, fields, versions=if_match_versions(if_match))

    async def patch_contact(
        self, contact_id: uuid.UUID, data: DTOData[Contact], if_match: EntityTags | None = None
    ) -> Contact:
        """Only the fields the client sent (a partial DTO leaves out the others); `if_match` as
        for replace_contact.

        A change of `email` or `phone` is computed from the current lists, and written only if
        they are still those (a compare-and-set, also where no row lock exists, as on SQLite);
        a concurrent change of them makes it start again from the new lists. (The book's lock,
        taken first, already keeps the owner's other writers out; the compare-and-set stays
        as the statement's own guarantee.)"""
        sent = data.as_builtins()
        versions = if_match_versions(if_match)
        changed_lists = {PRIMARY_FIELDS[name] for name in PRIMARY_FIELDS.keys() & sent.keys()}
        if not changed_lists:
            fields = self.rules.stored_fields(sent, today=self.today(), whole=False)
            return await self._change(contact_id, sent, fields, versions=versions)
        # The counter's lock before the contact's row: every writer locks in that order (no deadlock).
        await self.contacts.lock_book()
        for _ in range(PATCH_ATTEMPTS):
            current = await self.contacts.get_contact(contact_id, for_update=True)
            if current is None:
                raise NotFoundException(detail=NOT_FOUND)
            if versions is not None and current.change_seq not in versions:
                raise PreconditionFailedError(detail=CHANGED_SINCE, current_etag=current.etag)
            fields = self.rules.stored_fields(sent, today=self.today(), whole=False, current=current)
            unless_changed = {name: getattr(current, name) for name in changed_lists}
            contact = await self._try_change(contact_id, sent, fields, unless_changed=unless_changed, versions=versions)
            if contact is not None:
                return contact
        raise ServiceUnavailableException(
            detail="The contact kept changing while this change was made: send it again", headers={"Retry-After": "1"}
        )

    async def delete_contact(self, contact_id: uuid.UUID, if_match: EntityTags | None = None) -> None:
        """Delete the contact, leaving a tombstone for the changes feed; `if_match` as for
        replace_contact. NotFoundException (404) when the owner has no such contact."""
        versions = if_match_versions(if_match)
        if not await self.contacts.delete_contact(contact_id, now=self.clock(), versions=versions):
            await self._raise_missing_or_changed(contact_id, versions)

    async def changes(self, cursor: str | None, *, limit: int) -> ChangesPage[ContactChange]:
        """One page of the changes feed (sync.py). Without `cursor`: the current contacts, oldest
        change first; with one: every change numbered after it, deletions included.

        Raises ValidationException (400, naming `cursor`) for a cursor this service did not
        issue, and GoneError (410) for one issued more than `tombstone_days` ago or ahead
        of the book (another account's, or a book deleted and made again): sync again without."""
        now = self.clock()
        if cursor is None:
            position = ChangeCursor(change_seq=0, issued_at=now)
        else:
            try:
                position = ChangeCursor.decode(cursor)
            except MalformedCursorError:
                raise invalid_field("cursor", "Not a cursor this service issued", source="query") from None
            if position.issued_at > now + TOMBSTONE_GRACE:
                # Issued in the future: not by this service (whose clocks may differ by less).
                raise invalid_field("cursor", "Not a cursor this service issued", source="query")
            if position.issued_at < oldest_honoured_issue(now, self.rules.tombstone_days):
                raise GoneError(detail=EXPIRED_CURSOR)
        read = await ChangeFeed(self.session, self.owner_id).read(
            after=position.change_seq, limit=limit, with_tombstones=cursor is not None
        )
        if position.change_seq > read.counter:
            raise GoneError(detail=FOREIGN_CURSOR)
        if read.has_more:
            # The rest may hold tombstones as old as the cursor it started from: keep its age.
            following = ChangeCursor(change_seq=read.seen_up_to, issued_at=position.issued_at)
        else:
            # Everything that will ever commit up to `seen_up_to` was read: what follows is newer.
            following = ChangeCursor(change_seq=read.seen_up_to, issued_at=now)
        return ChangesPage(changes=read.changes, cursor=following.encode(), has_more=read.has_more)

    async def list_contacts(
        self, filters: ContactFilters, *, sort: ContactSort, limit: int, offset: int
    ) -> tuple[list[Contact], int]:
        return await self.contacts.search(filters, sort=sort, limit=limit, offset=offset)

    async def upcoming_birthdays(self, days: int, tag: str | None = None) -> list[UpcomingBirthday]:
        return await self.contacts.upcoming_birthdays(today=self.today(), days=days, tag=tag)

    async def tag_counts(self) -> list[TagCount]:
        return await self.contacts.tag_counts()

    async def _change(
        self, contact_id: uuid.UUID, sent: dict[str, Any], fields: dict[str, Any], *, versions: frozenset[int] | None
    ) -> Contact:
        contact = await self._try_change(contact_id, sent, fields, versions=versions)
        if contact is None:
            await self._raise_missing_or_changed(contact_id, versions)
        return contact

    async def _raise_missing_or_changed(self, contact_id: uuid.UUID, versions: frozenset[int] | None) -> NoReturn:
        """After a write that matched no row: 404 if there is no such contact, else (an If-Match
        that did not match) 412 with the contact's current ETag."""
        current = None if versions is None else await self.contacts.current_version(contact_id)
        if current is None:
            raise NotFoundException(detail=NOT_FOUND)
        raise PreconditionFailedError(detail=CHANGED_SINCE, current_etag=etag_of(current))

    async def _try_change(
        self,
        contact_id: uuid.UUID,
        sent: dict[str, Any],
        fields: dict[str, Any],
        *,
        unless_changed: dict[str, Any] | None = None,
        versions: frozenset[int] | None = None,
    ) -> Contact | None:
        """Write `fields`; None for a missing contact, or for a compare-and-set (`unless_changed`,
        `versions`) that found the row changed."""
        try:
            contact = await self.contacts.update_contact(
                contact_id,
                fields,
                now=datetime.datetime.now(datetime.UTC),
                unless_changed=unless_changed,
                versions=versions,
            )
        except (SQLAlchemyError, RepositoryError) as exc:
            await self.raise_if_duplicate(exc, contact_id, fields.get("emails", []), sent)
            raise
        return contact

    async def raise_if_duplicate(
        self, exc: Exception, contact_id: uuid.UUID, emails: list[EmailEntry], sent: dict[str, Any]
    ) -> None:
        """The index table's key on (owner, address) decides duplicates, also between concurrent
        requests; once it has, the addresses already taken are looked up for the message."""
        if not is_unique_violation(exc):
            return
        await self.session.rollback()
        taken = await self.contacts.emails_taken([entry.value for entry in emails], besides=contact_id)
        field = "email" if isinstance(sent.get("email"), str) else "emails"
        message = (
            f"{', '.join(taken)}: already on another of your contacts"
            if taken
            else "One of these addresses is already on another of your contacts"
        )
        raise ConflictError(
            detail=DUPLICATE_EMAIL, extra=[{"key": field, "message": message, "source": "body"}]
        ) from None


def with_primaries(contact: Contact) -> Contact:
    """The contact with `email` and `phone` set from its lists' first entries."""
    return msgspec.structs.replace(contact, **primaries(contact.emails, contact.phones))
