"""Contacts to vCard 4.0 (RFC 6350) or vCard 3.0 (RFC 2426) text, one card per contact.

`contact_as_vcard(contact, version)` is one `BEGIN:VCARD` … `END:VCARD` block: UTF-8 text, CRLF
line ends, content lines folded at 75 octets without splitting a multi-byte character (RFC 6350
§3.2, RFC 2426 §2.6). `contact_as_vcard_bytes` is the same card already UTF-8 encoded, what a
streamed export sends. What vcard_reader reads back, property by property:

    BEGIN:VCARD
    VERSION:4.0                               (3.0 for version "3.0")
    UID:urn:uuid:<id>                         (3.0: the bare uuid)
    FN:<first> <last>                         (the first name alone without a last name)
    N:<last>;<first>;;;
    EMAIL;TYPE=work:<value>                   one per email
    item1.TEL:<value>                         one per phone, as stored (a text value)
    item1.X-ABLabel:<label>                   a label that is no well-known TYPE, exactly as stored
    ADR;TYPE=home:;;<street>;<city>;<region>;<postal code>;<country>
    ORG:<organization>                        one component: a `,` or `;` in it is escaped
    TITLE:<job title>
    BDAY:19061209 or BDAY:--1209              (3.0: 1906-12-09, or BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-09)
    NOTE:<notes>
    CATEGORIES:<tag>,<tag>
    X-CONTACTS-API-FAVORITE:TRUE              when starred (an x-name, RFC 6350 §6.10)
    REV:20261201T101500Z                      updated_at (3.0: 2026-12-01T10:15:00Z)
    END:VCARD

A label that is exactly one of the well-known lower-case names (`LABEL_TYPES`) is written as
TYPE; any other label as Apple writes one, a group: the property and an `X-ABLabel` carrying the
label, both prefixed `itemN.` (numbered per card). No label, no TYPE.

vobject does the encoding: text values are escaped by its `backslashEscape` (`\\`, `,`, `;`, line
breaks as `\\n`), structured values (N, ADR) joined by its `vcard.serializeFields`, parameter values
quoted by its `dquoteEscape`, and each content line folded by its `foldOneLine` (with the line's
length measured in octets, which foldOneLine itself gets wrong: see `_LengthInOctets`). What this
module skips is vobject's object model: a `vCard().add(...)` card costs a `ContentLine` per property
(whose every attribute goes through a Python `__setattr__`), behaviour lookups, validation, an
encode-then-decode of each value and a `StringIO` per line on serialisation (and it sorts the
properties by name, taking an `X-ABLabel` away from its property). Measured on one core with a
realistic contact (2 emails, 2 phones, 1 address, organization, title, birthday, a 26-character
note, 2 tags, favorite): the high-level API 2,600 to 3,500 cards a second, this module 70,000;
31,000 when the note is 85 characters (one folded line). Folding is where long text costs:
foldOneLine walks a folded line one character at a time (0.15 µs each), so a 2,000-character note
(the maximum) takes 300 µs and such cards go out at 2,500 a second.
"""

from __future__ import annotations

import datetime
import io
import itertools
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import Literal, cast

# vobject ships neither type hints nor a py.typed marker: the functions used are typed below.
import vobject.base  # type: ignore[import-untyped]
import vobject.vcard  # type: ignore[import-untyped]

from contacts_api.contacts.schemas import Contact

VCardVersion = Literal["4.0", "3.0"]

# text/vcard is registered by RFC 6350 §10.1; 3.0 files go out under it too (clients no longer look
# for RFC 2425's text/directory), always in UTF-8: Litestar adds `; charset=utf-8` to any text/ type
# it sends, so the constant is the bare type (with the parameter here, the header would carry it twice).
VCARD_MEDIA_TYPE = "text/vcard"
LINE_LENGTH = 75  # octets, excluding the CRLF (RFC 6350 §3.2, RFC 2426 §2.6)
FAVORITE_PROPERTY = "X-CONTACTS-API-FAVORITE"
LABEL_PROPERTY = "X-ABLabel"  # Apple's custom label, on a group shared with the property it names
# Apple's year for a birthday without one (a leap year, so --02-29 fits), flagged by X-APPLE-OMIT-YEAR.
APPLE_OMITTED_YEAR = "1604"

# The well-known labels, written as TYPE values, per property. A label not listed (also "other",
# "main", or "Mobile" in another case) goes out as an X-ABLabel group, which the reader keeps exactly.
LABEL_TYPES: dict[str, dict[str, tuple[str, ...]]] = {
    "EMAIL": {"home": ("home",), "work": ("work",)},
    "TEL": {
        "mobile": ("cell",),
        "home": ("home",),
        "work": ("work",),
        "fax": ("fax",),
        "pager": ("pager",),
        "home fax": ("home", "fax"),
        "work fax": ("work", "fax"),
    },
    "ADR": {"home": ("home",), "work": ("work",)},
}

# vobject's encoders: a text value's escaping, a parameter value's quoting, a structured value's
# parts escaped and joined by `;`, and a content line's folding (written to a sink, with CRLF).
escape = cast("Callable[[str], str]", vobject.base.backslashEscape)
quote_parameter = cast("Callable[[str], str]", vobject.base.dquoteEscape)
structured = cast("Callable[[list[str]], str]", vobject.vcard.serializeFields)
fold = cast("Callable[[_Sink | io.StringIO, str, int], None]", vobject.base.foldOneLine)


def _type_parameters(property_name: str) -> dict[str, str]:
    """`label → ";TYPE=cell"`, built once: the same few parameter strings on every card."""
    return {
        label: ";TYPE=" + ",".join(quote_parameter(value) for value in values)
        for label, values in LABEL_TYPES[property_name].items()
    }


EMAIL_TYPES = _type_parameters("EMAIL")
PHONE_TYPES = _type_parameters("TEL")
ADDRESS_TYPES = _type_parameters("ADR")


class _Sink:
    """Where `foldOneLine` writes the lines it leaves whole: a list's `append`.

    For such a line foldOneLine writes `bytes` (the line, then CRLF). A `StringIO` refuses them
    and vobject falls back to text after catching the TypeError, twice a line: 1 µs against
    0.3 µs into a list.
    """

    __slots__ = ("write",)
    write: Callable[[bytes], None]

    def __init__(self, parts: list[bytes]) -> None:
        self.write = parts.append


class _LengthInOctets(str):
    """A content line whose `len()` is its length in UTF-8 octets.

    vobject's foldOneLine decides whether a line needs folding by `len(line) < 75`, characters
    against a limit in octets: a NOTE of 60 "é" (125 octets) would go out on one line. Its
    folding loop itself counts octets and keeps each character whole, so correcting the measure
    is enough. Used for non-ASCII lines only, where characters and octets differ.
    """

    __slots__ = ()

    def __len__(self) -> int:
        return len(self.encode())


def _folded(lines: Iterable[str]) -> bytes:
    """`lines` (whole content lines, no line ends) folded by vobject, each ended by CRLF, as UTF-8."""
    parts: list[bytes] = []
    sink = _Sink(parts)
    for line in lines:
        measured = line if line.isascii() else _LengthInOctets(line)
        # foldOneLine's own test: below the limit it writes the line whole, as bytes, into the list.
        if len(measured) < LINE_LENGTH:
            fold(sink, measured, LINE_LENGTH)
        else:
            # Folding, it writes each character as text (and tries bytes at each fold): into a
            # StringIO those are C-level writes, where a list would need each character encoded.
            text = io.StringIO()
            fold(text, measured, LINE_LENGTH)
            parts.append(text.getvalue().encode())
    return b"".join(parts)


# Every card's first and last lines, folded once.
_HEAD = {version: _folded(("BEGIN:VCARD", f"VERSION:{version}")) for version in ("4.0", "3.0")}
_TAIL = _folded(("END:VCARD",))


def _birthday(birthday: str, version: VCardVersion) -> str:
    """The BDAY line of a stored birthday (`YYYY-MM-DD` or `--MM-DD`).

    4.0 (RFC 6350 §4.3.1, ISO 8601 basic form): `19061209`, year-less `--1209`. 3.0 has no
    year-less date (RFC 2426 §3.1.5): `1906-12-09`, and year-less as Apple writes it, a leap year
    flagged by X-APPLE-OMIT-YEAR, which vcard_reader (like Apple's and Google's) reads as --MM-DD.
    """
    if birthday.startswith("--"):
        if version == "4.0":
            return f"BDAY:--{birthday[2:4]}{birthday[5:7]}"
        return f"BDAY;X-APPLE-OMIT-YEAR={APPLE_OMITTED_YEAR}:{APPLE_OMITTED_YEAR}{birthday[1:]}"
    if version == "4.0":
        return "BDAY:" + birthday.replace("-", "")
    return "BDAY:" + birthday


def _revision(updated_at: datetime.datetime, version: VCardVersion) -> str:
    """REV in UTC, to the second: 4.0's timestamp `20261201T101500Z` (RFC 6350 §4.3.5), 3.0's ISO
    8601 extended form `2026-12-01T10:15:00Z` (RFC 2426 §3.6.4). A naive time is taken as UTC."""
    moment = updated_at.astimezone(datetime.UTC) if updated_at.tzinfo is not None else updated_at
    return moment.strftime("REV:%Y%m%dT%H%M%SZ" if version == "4.0" else "REV:%Y-%m-%dT%H:%M:%SZ")


def _labelled(
    name: str, value: str, label: str | None, types: Mapping[str, str], groups: Iterator[int]
) -> Iterator[str]:
    """One EMAIL, TEL or ADR line with its label: none, a well-known TYPE parameter, or else a
    group of its own (`itemN.`) with an X-ABLabel carrying the label exactly."""
    if label is None:
        yield f"{name}:{value}"
    elif (parameters := types.get(label)) is not None:
        yield f"{name}{parameters}:{value}"
    else:
        group = next(groups)
        yield f"item{group}.{name}:{value}"
        yield f"item{group}.{LABEL_PROPERTY}:{escape(label)}"


def contact_lines(contact: Contact, version: VCardVersion = "4.0") -> Iterator[str]:
    """The content lines of `contact`'s card between VERSION and END, unfolded, values escaped.

    Properties in a fixed order; groups `item1`, `item2`… in order of appearance. An empty or
    absent optional value writes no property.
    """
    uid = contact.id
    yield f"UID:urn:uuid:{uid}" if version == "4.0" else f"UID:{uid}"
    first, last = contact.first_name, contact.last_name
    yield "FN:" + escape(f"{first} {last}" if last else first)
    yield "N:" + structured([last, first, "", "", ""])
    groups = itertools.count(1)  # Apple's itemN groups, numbered per card
    for email in contact.emails:
        yield from _labelled("EMAIL", escape(email.value), email.label, EMAIL_TYPES, groups)
    for phone in contact.phones:
        yield from _labelled("TEL", escape(phone.value), phone.label, PHONE_TYPES, groups)
    for address in contact.addresses:
        # ADR's seven parts (RFC 6350 §6.3.1): post office box and extended address stay empty.
        parts = [address.street, address.city, address.region, address.postal_code, address.country]
        value = structured(["", "", *(part or "" for part in parts)])
        yield from _labelled("ADR", value, address.label, ADDRESS_TYPES, groups)
    if contact.organization:
        # One component (organizational units would follow after `;`): the whole name escaped.
        yield "ORG:" + escape(contact.organization)
    if contact.job_title:
        yield "TITLE:" + escape(contact.job_title)
    if contact.birthday:
        yield _birthday(contact.birthday, version)
    if contact.notes:
        yield "NOTE:" + escape(contact.notes)
    if contact.tags:
        # What vobject's MultiTextBehavior writes: each value escaped (a comma in a tag too), joined by commas.
        yield "CATEGORIES:" + ",".join(escape(tag) for tag in contact.tags)
    if contact.favorite:
        yield f"{FAVORITE_PROPERTY}:TRUE"
    yield _revision(contact.updated_at, version)


def contact_as_vcard_bytes(contact: Contact, version: VCardVersion = "4.0") -> bytes:
    """`contact` as one vCard of `version`, UTF-8 encoded (see the module docstring for the lines)."""
    return _HEAD[version] + _folded(contact_lines(contact, version)) + _TAIL


def contact_as_vcard(contact: Contact, version: VCardVersion = "4.0") -> str:
    """`contact` as one vCard of `version`: `BEGIN:VCARD` … `END:VCARD\\r\\n`, CRLF line ends,
    folded at 75 octets (RFC 6350 §3.2 for 4.0, RFC 2426 §2.6 for 3.0)."""
    return contact_as_vcard_bytes(contact, version).decode()
