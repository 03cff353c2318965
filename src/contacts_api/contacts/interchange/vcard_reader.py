"""vCard files (vCard 2.1, RFC 2426 vCard 3.0, RFC 6350 vCard 4.0) to `ReadRecord`s.

`read_vcards(data)` yields one `ReadRecord` per `BEGIN:VCARD` card, in file order and lazily.
It is lenient, as the import contract asks ("every readable record is kept, and what could not be
read is named in the report"): it raises `NotAVCardFile` or `decoding.UndecodableFile` for the
whole file and nothing else; a card it cannot read at all is a record with `error` set, and the
cards after it are still read.

The work is split in two:

1. Transfer level, here, on bytes, because that is where real files break the standards and where
   vobject cannot help: line endings (`\\r\\r\\n`, `\\r\\n`, `\\n`, `\\r`); cards (`BEGIN:VCARD` …
   `END:VCARD`, a missing END ended by the next BEGIN or the end of the file, a stray `END:` and
   any other top-level block such as SOGo's `BEGIN:VLIST` skipped); unfolding (RFC 6350 §3.2),
   including folds that lost their leading space; vCard 2.1 quoted-printable soft breaks and
   base64 blocks ended by a blank line (vCard 2.1 §2.1.3); charsets, per value, with the line's
   `CHARSET` parameter (`decoding.charset_text`); quoted-printable and base64 values decoded with
   their charset, because vobject would decode quoted-printable with a mislabelled charset and
   raise.
2. Everything inside a content line is vobject's: each logical line is parsed by
   `vobject.base.parseLine` (name, group, parameters, value) and added to a vobject `Component`
   with vCard behaviour, which unescapes text values and splits N, ADR, ORG and CATEGORIES
   (what `vobject.readComponents` does line by line, except that one line vobject cannot read
   drops only that property, and nothing is logged).

Properties the contact has no field for (PHOTO, URL, X-…) are not handed to vobject: they are
only named in `dropped`, which keeps a 40 KB photo from costing anything.

The mapping (vcard_writer's export reads back exactly through it):

- N → `family_name`; given then additional names → `given_name` (several values of one part
  joined by a space); a prefix or suffix → "N prefix" / "N suffix" in `dropped`. FN →
  `formatted_name`. Names are kept as written (the mapping step trims).
- EMAIL, TEL → `LabelledValue`s (trimmed); ADR → `AddressParts`, street = the non-empty PO box,
  extended and street parts joined by line breaks. The label: the group's `X-ABLabel` (Apple's
  `_$!<HomeFAX>!$_` as "home fax", any other text exactly), else the TYPE values (`home fax`,
  `work`, `mobile`), else None.
- The first ORG (its components joined by ", ") and TITLE; further ones → `dropped`. NOTEs joined
  by line breaks; CATEGORIES → `tags`; `X-CONTACTS-API-FAVORITE:TRUE` → `favorite`.
- BDAY → `YYYY-MM-DD` or `--MM-DD` (`_birthday`); a text or unreadable one is passed on as written
  unless a date BDAY is read too; a second BDAY of the same ALTID is the same birthday.
- Any other property → its name (upper case, no group) once in `dropped`, in file order;
  VERSION, PRODID, REV and UID never; empty properties neither kept nor named.
"""

from __future__ import annotations

import binascii
import codecs
import logging
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

from vobject.base import Component, ContentLine, getBehavior, parseLine  # type: ignore[import-untyped]

from contacts_api.contacts.interchange.decoding import (
    declared_text,
    decoded_text,
    decoded_with,
    known_codec,
    legacy_codec,
)
from contacts_api.contacts.interchange.records import AddressParts, LabelledValue, ReadRecord

logger = logging.getLogger(__name__)

# vobject registers one vCard behaviour (3.0) and uses it for every version; N, ADR, ORG and
# CATEGORIES get their own behaviours from it, every other property the text one.
_VCARD_BEHAVIOR = getBehavior("VCARD")

# A line that starts a property: `[group.]name` then `;` or `:`. Names may hold `/` (KDE's
# `X-messaging/gadu-All`), which vobject refuses: such properties are only named in dropped.
_PROPERTY_START = re.compile(rb"(?:([A-Za-z0-9_-]+)\.)?([A-Za-z][A-Za-z0-9_/-]*)[;:]")
_BOUNDARY = re.compile(rb"[ \t]*(BEGIN|END)[ \t]*:[ \t]*([A-Za-z0-9_-]*)[ \t]*", re.IGNORECASE)
_EMPTY_AGENT = re.compile(rb"(?:[A-Za-z0-9_-]+\.)?AGENT(?:;[^:]*)?:[ \t]*", re.IGNORECASE)

# Properties that become fields of the record; every other one is named in `dropped`, except
# these, which say nothing about the contact.
_USED = frozenset(
    {"N", "FN", "EMAIL", "TEL", "ADR", "ORG", "TITLE", "BDAY", "NOTE", "CATEGORIES", "X-ABLABEL"}
    | {"X-CONTACTS-API-FAVORITE"}
)
# UID included: an identifier of the writer's record (our own export writes one), not a fact
# about the contact, and an imported contact gets an id of its own.
_SILENT = frozenset({"VERSION", "PRODID", "REV", "UID", "BEGIN", "END"})
# Writers leave commas unescaped in single text values (RFC 2426 §4 wants `\,`), and vobject reads
# an unescaped comma in a text value as a list separator and keeps only the first item (Gmail's
# `FN:Mr. John Richter, James Doe Sr.` would be "Mr. John Richter"). So commas are escaped before
# vobject sees these values; in N and CATEGORIES a comma separates values (RFC 6350 §6.2.2,
# §6.7.1), except in vCard 2.1, which has no such lists.
_COMMA_IS_TEXT = _USED - {"N", "CATEGORIES"}
_UNESCAPED_COMMA = re.compile(r"(\\*),")
# Apple escapes colons (`http\://`, `\:` in NOTE), which no vCard version defines and vobject
# leaves as written: read as a plain colon.
_ESCAPED_COLON = re.compile(r"(\\+):")

# Transfer parameters the reader has applied itself, so vobject must not apply them again.
_TRANSFER_SINGLETONS = frozenset({"QUOTED-PRINTABLE", "BASE64", "7BIT", "8BIT"})

# TYPE values that say what a value can do rather than whose it is (RFC 2426 §3.2-3.3, vCard
# 2.1 §2.3): they do not make a label.
_IGNORED_TYPES = frozenset({"pref", "voice", "internet", "x400", "intl", "postal", "parcel", "dom", "msg", "text"})
_TYPE_WORDS = {"cell": "mobile"}
_PLACES = ("home", "work", "other")
_KIND_ORDER = {"mobile": 0, "main": 1, "fax": 2, "pager": 3}
# Apple's built-in labels, written `_$!<HomeFAX>!$_`, in the words the API's own labels use.
_APPLE_LABEL = re.compile(r"_\$!<(.*)>!\$_")
_APPLE_LABELS = {
    "Mobile": "mobile",
    "Home": "home",
    "Work": "work",
    "Main": "main",
    "HomeFAX": "home fax",
    "WorkFAX": "work fax",
    "OtherFAX": "other fax",
    "Pager": "pager",
    "Other": "other",
    "iPhone": "iPhone",
    "HomePage": "homepage",
}

_DATE = re.compile(r"(\d{4})-?(\d{2})-?(\d{2})(?:T[0-9:.,+\-Z]*)?", re.IGNORECASE)
_YEARLESS_DATE = re.compile(r"--(\d{2})-?(\d{2})")
# CardBook (Thunderbird) writes a birthday without a year in the year 1604.
_NO_YEAR = "1604"
# How much of a file's non-UTF-8 text is looked at to choose its legacy charset.
_LEGACY_SAMPLE = 64 * 1024


class NotAVCardFile(ValueError):  # noqa: N818 - the name the import service catches
    """The file does not start with `BEGIN:VCARD`."""


def looks_like_vcard(content: str | bytes) -> bool:
    """Whether the first non-blank line of `content` (after any byte-order mark) is `BEGIN:VCARD`,
    in any case."""
    if isinstance(content, bytes):
        if content.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            # Enough of the file to hold the first line; a cut character is ignored.
            content = content[:4096].decode("utf-16", errors="ignore")
        else:
            content = content.removeprefix(codecs.BOM_UTF8).decode("latin-1")
    # Up to the first CR or LF: files with CR alone (classic Mac OS) are vCards too.
    first = content.removeprefix("\ufeff").lstrip(" \t\r\n")[:64].replace("\r", "\n").split("\n", 1)[0]
    return first.strip().upper() == "BEGIN:VCARD"


def read_vcards(data: bytes) -> Iterator[ReadRecord]:
    """One `ReadRecord` per card of the vCard file `data`, in file order, read as the caller asks
    for them. Raises `NotAVCardFile` when `data` is not a vCard file and `UndecodableFile` when a
    UTF-16 byte-order mark announces text that is not UTF-16, here rather than on the first read."""
    unicode_file = data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE))
    if unicode_file:
        # The text is re-encoded as UTF-8, so the rest reads bytes as everywhere else.
        data = decoded_text(data).encode("utf-8")
    data = data.removeprefix(codecs.BOM_UTF8)
    if not looks_like_vcard(data):
        if not data.strip():
            raise NotAVCardFile("The file is empty: a vCard file starts with BEGIN:VCARD.")
        raise NotAVCardFile("The file is not a vCard file: its first line is not BEGIN:VCARD.")
    lines = data.split(b"\n") if b"\n" in data else data.split(b"\r")
    return _records([line.rstrip(b"\r") for line in lines], unicode_file)


def _records(lines: list[bytes], unicode_file: bool) -> Iterator[ReadRecord]:
    decoder = _ValueDecoder(lines, unicode_file)
    for card in _cards(lines):
        try:
            record = _CardReader(card, decoder).record()
        except Exception:
            # A reader bug must cost one card, not the import.
            logger.exception("vCard card %d could not be read", card.number)
            record = ReadRecord(error="This card could not be read.")
        yield record


@dataclass
class _Card:
    """The logical lines of one card (unfolded, still bytes, BEGIN and END left out), how many
    physical lines made them, and how many could not belong to any property (a continuation with
    nothing to continue)."""

    number: int
    lines: list[bytes] = field(default_factory=list)
    physical_lines: int = 0
    stray_lines: int = 0


def _cards(lines: Sequence[bytes]) -> Iterator[_Card]:
    splitter = _CardSplitter()
    for line in lines:
        card = splitter.feed(line)
        if card is not None:
            yield card
    card = splitter.close()
    if card is not None:
        yield card


class _CardSplitter:
    """Physical lines in, cards of logical lines out (RFC 6350 §3.2 unfolding, vCard 2.1 §2.1.3
    quoted-printable soft breaks and blank-line-ended base64, and broken folds re-joined)."""

    def __init__(self) -> None:
        self._card: _Card | None = None
        self._count = 0
        # Names of the blocks being skipped, innermost last: a top-level VLIST, a block nested in a
        # card, the vCard embedded in a vCard 2.1 AGENT.
        self._skipping: list[bytes] = []
        self._pieces: list[bytes] = []
        self._quoted_printable = False

    def feed(self, line: bytes) -> _Card | None:
        """Take one physical line; return the card it ends, if it ends one."""
        if not line.strip():
            # A blank line ends a base64 block (vCard 2.1) and any other value.
            self._flush()
            return None
        boundary = _BOUNDARY.fullmatch(line)
        if boundary is not None:
            self._flush()
            return self._boundary(boundary[1].upper(), boundary[2].upper())
        if self._card is None or self._skipping:
            return None
        self._card.physical_lines += 1
        if self._pieces and self._quoted_printable and self._pieces[-1].endswith(b"="):
            # A quoted-printable soft break: the line goes on whatever the next one looks like.
            self._pieces[-1] = self._pieces[-1][:-1]
            self._pieces.append(line)
        elif line[:1] in (b" ", b"\t"):
            self._continue(line[1:])
        elif _PROPERTY_START.match(line) and b":" in line:
            self._flush()
            self._pieces = [line]
            self._quoted_printable = b"QUOTED-PRINTABLE" in line.split(b":", 1)[0].upper()
        else:
            # Not the start of a property, so a fold that lost its leading space (Google, 2015).
            self._continue(line)
        return None

    def close(self) -> _Card | None:
        """The end of the file: the card left open, if any (a missing END:VCARD)."""
        self._flush()
        card, self._card = self._card, None
        return card

    def _continue(self, piece: bytes) -> None:
        if self._pieces:
            self._pieces.append(piece)
        elif self._card is not None:
            self._card.stray_lines += 1

    def _flush(self) -> None:
        if self._pieces and self._card is not None and not self._skipping:
            self._card.lines.append(b"".join(self._pieces))
        self._pieces = []
        self._quoted_printable = False

    def _boundary(self, kind: bytes, name: bytes) -> _Card | None:
        if kind == b"BEGIN":
            return self._begin(name)
        if self._skipping:
            if name in self._skipping:
                del self._skipping[self._skipping.index(name) :]
            elif name == b"VCARD" and self._card is not None:
                # A block in the card was never closed: END:VCARD closes both.
                self._skipping.clear()
                return self.close()
            return None
        if name == b"VCARD" and self._card is not None:
            return self.close()
        return None  # a stray END (DAVdroid writes `END:` alone) or the end of nothing

    def _begin(self, name: bytes) -> _Card | None:
        if self._skipping:
            if name == b"VCARD" and self._card is None:
                self._skipping.clear()  # a skipped top-level block that was never closed
                self._open()
                return None
            self._skipping.append(name)
            return None
        if self._card is None:
            if name == b"VCARD":
                self._open()
                return None
            self._skipping.append(name)  # another top-level block (SOGo's VLIST): not a contact
            return None
        if name != b"VCARD":
            self._skipping.append(name)
            return None
        if self._card.lines and _EMPTY_AGENT.fullmatch(self._card.lines[-1]):
            # vCard 2.1 §2.5.2 embeds the agent's vCard after `AGENT:`: a value, not a contact.
            self._card.lines[-1] = b"AGENT:BEGIN:VCARD"
            self._skipping.append(name)
            return None
        # The card was never closed: the next one ends it.
        card = self.close()
        self._open()
        return card

    def _open(self) -> None:
        self._card = _Card(number=self._count)
        self._count += 1


class _ValueDecoder:
    """Bytes of one value to text, for one file: the declared charset when it fits
    (`decoding.charset_text` rules), else UTF-8, else the legacy charset chosen once for the file
    from all its undeclared non-UTF-8 text (`decoding.legacy_codec`), so that every card of a
    Latin-1 address book reads alike."""

    def __init__(self, lines: Sequence[bytes], unicode_file: bool) -> None:
        self._lines = lines
        # A UTF-16 file was re-encoded as UTF-8: its raw bytes are UTF-8 whatever CHARSET says.
        self._unicode_file = unicode_file
        self._legacy_codec: str | None = None

    def text(self, data: bytes, declared: str | None, transfer_decoded: bool) -> str:
        """`data` as text; `transfer_decoded` says it came out of quoted-printable or base64, whose
        bytes are in the declared charset even in a UTF-16 file."""
        if data.isascii():
            return data.decode("ascii")
        if self._unicode_file and not transfer_decoded:
            return data.decode("utf-8", errors="replace")
        codec = known_codec(declared)
        if codec is not None:
            text = declared_text(data, codec)
            # None: a mislabel (ThunderSync's "UTF-8" over ISO-8859-1), read in the Western code page.
            return decoded_with(data, "cp1252") if text is None else text
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            return decoded_with(data, self._file_legacy_codec(data))

    def _file_legacy_codec(self, data: bytes) -> str:
        if self._legacy_codec is None:
            sample = [data]
            size = len(data)
            for line in self._lines:
                if size >= _LEGACY_SAMPLE:
                    break
                if line.isascii() or b"CHARSET=" in line.split(b":", 1)[0].upper() or _is_utf8(line):
                    continue
                sample.append(line)
                size += len(line)
            self._legacy_codec = legacy_codec(b"\n".join(sample)[:_LEGACY_SAMPLE])
        return self._legacy_codec


def _is_utf8(data: bytes) -> bool:
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


@dataclass
class _Property:
    group: str | None
    name: str
    line: bytes


class _CardReader:
    """One card's logical lines to a `ReadRecord`, by the mapping of the module docstring."""

    def __init__(self, card: _Card, decoder: _ValueDecoder) -> None:
        self._card = card
        self._decoder = decoder
        self._record = ReadRecord()
        self._component = Component("VCARD")
        self._component.setBehavior(_VCARD_BEHAVIOR)
        self._properties = [_property(line) for line in card.lines]
        self._version = next(
            (_raw_value(prop.line).decode("latin-1").strip() for prop in self._properties if prop.name == "VERSION"),
            "",
        )
        # Groups that hold something an X-ABLabel can label.
        self._labelled_groups = {
            prop.group.lower() for prop in self._properties if prop.group and prop.name != "X-ABLABEL"
        }
        self._ab_labels: dict[str, str] = {}
        self._grouped: list[tuple[str, LabelledValue | AddressParts]] = []
        self._notes: list[str] = []
        self._name_read = False
        self._birthday_parsed = False
        self._birthday_altid: str | None = None
        self._readable = 0
        self._unreadable = card.stray_lines

    def record(self) -> ReadRecord:
        for prop in self._properties:
            self._read(prop)
        record = self._record
        for group, entry in self._grouped:
            if group in self._ab_labels:
                entry.label = _apple_label(self._ab_labels[group])
        if self._notes:
            record.notes = "\n".join(self._notes)
        if not self._readable:
            silent = sum(prop.name in _SILENT for prop in self._properties)
            empty = not self._unreadable and self._card.physical_lines <= silent
            record.error = "The card is empty." if empty else "No line of the card could be read as a vCard property."
        return record

    def _read(self, prop: _Property) -> None:
        if prop.name in _SILENT:
            return
        used = prop.name in _USED and (
            prop.name != "X-ABLABEL" or (prop.group is not None and prop.group.lower() in self._labelled_groups)
        )
        if not used:
            self._readable += 1
            if _raw_value(prop.line).strip():
                self._record.drop(prop.name)
            return
        line = self._content_line(prop)
        if line is None:
            self._unreadable += 1
            self._record.drop(prop.name)
            return
        self._readable += 1
        self._map(line)

    def _content_line(self, prop: _Property) -> Any:
        """The vobject ContentLine of `prop`, its value decoded (transfer encoding, charset,
        escapes, structure), or None when vobject cannot read it."""
        text = prop.line.decode("latin-1")  # one character per byte, so the parser sees the bytes
        try:
            name, params, value, group = parseLine(text)
        except Exception:
            return None
        kept, charset, transfer = _transfer_params(params)
        raw = value.encode("latin-1")
        try:
            if transfer == "quoted-printable":
                # A soft break followed by a blank line leaves a dangling `=` (Android 2.x).
                data = binascii.a2b_qp(raw.removesuffix(b"="))
            elif transfer == "base64":
                data = binascii.a2b_base64(b"".join(raw.split()))
            else:
                data = raw
        except (binascii.Error, ValueError):
            return None
        value = self._decoder.text(data, charset, transfer is not None)
        header = text[: len(text) - len(raw)]
        if not header.isascii():
            # A parameter value in the file's charset (`TYPE=Büro`): read the names again as text.
            try:
                name, params, _, group = parseLine(self._decoder.text(header.encode("latin-1"), charset, False))
            except Exception:
                return None
            kept = _transfer_params(params)[0]
        if "\\:" in value:
            value = _ESCAPED_COLON.sub(_unescaped_colon, value)
        if "," in value and (name.upper() in _COMMA_IS_TEXT or (name.upper() == "N" and self._version == "2.1")):
            value = _UNESCAPED_COMMA.sub(_escaped_comma, value)
        line = ContentLine(name, kept, value, group, encoded=True)
        try:
            self._component.add(line)  # vobject gives the line its behaviour, which decodes it
            return line.transformToNative()
        except Exception:
            return None

    def _map(self, line: Any) -> None:
        name: str = line.name
        value = line.value
        record = self._record
        if name == "N":
            self._map_name(value)
        elif name == "FN":
            if not record.formatted_name:
                record.formatted_name = _text(value)
        elif name in ("EMAIL", "TEL"):
            text = _text(value).strip()
            if text:
                entry = LabelledValue(text, _type_label(line))
                (record.emails if name == "EMAIL" else record.phones).append(entry)
                self._remember_group(line, entry)
        elif name == "ADR":
            address = _address(value)
            if address is not None:
                address.label = _type_label(line)
                record.addresses.append(address)
                self._remember_group(line, address)
        elif name == "ORG":
            organization = ", ".join(part for part in (_text(part).strip() for part in _items(value)) if part)
            if organization:
                if record.organization is None:
                    record.organization = organization
                else:
                    record.drop("ORG")
        elif name == "TITLE":
            title = _text(value)
            if title.strip():
                if record.job_title is None:
                    record.job_title = title
                else:
                    record.drop("TITLE")
        elif name == "NOTE":
            note = _text(value)
            if note.strip():
                self._notes.append(note)
        elif name == "BDAY":
            self._map_birthday(line)
        elif name == "CATEGORIES":
            record.tags.extend(tag for tag in (_text(item).strip() for item in _items(value)) if tag)
        elif name == "X-CONTACTS-API-FAVORITE":
            record.favorite = _text(value).strip().upper() == "TRUE"
        elif name == "X-ABLABEL" and line.group:
            self._ab_labels.setdefault(line.group.lower(), _text(value))

    def _map_name(self, name: Any) -> None:
        if self._name_read:
            return  # a second N (a 4.0 ALTID translation) adds nothing
        self._name_read = True
        record = self._record
        record.family_name = _name_part(name.family)
        given = (_name_part(name.given), _name_part(name.additional))
        record.given_name = " ".join(part for part in given if part.strip())
        if _name_part(name.prefix).strip():
            record.drop("N prefix")
        if _name_part(name.suffix).strip():
            record.drop("N suffix")

    def _map_birthday(self, line: Any) -> None:
        raw = _text(line.value).strip()
        if not raw:
            return
        altid = _first_param(line, "ALTID")
        is_text = (_first_param(line, "VALUE") or "").lower() == "text"
        birthday = None if is_text else _birthday(raw, _first_param(line, "X-APPLE-OMIT-YEAR"))
        record = self._record
        if record.birthday is None:
            record.birthday = birthday or raw
            self._birthday_parsed = birthday is not None
            self._birthday_altid = altid
            return
        same = altid is not None and altid == self._birthday_altid
        if birthday is not None and not self._birthday_parsed:
            # A date after a text form: the date is the better reading of the same birthday.
            if not same:
                record.drop("BDAY")
            record.birthday, self._birthday_parsed, self._birthday_altid = birthday, True, altid
        elif not same:
            record.drop("BDAY")  # a second, different birthday: the first one is kept

    def _remember_group(self, line: Any, entry: LabelledValue | AddressParts) -> None:
        if line.group:
            self._grouped.append((line.group.lower(), entry))


def _property(line: bytes) -> _Property:
    match = _PROPERTY_START.match(line)
    if match is None:  # cannot happen: the splitter starts logical lines only at property starts
        return _Property(None, "", line)
    group = match[1].decode("ascii") if match[1] else None
    # vobject reads `_` as `-` in names (for Lotus Notes); the dropped names follow it.
    return _Property(group, match[2].decode("ascii").upper().replace("_", "-"), line)


def _raw_value(line: bytes) -> bytes:
    return line.split(b":", 1)[1] if b":" in line else b""


def _transfer_params(params: list[list[str]]) -> tuple[list[list[str]], str | None, str | None]:
    """vobject's parsed parameters without the transfer ones, the declared charset, and the
    transfer encoding (`quoted-printable`, `base64` or None)."""
    kept: list[list[str]] = []
    charset: str | None = None
    transfer: str | None = None
    for param in params:
        key = param[0].upper()
        if len(param) == 1 and key in _TRANSFER_SINGLETONS:  # vCard 2.1 bare `;QUOTED-PRINTABLE`
            transfer = {"QUOTED-PRINTABLE": "quoted-printable", "BASE64": "base64"}.get(key, transfer)
        elif key == "ENCODING":
            values = {value.upper() for value in param[1:]}
            if "QUOTED-PRINTABLE" in values:
                transfer = "quoted-printable"
            elif values & {"B", "BASE64"}:
                transfer = "base64"
        elif key == "CHARSET":
            charset = param[1] if len(param) > 1 else None
        else:
            kept.append(param)
    return kept, charset, transfer


def _escaped_comma(match: re.Match[str]) -> str:
    backslashes = match[1]
    # An odd number of backslashes escapes the comma already.
    return match[0] if len(backslashes) % 2 else f"{backslashes}\\,"


def _unescaped_colon(match: re.Match[str]) -> str:
    backslashes = match[1]
    # An even number of backslashes is escaped backslashes before a plain colon.
    return f"{backslashes[:-1]}:" if len(backslashes) % 2 else match[0]


def _items(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list) else [value]


def _text(value: Any) -> str:
    """A decoded value as text, a list (vobject's reading of a comma list) joined by commas again,
    line breaks as `\\n`: a quoted-printable `=0D=0A` (Outlook) or a bare CR is one line break, as
    the escape `\\n` of RFC 6350 §3.4 is, so a note reads (and exports, and reads back) alike."""
    joined = ",".join(str(part) for part in value) if isinstance(value, list) else str(value)
    return joined.replace("\r\n", "\n").replace("\r", "\n") if "\r" in joined else joined


def _name_part(value: Any) -> str:
    """One N component as text: several values (`Richter,James`, RFC 6350 §6.2.2) joined by a space."""
    if isinstance(value, list):
        return " ".join(part for part in (_text(item).strip() for item in value) if part)
    return _text(value)


def _first_param(line: Any, name: str) -> str | None:
    values = line.params.get(name)
    return str(values[0]) if values else None


def _address(value: Any) -> AddressParts | None:
    """vobject's Address as `AddressParts`: the street is the non-empty PO box, extended and
    street parts on lines of their own, in that order (a writer that puts the whole address in
    the extended part, as Gmail did, keeps it)."""
    street = "\n".join(part for part in (_text(value.box), _text(value.extended), _text(value.street)) if part.strip())
    address = AddressParts(
        street=street or None,
        city=_part(value.city),
        region=_part(value.region),
        postal_code=_part(value.code),
        country=_part(value.country),
    )
    if not any((address.street, address.city, address.region, address.postal_code, address.country)):
        return None
    return address


def _part(value: Any) -> str | None:
    text = _text(value)
    return text if text.strip() else None


def _type_label(line: Any) -> str | None:
    """The label TYPE parameters give (RFC 2426 §3.2-3.3, RFC 6350 §5.6, vCard 2.1's bare
    `TEL;CELL;PREF:`): lower case, capabilities left out, `cell` as `mobile`, the place (home,
    work, other) first: `home fax`, `work`, `mobile`; None when no type is left."""
    words: list[str] = []
    for raw in [*line.params.get("TYPE", []), *line.singletonparams]:
        words.extend(word.strip().lower() for word in str(raw).split(","))
    if "iphone" in words:
        return "iPhone"
    kept: list[str] = []
    for word in words:
        if not word or word in _IGNORED_TYPES:
            continue
        word = _TYPE_WORDS.get(word, word)
        if word.startswith("x-"):
            # `X-NEC-SECRET` → "secret": the vendor's prefix says nothing to the owner.
            word = word[2:].split("-", 1)[-1]
        if word and word not in kept:
            kept.append(word)
    places = [word for word in _PLACES if word in kept]
    kinds = sorted((word for word in kept if word not in places), key=lambda word: _KIND_ORDER.get(word, 99))
    return " ".join(places + kinds) or None


def _apple_label(label: str) -> str:
    """An X-ABLabel as the contact's label: Apple's built-in `_$!<Name>!$_` in the API's words (or
    the bare name, "AssistantPhone"), any other text exactly as written."""
    match = _APPLE_LABEL.fullmatch(label)
    if match is None:
        return label
    return _APPLE_LABELS.get(match[1], match[1])


def _birthday(value: str, omit_year: str | None) -> str | None:
    """`YYYY-MM-DD` or year-less `--MM-DD` from the forms of RFC 2426 §3.1.5 and RFC 6350 §4.3.1
    (basic and extended dates, date-times, `--MMDD`), Apple's `X-APPLE-OMIT-YEAR` and CardBook's
    year 1604; None when `value` is none of them."""
    if yearless := _YEARLESS_DATE.fullmatch(value):
        return f"--{yearless[1]}-{yearless[2]}"
    date = _DATE.fullmatch(value)
    if date is None:
        return None
    year, month, day = date[1], date[2], date[3]
    if year in (omit_year, _NO_YEAR):
        return f"--{month}-{day}"
    return f"{year}-{month}-{day}"
