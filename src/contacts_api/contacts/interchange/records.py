"""One record of an imported file, as read, and the one mapping from it to a contact.

A reader (vcard_reader, csv_reader) turns a card or a CSV row into a `ReadRecord`: the values in
the contact's terms but unchecked, plus the names of what it could not keep (`dropped`: `PHOTO`,
`URL`, a CSV column). `contact_fields` then applies the contact's rules value by value (the
contract's "a value that breaks a field's rule is left out of its contact and named in
`dropped`"), picks `first_name` by the contract's fallbacks, and hands the rest to
`ContactRules.stored_fields`, the same rules the JSON routes apply.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

import msgspec
from litestar.exceptions import ValidationException

from contacts_api.contacts.schemas import (
    MAX_ADDRESSES,
    MAX_EMAILS,
    MAX_PHONES,
    MAX_TAGS,
    Contact,
    EmailEntry,
    PhoneEntryWrite,
    PostalAddress,
)
from contacts_api.contacts.service import ContactRules, checked_birthday
from contacts_api.text import nfc, tag_key
from contacts_api.validation import normalize_email

MAX_NAME_LENGTH = 100
MAX_TEXT_LENGTH = 200  # organization, job title, each part of an address
MAX_NOTES_LENGTH = 2000
MAX_LABEL_LENGTH = MAX_TAG_LENGTH = 40
# How much of a left-out value the report quotes.
QUOTED_LENGTH = 60


@dataclass
class LabelledValue:
    """An email or phone as read: the value, and its label (`home`, `mobile`, `Customphone`) or None."""

    value: str
    label: str | None = None


@dataclass
class AddressParts:
    """A postal address as read (vCard ADR, or a CSV layout's address columns)."""

    label: str | None = None
    street: str | None = None
    city: str | None = None
    region: str | None = None
    postal_code: str | None = None
    country: str | None = None


@dataclass
class ReadRecord:
    """One card or CSV row as a reader found it, before any of the contact's rules.

    `given_name` is the given name with any additional names after it (vCard N's second and third
    parts); `formatted_name` is vCard FN or a CSV display name. `birthday` is `YYYY-MM-DD` or
    `--MM-DD` once the reader has understood the file's own form (`19800322`, `--0416`,
    `X-APPLE-OMIT-YEAR`), or the text as found when it could not (then it is left out and named).
    `dropped` names each property or column the reader did not keep, once, in file order
    (`PHOTO`, `URL`, `X-ABRELATEDNAMES`, `Web Page 1`); `error` says why the record could not be
    read at all (then the record is `failed`).
    """

    given_name: str = ""
    family_name: str = ""
    formatted_name: str = ""
    emails: list[LabelledValue] = field(default_factory=list)
    phones: list[LabelledValue] = field(default_factory=list)
    addresses: list[AddressParts] = field(default_factory=list)
    organization: str | None = None
    job_title: str | None = None
    birthday: str | None = None
    notes: str | None = None
    tags: list[str] = field(default_factory=list)
    favorite: bool = False
    dropped: list[str] = field(default_factory=list)
    error: str | None = None
    _named: set[str] | None = field(default=None, repr=False, compare=False)

    def drop(self, name: str) -> None:
        """Name `name` among what was not kept, once (a set remembers them: a CSV row may name
        thousands of unknown columns)."""
        if self._named is None:
            self._named = set(self.dropped)
        if name not in self._named:
            self._named.add(name)
            self.dropped.append(name)


@dataclass
class MappedRecord:
    """A record under the contact's rules: the stored fields (None when nothing readable was
    left, with `error` saying so), the name the report shows, and what was left out."""

    fields: dict[str, Any] | None
    name: str
    dropped: list[str]
    error: str | None = None


def quoted(value: str) -> str:
    """`value` as the report quotes it: on one line, at most QUOTED_LENGTH characters."""
    one_line = " ".join(value.split())
    return one_line if len(one_line) <= QUOTED_LENGTH else f"{one_line[: QUOTED_LENGTH - 1]}…"


def _fits(value: str | None, max_length: int) -> bool:
    return value is not None and "\x00" not in value and len(value) <= max_length


def _clean(value: str | None) -> str | None:
    """Trimmed NFC text, None when empty."""
    if value is None:
        return None
    value = nfc(value).strip()
    return value or None


def _label(value: str | None, dropped: list[str], what: str) -> str | None:
    label = _clean(value)
    if label is not None and not _fits(label, MAX_LABEL_LENGTH):
        dropped.append(f"{what} label {quoted(label)}: longer than {MAX_LABEL_LENGTH} characters")
        return None
    return label


def _kept_emails(record: ReadRecord, dropped: list[str]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    seen: set[str] = set()
    for entry in record.emails:
        value = _clean(entry.value)
        if value is None:
            continue
        try:
            msgspec.convert({"value": value}, EmailEntry)
        except msgspec.ValidationError:
            dropped.append(f"EMAIL {quoted(value)}: not an email address")
            continue
        address = normalize_email(value)
        if address in seen:
            continue  # the same address twice on one card is one address
        if len(kept) == MAX_EMAILS:
            dropped.append(f"EMAIL {quoted(address)}: more than {MAX_EMAILS} emails")
            continue
        seen.add(address)
        kept.append({"value": address, "label": _label(entry.label, dropped, "EMAIL")})
    return kept


def _kept_phones(record: ReadRecord, dropped: list[str]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for entry in record.phones:
        value = _clean(entry.value)
        if value is None:
            continue
        try:
            msgspec.convert({"value": value}, PhoneEntryWrite)
        except msgspec.ValidationError:
            dropped.append(f"TEL {quoted(value)}: not a phone number (7 to 20 digits, spaces and + - ( ) .)")
            continue
        if len(kept) == MAX_PHONES:
            dropped.append(f"TEL {quoted(value)}: more than {MAX_PHONES} phones")
            continue
        kept.append({"value": value, "label": _label(entry.label, dropped, "TEL")})
    return kept


def _kept_addresses(record: ReadRecord, dropped: list[str]) -> list[dict[str, Any]]:
    kept: list[dict[str, Any]] = []
    for address in record.addresses:
        parts = {name: _clean(getattr(address, name)) for name in PostalAddress.__struct_fields__ if name != "label"}
        # An address of nothing but a label is kept: the API stores one, and exports write it.
        if all(part is None for part in parts.values()) and _clean(address.label) is None:
            continue
        too_long = [name for name, part in parts.items() if part is not None and not _fits(part, MAX_TEXT_LENGTH)]
        shown = quoted(", ".join(part for part in parts.values() if part))
        if too_long:
            dropped.append(f"ADR {shown}: {too_long[0]} longer than {MAX_TEXT_LENGTH} characters")
            continue
        if len(kept) == MAX_ADDRESSES:
            dropped.append(f"ADR {shown}: more than {MAX_ADDRESSES} addresses")
            continue
        kept.append({"label": _label(address.label, dropped, "ADR"), **parts})
    return kept


def _kept_text(
    value: str | None, max_length: int, dropped: list[str], what: str, *, trimmed: bool = True
) -> str | None:
    """`value` (trimmed, unless `trimmed=False`: a note keeps its indentation), None when it is
    blank or longer than `max_length` (then named in `dropped`)."""
    text = _clean(value) if trimmed else (nfc(value) if value is not None and value.strip() else None)
    if text is not None and not _fits(text, max_length):
        dropped.append(f"{what} {quoted(text)}: longer than {max_length:,} characters")
        return None
    return text


def _kept_tags(record: ReadRecord, dropped: list[str]) -> list[str]:
    kept: dict[str, str] = {}
    for tag in record.tags:
        name = _clean(tag)
        if name is None or tag_key(name) in kept:
            continue
        if not _fits(name, MAX_TAG_LENGTH):
            dropped.append(f"CATEGORIES {quoted(name)}: longer than {MAX_TAG_LENGTH} characters")
            continue
        if len(kept) == MAX_TAGS:
            dropped.append(f"CATEGORIES {quoted(name)}: more than {MAX_TAGS} tags")
            continue
        kept[tag_key(name)] = name
    return list(kept.values())


def _kept_birthday(value: str | None, today: datetime.date, dropped: list[str]) -> str | None:
    birthday = _clean(value)
    if birthday is None:
        return None
    try:
        return checked_birthday(birthday, today)
    except ValidationException as exc:
        reason = (exc.extra or [{}])[0].get("message", "not a birthday") if isinstance(exc.extra, list) else ""
        dropped.append(f"BDAY {quoted(birthday)}: {reason}")
        return None


def _first_name(record: ReadRecord, fields: dict[str, Any], dropped: list[str]) -> str | None:
    """The contract's order: the given name, else FN, else the organization, else the first
    email or phone; past the contract, the family name alone, rather than fail a record that has one."""
    candidates = [
        record.given_name,
        record.formatted_name,
        fields.get("organization"),
        *(entry["value"] for entry in fields["emails"][:1]),
        *(entry["value"] for entry in fields["phones"][:1]),
        record.family_name,
    ]
    for candidate in candidates:
        name = _clean(candidate)
        if name is None:
            continue
        if _fits(name, MAX_NAME_LENGTH):
            return name
        dropped.append(f"name {quoted(name)}: longer than {MAX_NAME_LENGTH} characters")
    return None


def _without_family_name(formatted: str, family: str) -> str:
    """The first name in a formatted name that holds the family name too (`N:Doe;;;;` with
    `FN:John Doe` is John, not "John Doe Doe"): FN less the family name at its end or, in
    family-first order, at its start; FN itself when that leaves nothing."""
    if formatted.endswith(" " + family):
        return formatted[: -len(family)].strip()
    if formatted.startswith(family + " "):
        return formatted[len(family) :].strip()
    return formatted


def display_name(fields: dict[str, Any]) -> str:
    return " ".join(part for part in (fields.get("first_name"), fields.get("last_name")) if part)


def contact_fields(record: ReadRecord, rules: ContactRules, today: datetime.date) -> MappedRecord:
    """The stored fields of a new contact made of `record`, with every value that breaks the
    contact's rules left out and named, or `fields=None` with an `error` when nothing readable
    is left (or the reader could not read the record)."""
    dropped = list(record.dropped)
    if record.error is not None:
        return MappedRecord(fields=None, name=_clean(record.formatted_name) or "", dropped=dropped, error=record.error)
    fields: dict[str, Any] = {
        "emails": _kept_emails(record, dropped),
        "phones": _kept_phones(record, dropped),
        "addresses": _kept_addresses(record, dropped),
        "organization": _kept_text(record.organization, MAX_TEXT_LENGTH, dropped, "ORG"),
        "job_title": _kept_text(record.job_title, MAX_TEXT_LENGTH, dropped, "TITLE"),
        "birthday": _kept_birthday(record.birthday, today, dropped),
        "notes": _kept_text(record.notes, MAX_NOTES_LENGTH, dropped, "NOTE", trimmed=False),
        "tags": _kept_tags(record, dropped),
        "favorite": record.favorite,
    }
    first_name = _first_name(record, fields, dropped)
    if first_name is None:
        return MappedRecord(
            fields=None,
            name="",
            dropped=dropped,
            error="Nothing readable is left: no name, organization, email or phone",
        )
    family = _kept_text(record.family_name, MAX_NAME_LENGTH, dropped, "N family name")
    if family and not _clean(record.given_name) and first_name == _clean(record.formatted_name):
        first_name = _without_family_name(first_name, family)
    fields["first_name"] = first_name
    fields["last_name"] = "" if family is None or (family == first_name and not _clean(record.given_name)) else family
    stored = rules.stored_fields(fields, today=today, whole=True)
    return MappedRecord(fields=stored, name=display_name(stored), dropped=dropped)


def contact_as_record(contact: Contact) -> ReadRecord:
    """A stored contact in the readers' terms (what an export writes and a re-import reads)."""
    return ReadRecord(
        given_name=contact.first_name,
        family_name=contact.last_name,
        formatted_name=display_name({"first_name": contact.first_name, "last_name": contact.last_name}),
        emails=[LabelledValue(entry.value, entry.label) for entry in contact.emails],
        phones=[LabelledValue(entry.value, entry.label) for entry in contact.phones],
        addresses=[AddressParts(**msgspec.structs.asdict(address)) for address in contact.addresses],
        organization=contact.organization,
        job_title=contact.job_title,
        birthday=contact.birthday,
        notes=contact.notes,
        tags=list(contact.tags),
        favorite=contact.favorite,
    )
