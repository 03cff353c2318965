"""Contacts CSV files to `ReadRecord`s: the layouts Google Contacts, Outlook, Roundcube and Thunderbird write.

`read_csv_contacts(data)` decodes the bytes (`decoding.decoded_text`: BOMs, UTF-8, UTF-16, legacy
charsets), reads the header, recognises the layout from it (`csv_layout`, which raises
`NotAnAddressBookCsv` when no column is one a contacts export uses), and then yields one
`ReadRecord` per non-empty row, in file order, as the rows are parsed.

The layouts (header names are matched trimmed and case-insensitively; the layout whose table
knows the most columns wins, the earlier one below on a tie):

- **Google Contacts, current layout** (2023+): `First Name, Middle Name, Last Name, …, File As,
  Organization Name, Organization Title, Organization Department, Birthday, Notes, Photo, Labels`
  and numbered slots `E-mail N - Label / - Value`, `Phone N - …`, `Address N - Label / Formatted
  / Street / City / PO Box / Region / Postal Code / Country / Extended Address`, `Website N - …`,
  `Relation N - …`, `Event N - …`, `Custom Field N - …`.
- **Google Contacts, old layout**: `Name, Given Name, Additional Name, Family Name, …, Group
  Membership`, the same slots with `- Type` for `- Label`, and `Organization N - Name / Title /
  Department / …`.
- **Outlook**: `Title` (the name prefix), `First Name, Middle Name, Last Name, Suffix, Company,
  Department, Job Title`, `E-mail Address, E-mail 2 Address, E-mail 3 Address`, the fixed phone
  columns (`Home Phone`, `Business Fax`, `Car Phone`, …), the `Home` / `Business` / `Other`
  address groups (`Street, Street 2, Street 3, Address PO Box, City, State, Postal Code,
  Country[/Region]`), `Birthday` (`mm/dd/yyyy`), `Notes`, `Categories`.
- **Roundcube's generic CSV**: Outlook's columns plus `Display Name`, `Email Home / Work /
  Other`, `Home Mobile`, `Phone Video` and `Work City` next to `Business Street`; its dates are
  day-first (`20/01/1991`).
- **Thunderbird**: `First Name, Last Name, Display Name, Nickname, Primary Email, Secondary Email,
  Work Phone, Home Phone, Fax Number, Pager Number, Mobile Number, Home / Work Address, Address 2,
  City, State, ZipCode, Country, Job Title, Department, Organization, Birth Year / Month / Day,
  Notes`.

Each layout is a table from header name to a target (`Field`, `Entry`, `DROP`, `IGNORE`); one
function (`_record`) turns any row into a record through the header's targets:

- `given_name` is First / Given Name, then Middle / Additional Name, space-joined; `family_name`
  is Last / Family Name; `formatted_name` is Display Name, else Name, else File As.
- Emails and phones are trimmed. A Google `- Label` / `- Type` is kept exactly as written but for
  its leading `* ` (the primary marker), None when empty; a Google cell of several values joined
  by ` ::: ` is several entries with that label. Outlook and Thunderbird's fixed columns give
  lower-case labels: E-mail Address, E-mail 2/3 Address, Primary / Secondary Email → None; Email
  Home / Work / Other → `home` / `work` / `other`; Home Phone (2) → `home`; Mobile Phone, Mobile
  Number, Home Mobile → `mobile`; Business Phone (2), Work Phone → `work`; Home Fax → `home fax`;
  Business Fax → `work fax`; Other Fax → `other fax`; Fax Number → `fax`; Pager (Number) →
  `pager`; Primary Phone, Company Main Phone → `main`; Other Phone → `other`; Car Phone → `car`;
  Assistant's Phone → `assistant`; Radio Phone → `radio`; Phone Video → `video`; Callback, ISDN,
  Telex, TTY/TDD Phone → `callback`, `isdn`, `telex`, `tty/tdd`.
- An address's street is its PO Box, extended address and street lines (Outlook's Street, Street
  2, Street 3; Thunderbird's Address, Address 2), the non-empty ones joined by newlines in that
  order; a formatted address (Google's `Formatted`, Outlook's `Home Address`) is the street only
  when no other part is filled. Outlook's groups are labelled `home`, `work` (Business / Work)
  and `other`, Thunderbird's `home` and `work`, Google's as its emails are.
- `organization` is the organization's name, then `, ` and the department when there is one;
  `job_title` is Organization Title / Job Title.
- `birthday` is `YYYY-MM-DD` or `--MM-DD`: ISO dates and Google's year-less `--MM-DD` as found,
  `d/m/yyyy` dates day-first when the first number is above 12, month-first when the second is,
  and otherwise month-first (Outlook's US form) except in Roundcube's layout (day-first), dotted
  `d.m.yyyy` always day-first; Thunderbird's Birth Year / Month / Day make `YYYY-MM-DD`, or
  `--MM-DD` without a year. Outlook's `0/0/00` is no birthday; any other text is passed on as
  found, for the mapping step to leave out and name.
- `tags`: Google's Labels / Group Membership split on ` ::: `, where an entry starting with `* `
  is a system group, not a tag: `* starred` (any case) makes the contact a favorite, the others
  (`* myContacts`, `* My Contacts`, …) are left out silently; Outlook's Categories split on `;`
  or `,`.
- Every other non-empty cell is named in `dropped` by its column's header as written (a cell past
  the header, or under an empty header name, as `column N`), once, in column order. Empty cells,
  and Outlook's placeholders (`0/0/00` dates, Gender `Unspecified`, Sensitivity and Priority
  `Normal`, Private `False`), are never named; neither are Outlook's `E-mail Type` (`SMTP`) and
  `E-mail Display Name` columns, which only repeat the address.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Final, Literal

from contacts_api.contacts.interchange.decoding import decoded_text
from contacts_api.contacts.interchange.records import AddressParts, LabelledValue, ReadRecord


class NotAnAddressBookCsv(ValueError):  # noqa: N818 - it is not an error of ours but a verdict on the file
    """The file is not a CSV file of contacts (no column of its header is one a layout knows)."""


FieldName = Literal[
    "given",
    "family",
    "formatted",
    "organization",
    "job_title",
    "birthday",
    "birth_year",
    "birth_month",
    "birth_day",
    "notes",
    "tags",
]
EntryKind = Literal["email", "phone", "address"]


@dataclass(frozen=True, slots=True)
class Field:
    """A column filling one of the record's single fields. `order` places it among the columns
    sharing the field: First Name 0 before Middle Name 1 (joined), Company 0 before Department 1
    (joined), Display Name 0 preferred to Name 1 and File As 2 (the lowest present wins)."""

    name: FieldName
    order: int = 0


@dataclass(frozen=True, slots=True)
class Entry:
    """A column of one email, phone or address.

    `slot` groups the columns of one entry: the number of Google's `Phone 3 - …`, the label of an
    Outlook address group (`home` for Home Street, Home City, …), the header of a lone column
    (`home phone`). `part` is `value` or `label` for emails and phones; for addresses an
    `AddressParts` field name, `street` (sorted by `order`: PO Box 0, extended 1, street lines 2…)
    or `formatted`. `label` is the label a fixed column gives its entry (None for Google's slots,
    whose label is a column of its own).
    """

    kind: EntryKind
    slot: str
    part: str
    order: int = 0
    label: str | None = None


# A known column whose value the contact has no field for: named in `dropped` when non-empty.
DROP: Final = "drop"
# A known column that only repeats another (Outlook's `E-mail Display Name`): never named.
IGNORE: Final = "ignore"

Target = Field | Entry | Literal["drop", "ignore"]


@dataclass(frozen=True, slots=True)
class CsvColumn:
    """One header cell understood: its name as written (trimmed), its target (None: not a column
    the layout knows, so named in `dropped` when non-empty), the position of the first column of
    its entry (entries are listed in that order), and the values that mean "empty" there."""

    name: str
    target: Target | None
    rank: int = 0
    blanks: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CsvLayout:
    """A header read against one layout: the layout's name (`google`, `google-old`, `outlook`,
    `roundcube`, `thunderbird`), one `CsvColumn` per header cell, and how the layout writes dates,
    multiple values in a cell and categories."""

    name: str
    columns: tuple[CsvColumn, ...]
    day_first: bool
    multi_separator: str | None
    tag_separator: re.Pattern[str]


@dataclass(frozen=True)
class _Table:
    """What one layout's header names mean (keys normalised: trimmed, lower-case, single spaces)."""

    name: str
    columns: Mapping[str, Target]
    # Google's `Kind N - Part` columns.
    numbered_slots: bool = False
    # Fixed address groups: the header's first word → the label, the rest → (part, order).
    address_groups: Mapping[str, str] = field(default_factory=dict)
    address_parts: Mapping[str, tuple[str, int]] = field(default_factory=dict)
    day_first: bool = False
    multi_separator: str | None = None
    tag_separator: re.Pattern[str] = re.compile(r"[;,]")


_GOOGLE_MULTI = " ::: "

_GOOGLE_ADDRESS_PARTS: Final[Mapping[str, tuple[str, int]]] = {
    "label": ("label", 0),
    "formatted": ("formatted", 0),
    "po box": ("street", 0),
    "extended address": ("street", 1),
    "street": ("street", 2),
    "city": ("city", 0),
    "region": ("region", 0),
    "postal code": ("postal_code", 0),
    "country": ("country", 0),
}
_GOOGLE_ORGANIZATION: Final[Mapping[str, Target]] = {
    "name": Field("organization", 0),
    "department": Field("organization", 1),
    "title": Field("job_title"),
}
# Google's numbered slots the contact has no field for (their cells are named in `dropped`).
_GOOGLE_DROPPED_SLOTS: Final = frozenset(
    {"website", "relation", "event", "custom field", "im", "external id", "calendar link", "jot", "hobby"}
)
_NUMBERED_SLOT = re.compile(r"(.+?) (\d+) - (.+)")

_GOOGLE = _Table(
    name="google",
    columns={
        "first name": Field("given", 0),
        "middle name": Field("given", 1),
        "last name": Field("family"),
        "file as": Field("formatted", 2),
        "organization name": Field("organization", 0),
        "organization department": Field("organization", 1),
        "organization title": Field("job_title"),
        "birthday": Field("birthday"),
        "notes": Field("notes"),
        "labels": Field("tags"),
        **dict.fromkeys(
            (
                "phonetic first name",
                "phonetic middle name",
                "phonetic last name",
                "name prefix",
                "name suffix",
                "nickname",
                "photo",
            ),
            DROP,
        ),
    },
    numbered_slots=True,
    multi_separator=_GOOGLE_MULTI,
)

_GOOGLE_OLD = _Table(
    name="google-old",
    columns={
        "name": Field("formatted", 1),
        "given name": Field("given", 0),
        "additional name": Field("given", 1),
        "family name": Field("family"),
        "birthday": Field("birthday"),
        "notes": Field("notes"),
        "group membership": Field("tags"),
        **dict.fromkeys(
            (
                "yomi name",
                "given name yomi",
                "additional name yomi",
                "family name yomi",
                "name prefix",
                "name suffix",
                "initials",
                "nickname",
                "short name",
                "maiden name",
                "gender",
                "location",
                "billing information",
                "directory server",
                "mileage",
                "occupation",
                "hobby",
                "sensitivity",
                "priority",
                "subject",
            ),
            DROP,
        ),
    },
    numbered_slots=True,
    multi_separator=_GOOGLE_MULTI,
)

_OUTLOOK_PHONES: Final[Mapping[str, str]] = {
    "primary phone": "main",
    "company main phone": "main",
    "home phone": "home",
    "home phone 2": "home",
    "mobile phone": "mobile",
    "business phone": "work",
    "business phone 2": "work",
    "home fax": "home fax",
    "business fax": "work fax",
    "other fax": "other fax",
    "pager": "pager",
    "other phone": "other",
    "car phone": "car",
    "assistant's phone": "assistant",
    "radio phone": "radio",
    "callback": "callback",
    "isdn": "isdn",
    "telex": "telex",
    "tty/tdd phone": "tty/tdd",
}
_OUTLOOK_ADDRESS_PARTS: Final[Mapping[str, tuple[str, int]]] = {
    "address po box": ("street", 0),
    "po box": ("street", 0),
    "street": ("street", 1),
    "street 2": ("street", 2),
    "street 3": ("street", 3),
    # Outlook.com's `Home Address` is the whole address on several lines.
    "address": ("formatted", 0),
    "city": ("city", 0),
    "state": ("region", 0),
    "postal code": ("postal_code", 0),
    "zip": ("postal_code", 0),
    "zip code": ("postal_code", 0),
    "zipcode": ("postal_code", 0),
    "country": ("country", 0),
    "country/region": ("country", 0),
}
_OUTLOOK_ADDRESS_GROUPS: Final[Mapping[str, str]] = {
    "home": "home",
    "business": "work",
    "work": "work",
    "other": "other",
}


def _phones(labels: Mapping[str, str]) -> dict[str, Target]:
    return {header: Entry("phone", header, "value", label=label) for header, label in labels.items()}


def _emails(labels: Mapping[str, str | None]) -> dict[str, Target]:
    return {header: Entry("email", header, "value", label=label) for header, label in labels.items()}


# Outlook's default values: what an untouched field holds, not something the user wrote.
_PLACEHOLDERS: Final[Mapping[str, frozenset[str]]] = {
    "birthday": frozenset({"0/0/00", "00/00/0000", "0/0/0000"}),
    "anniversary": frozenset({"0/0/00", "00/00/0000", "0/0/0000"}),
    "gender": frozenset({"unspecified"}),
    "sensitivity": frozenset({"normal"}),
    "priority": frozenset({"normal"}),
    "private": frozenset({"false"}),
}

_OUTLOOK_COLUMNS: Final[dict[str, Target]] = {
    "first name": Field("given", 0),
    "middle name": Field("given", 1),
    "last name": Field("family"),
    "company": Field("organization", 0),
    "department": Field("organization", 1),
    "job title": Field("job_title"),
    "birthday": Field("birthday"),
    "notes": Field("notes"),
    "categories": Field("tags"),
    **_emails({"e-mail address": None, "e-mail 2 address": None, "e-mail 3 address": None}),
    **dict.fromkeys(
        (
            "e-mail type",
            "e-mail display name",
            "e-mail 2 type",
            "e-mail 2 display name",
            "e-mail 3 type",
            "e-mail 3 display name",
        ),
        IGNORE,
    ),
    **_phones(_OUTLOOK_PHONES),
    **dict.fromkeys(
        (
            # `Title` is the name prefix (Mr., Dr.), not the job.
            "title",
            "suffix",
            "nickname",
            "initials",
            "gender",
            "anniversary",
            "web page",
            "spouse",
            "children",
            "manager's name",
            "assistant's name",
            "referred by",
            "profession",
            "office location",
            "account",
            "government id number",
            "organizational id number",
            "user 1",
            "user 2",
            "user 3",
            "user 4",
            "keywords",
            "language",
            "location",
            "internet free busy",
            "internet free/busy",
            "mileage",
            "hobby",
            "billing information",
            "directory server",
            "sensitivity",
            "priority",
            "private",
        ),
        DROP,
    ),
}

_OUTLOOK = _Table(
    name="outlook",
    columns=_OUTLOOK_COLUMNS,
    address_groups=_OUTLOOK_ADDRESS_GROUPS,
    address_parts=_OUTLOOK_ADDRESS_PARTS,
)

_THUNDERBIRD = _Table(
    name="thunderbird",
    columns={
        "first name": Field("given", 0),
        "last name": Field("family"),
        "display name": Field("formatted", 0),
        "organization": Field("organization", 0),
        "department": Field("organization", 1),
        "job title": Field("job_title"),
        "birth year": Field("birth_year"),
        "birth month": Field("birth_month"),
        "birth day": Field("birth_day"),
        "notes": Field("notes"),
        **_emails({"primary email": None, "secondary email": None}),
        **_phones(
            {
                "work phone": "work",
                "home phone": "home",
                "fax number": "fax",
                "pager number": "pager",
                "mobile number": "mobile",
            }
        ),
        **dict.fromkeys(
            ("nickname", "screen name", "web page 1", "web page 2", "custom 1", "custom 2", "custom 3", "custom 4"),
            DROP,
        ),
    },
    address_groups={"home": "home", "work": "work"},
    address_parts={
        "address": ("street", 0),
        "address 2": ("street", 1),
        "city": ("city", 0),
        "state": ("region", 0),
        "zipcode": ("postal_code", 0),
        "country": ("country", 0),
    },
)

# Roundcube's generic CSV is Outlook's with a few names of its own; it wins only when one of those
# is in the header (on a tie Outlook, listed first, is taken), and its dates are day-first.
_ROUNDCUBE = _Table(
    name="roundcube",
    columns={
        **_OUTLOOK_COLUMNS,
        "display name": Field("formatted", 0),
        **_emails({"email home": "home", "email work": "work", "email other": "other"}),
        **_phones({"home mobile": "mobile", "phone video": "video"}),
        **dict.fromkeys(("maiden name",), DROP),
    },
    address_groups=_OUTLOOK_ADDRESS_GROUPS,
    address_parts=_OUTLOOK_ADDRESS_PARTS,
    day_first=True,
)

_TABLES: Final = (_GOOGLE, _GOOGLE_OLD, _OUTLOOK, _THUNDERBIRD, _ROUNDCUBE)


def _key(name: str) -> str:
    """A header name as the tables spell it: no BOM, trimmed, single spaces, lower-case."""
    return " ".join(name.replace("\ufeff", "").split()).lower()


def _numbered_target(kind: str, number: str, part: str) -> Target | None:
    """The target of Google's `Kind N - Part` column (`E-mail 2 - Value`), None for a kind it never writes."""
    if part == "type":
        part = "label"  # the old layout's name for it
    if kind in ("e-mail", "email", "phone"):
        entry_kind: EntryKind = "phone" if kind == "phone" else "email"
        return Entry(entry_kind, number, part) if part in ("label", "value") else DROP
    if kind == "address":
        if part not in _GOOGLE_ADDRESS_PARTS:
            return DROP
        name, order = _GOOGLE_ADDRESS_PARTS[part]
        return Entry("address", number, name, order)
    if kind == "organization" and number == "1":
        return _GOOGLE_ORGANIZATION.get(part, DROP)
    if kind == "organization" or kind in _GOOGLE_DROPPED_SLOTS:
        return DROP
    return None


def _target(table: _Table, key: str) -> Target | None:
    if (target := table.columns.get(key)) is not None:
        return target
    if table.numbered_slots and (slot := _NUMBERED_SLOT.fullmatch(key)):
        return _numbered_target(slot[1], slot[2], slot[3])
    group, _, part = key.partition(" ")
    if group in table.address_groups and part in table.address_parts:
        label = table.address_groups[group]
        name, order = table.address_parts[part]
        return Entry("address", label, name, order, label=label)
    return None


def _layout(table: _Table, header: list[str]) -> CsvLayout:
    columns: list[CsvColumn] = []
    first_of_slot: dict[tuple[str, str], int] = {}
    for index, name in enumerate(header):
        key = _key(name)
        target = _target(table, key)
        rank = 0
        if isinstance(target, Entry):
            rank = first_of_slot.setdefault((target.kind, target.slot), index)
        columns.append(CsvColumn(name.replace("\ufeff", "").strip(), target, rank, _PLACEHOLDERS.get(key, frozenset())))
    return CsvLayout(
        name=table.name,
        columns=tuple(columns),
        day_first=table.day_first,
        multi_separator=table.multi_separator,
        tag_separator=table.tag_separator,
    )


def _kept_columns(layout: CsvLayout) -> int:
    return sum(isinstance(column.target, Field | Entry) for column in layout.columns)


def _known_columns(layout: CsvLayout) -> int:
    return sum(column.target is not None for column in layout.columns)


def csv_layout(header: list[str]) -> CsvLayout:
    """The layout `header` (a CSV file's first row) is written in: the one whose table keeps the
    most of its columns, then knows the most of them, the earlier of `_TABLES` on a tie.

    Raises NotAnAddressBookCsv when no layout keeps any column."""
    best: CsvLayout | None = None
    best_score = (0, 0)
    for table in _TABLES:
        layout = _layout(table, header)
        score = (_kept_columns(layout), _known_columns(layout))
        if score > best_score:
            best, best_score = layout, score
    if best is None or best_score[0] == 0:
        raise NotAnAddressBookCsv(
            "No column of this CSV file is one a contacts export uses (First Name, Given Name, E-mail Address, "
            "Primary Email, …): export it from Google Contacts, Outlook or Thunderbird, or send a vCard file"
        )
    return best


# ASCII digits only: a date in other digits is passed on as found, for the mapping step to name.
_ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})", re.ASCII)
_YEARLESS_DATE = re.compile(r"--(\d{2})-?(\d{2})", re.ASCII)
_NUMERIC_DATE = re.compile(r"(\d{1,2})([/.])(\d{1,2})\2(\d{2}|\d{4})", re.ASCII)


def _birthday(text: str, day_first: bool) -> str | None:
    """`YYYY-MM-DD` or `--MM-DD` from the ways the layouts write a date, None for Outlook's
    `0/0/00`, or `text` itself when it cannot be read (the mapping step names it)."""
    if iso := _ISO_DATE.fullmatch(text):
        return f"{iso[1]}-{int(iso[2]):02d}-{int(iso[3]):02d}"
    if yearless := _YEARLESS_DATE.fullmatch(text):
        return f"--{yearless[1]}-{yearless[2]}"
    if not (numeric := _NUMERIC_DATE.fullmatch(text)):
        return text
    first, second, year = int(numeric[1]), int(numeric[3]), int(numeric[4])
    if first == second == year == 0:
        return None
    if len(numeric[4]) == 2:
        return text  # which century is a guess; better left out and named than wrong
    if first > 12 or (second <= 12 and (day_first or numeric[2] == ".")):
        # Dotted dates are day-first wherever they are written (German, Russian, … locales).
        day, month = first, second
    else:
        month, day = first, second
    return f"{year:04d}-{month:02d}-{day:02d}"


def _is_number(text: str) -> bool:
    """ASCII digits only: `str.isdigit` also takes `²` and `①`, which `int` refuses."""
    return text.isascii() and text.isdigit()


def _split_birthday(year: str | None, month: str | None, day: str | None) -> str | None:
    """Thunderbird's Birth Year / Month / Day as one birthday, or the parts as found when they are not numbers."""
    if month is None and day is None and year is None:
        return None
    if month is not None and day is not None and _is_number(month) and _is_number(day):
        if year is None:
            return f"--{int(month):02d}-{int(day):02d}"
        if _is_number(year):
            return f"{int(year):04d}-{int(month):02d}-{int(day):02d}"
    return "-".join(part for part in (year, month, day) if part is not None)


def _label(text: str | None) -> str | None:
    """A Google label without its primary marker (`* Home` → `Home`), otherwise exactly as written."""
    if text is None:
        return None
    label = text.strip()
    # Cells reach here trimmed, so the marker of a slot without a label is a bare "*".
    if label == "*" or label.startswith("* "):
        label = label[1:].strip()
    return label or None


@dataclass(slots=True)
class _Gathered:
    """The non-empty cells of one email, phone or address of a row."""

    kind: EntryKind
    rank: int
    label: str | None
    parts: dict[str, str] = field(default_factory=dict)
    street: list[tuple[int, str]] = field(default_factory=list)


def _values(text: str, separator: str | None) -> list[str]:
    if separator is None or separator not in text:
        return [text]
    return [value for part in text.split(separator) if (value := part.strip())]


def _add_entry(record: ReadRecord, gathered: _Gathered, separator: str | None) -> None:
    parts = gathered.parts
    label = _label(parts["label"]) if "label" in parts else gathered.label
    if gathered.kind != "address":
        if "value" in parts:
            entries = record.emails if gathered.kind == "email" else record.phones
            entries.extend(LabelledValue(value, label) for value in _values(parts["value"], separator))
        return
    # Google writes several addresses of one label into one slot, each part ` ::: `-joined.
    split = {name: _values(text, separator) for name, text in parts.items() if name != "label"}
    streets = [(order, _values(text, separator)) for order, text in sorted(gathered.street, key=lambda s: s[0])]
    count = max([len(values) for values in split.values()] + [len(values) for _, values in streets] + [0])
    for position in range(count):
        nth = {name: values[position] for name, values in split.items() if position < len(values)}
        street = "\n".join(values[position] for _, values in streets if position < len(values))
        address = AddressParts(
            label=label,
            street=street or None,
            city=nth.get("city"),
            region=nth.get("region"),
            postal_code=nth.get("postal_code"),
            country=nth.get("country"),
        )
        if not any((address.street, address.city, address.region, address.postal_code, address.country)):
            # A formatted address stands in for the parts only when it is all there is.
            address.street = nth.get("formatted")
        if any((address.street, address.city, address.region, address.postal_code, address.country)):
            record.addresses.append(address)


def _tags(record: ReadRecord, text: str, layout: CsvLayout) -> None:
    if layout.multi_separator is None:
        record.tags.extend(tag for part in layout.tag_separator.split(text) if (tag := part.strip()))
        return
    for tag in _values(text, layout.multi_separator):
        if not tag.startswith("* "):
            record.tags.append(tag)
        elif tag[2:].strip().casefold() == "starred":
            record.favorite = True
        # Other `* ` groups are Google's system groups (My Contacts, Friends, Coworkers): not the user's tags.


def _record(row: list[str], layout: CsvLayout) -> ReadRecord | None:
    """The record of one parsed row, or None when none of its cells holds anything."""
    record = ReadRecord()
    fields: dict[str, list[tuple[int, str]]] = {}
    gathered: dict[tuple[str, str], _Gathered] = {}
    columns = layout.columns
    filled = False
    for index, cell in enumerate(row):
        if not cell or not (value := cell.strip()):
            continue
        if index >= len(columns):
            filled = True
            record.drop(f"column {index + 1}")
            continue
        column = columns[index]
        if column.blanks and value.lower() in column.blanks:
            continue
        filled = True
        target = column.target
        if isinstance(target, Field):
            # A note keeps its indentation and trailing blank lines; every other cell is trimmed.
            fields.setdefault(target.name, []).append((target.order, cell if target.name == "notes" else value))
        elif isinstance(target, Entry):
            key = (target.kind, target.slot)
            entry = gathered.get(key)
            if entry is None:
                entry = gathered[key] = _Gathered(target.kind, column.rank, target.label)
            if target.part == "street":
                entry.street.append((target.order, value))
            else:
                entry.parts.setdefault(target.part, value)
        elif target != IGNORE:
            record.drop(column.name or f"column {index + 1}")
    if not filled:
        return None

    def joined(name: FieldName, separator: str) -> str:
        return separator.join(value for _, value in sorted(fields.get(name, []), key=lambda part: part[0]))

    def first(name: FieldName) -> str | None:
        values = fields.get(name)
        return min(values, key=lambda part: part[0])[1] if values else None

    record.given_name = joined("given", " ")
    record.family_name = first("family") or ""
    record.formatted_name = first("formatted") or ""
    record.organization = joined("organization", ", ") or None
    record.job_title = first("job_title")
    record.notes = first("notes")
    if (birthday := first("birthday")) is not None:
        record.birthday = _birthday(birthday, layout.day_first)
    else:
        record.birthday = _split_birthday(first("birth_year"), first("birth_month"), first("birth_day"))
    for _, text in fields.get("tags", []):
        _tags(record, text, layout)
    for entry in sorted(gathered.values(), key=lambda entry: entry.rank):
        _add_entry(record, entry, layout.multi_separator)
    return record


def _delimiter(text: str) -> str:
    """`,`, or `;` / TAB for a header that has no comma but those (Outlook in some European locales, TSV)."""
    text = text.lstrip("\r\n")  # the header is the first line that is not blank
    end = min((i for i in (text.find("\n"), text.find("\r")) if i >= 0), default=len(text))
    header = text[:end]
    if "," in header:
        return ","
    if ";" in header:
        return ";"
    return "\t" if "\t" in header else ","


def _records(reader: Iterator[list[str]], layout: CsvLayout, line: int) -> Iterator[ReadRecord]:
    while True:
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as exc:
            # The parser's place in the file is lost (an over-long field, say): this record fails, the rest is not read.
            yield ReadRecord(error=f"The CSV record after line {line} cannot be read: {exc}")
            return
        line = getattr(reader, "line_num", line)
        if row and (record := _record(row, layout)) is not None:
            yield record


def read_csv_contacts(data: bytes) -> Iterator[ReadRecord]:
    """The contacts of a CSV export (Google Contacts old and current, Outlook, Roundcube,
    Thunderbird), one `ReadRecord` per non-empty row in file order, read as they are iterated.

    The file is decoded and its header recognised at once: this raises `UndecodableFile` (from
    `decoded_text`) for bytes of no known charset and `NotAnAddressBookCsv` for a file that is
    empty or whose header has no column a contacts export uses. A row the csv module cannot parse
    ends the file with a record whose `error` says why."""
    text = decoded_text(data).removeprefix("\ufeff")
    # newline="": the csv module itself tells a record's end from a CR or LF inside quotes.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text))
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), None)
    except csv.Error as exc:
        raise NotAnAddressBookCsv(f"The first line of this CSV file cannot be read: {exc}") from None
    if header is None:
        raise NotAnAddressBookCsv("This CSV file is empty: it has no header line")
    layout = csv_layout(header)
    return _records(reader, layout, reader.line_num)
