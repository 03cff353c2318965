"""The contact entity (version 2 of the contract) and the views of it that the API shows and accepts.

A field is declared once, on `Contact` (or on the entry structs its lists hold), with its rules
(msgspec constraints that the request decoder enforces and the OpenAPI document states). Each
view is a Litestar `MsgspecDTO` (`EntityDTO`, see dto.py) whose `DTOConfig` says which of those
fields it carries:

- `ContactReadDTO`: every answer; the owner stays private.
- `ContactWriteDTO`: create (POST) and replace (PUT); server-owned fields (`id`, `owner_id`,
  timestamps, `etag`, each phone's `e164`) are not part of it, and a body that sends one is a 400
  (unknown field). Every field but `first_name` is optional, so a version 1 body (first and
  last name, email, phone, birthday, notes) is still a whole contact.
- `ContactPatchDTO`: PATCH, the same fields, each optional (`partial=True`).

`email` and `phone` are the version 1 fields, kept as views of the lists: the first entry's
value. The service (service.py) turns them into list entries on input; the repository fills them
from the lists on output.

Adding a field to the API is adding it here (and to the table in `models.py`): the repository
maps rows to entities by name, never by position.
"""

from __future__ import annotations

import datetime
import re
import uuid
from dataclasses import dataclass
from typing import Annotated, Generic, Literal, TypedDict, TypeVar

import msgspec
from litestar.dto import DTOConfig
from litestar.openapi.spec import Example
from litestar.params import Body

from contacts_api.dto import EntityDTO, EntityReadDTO, excluded_in_optional
from contacts_api.error_messages import pattern_meaning
from contacts_api.validation import EmailText, text, trimmed_text

MAX_EMAILS = MAX_PHONES = MAX_TAGS = 20
MAX_ADDRESSES = 10

Name = Annotated[str, trimmed_text(max_length=100, description="1 to 100 characters, trimmed", examples=["Ada"])]
LastName = Annotated[
    str,
    trimmed_text(
        max_length=100,
        description='0 to 100 characters, trimmed; "" when absent',
        examples=["Lovelace"],
        may_be_empty=True,
    ),
]
Phone = Annotated[
    str,
    msgspec.Meta(
        min_length=7,
        max_length=20,
        # Digits, spaces and + - ( ) ., with at least seven digits.
        pattern=pattern_meaning(
            r"^[ +().-]*(?:[0-9][ +().-]*){7,}$",
            "A phone number has 7 to 20 characters: digits, spaces and + - ( ) ., with at least 7 digits",
        ),
        description="7 to 20 characters of digits, spaces and + - ( ) ., with at least 7 digits; stored as given",
        examples=["+44 20 7946 0958"],
    ),
]
E164 = Annotated[
    str,
    msgspec.Meta(
        description=(
            "Read-only: the number in ITU-T E.164 form, derived with libphonenumber when it can be read"
            " (a leading +, or the server's DEFAULT_PHONE_REGION set); null otherwise"
        ),
        examples=["+442079460958"],
    ),
]
Label = Annotated[
    str,
    trimmed_text(max_length=40, description="Free text, 1 to 40 characters, trimmed", examples=["work"]),
]
AddressText = Annotated[str, text(max_length=200, description="0 to 200 characters")]
OrganizationText = Annotated[str, text(max_length=200, description="0 to 200 characters", examples=["Navy"])]
Tag = Annotated[str, trimmed_text(max_length=40, description="1 to 40 characters, trimmed", examples=["family"])]
BIRTHDAY_PATTERN = pattern_meaning(
    r"^(?:[0-9]{4}|-)-(?:0[1-9]|1[0-2])-(?:0[1-9]|[12][0-9]|3[01])$",
    "A birthday is a date YYYY-MM-DD or, without the year, --MM-DD",
)
Birthday = Annotated[
    str,
    msgspec.Meta(
        pattern=BIRTHDAY_PATTERN,
        description=(
            "A date YYYY-MM-DD (ISO 8601) from the year 1000 up to today (UTC), or a birthday without the year,"
            " --MM-DD (RFC 6350 §4.3.1), any real month and day, --02-29 included. A date that does not exist"
            " (2023-02-29, --04-31) or lies in the future is a 400."
        ),
        examples=["1906-12-09", "--12-09"],
    ),
]
Notes = Annotated[str, text(max_length=2000, description="Free text, up to 2,000 characters")]


class EmailEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One email address of a contact."""

    value: EmailText
    label: (
        Annotated[Label, msgspec.Meta(description="Free text, 1 to 40 characters; well-known: home, work, other")]
        | None
    ) = None


PhoneLabel = Annotated[
    Label, msgspec.Meta(description="Free text, 1 to 40 characters; well-known: mobile, home, work, main, fax, other")
]


class PhoneEntry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One phone number of a contact, as typed, with its E.164 form."""

    value: Phone
    label: PhoneLabel | None = None
    e164: E164 | None = None


class PhoneEntryWrite(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One phone number as a client sends it: `e164` is the server's to derive."""

    value: Phone
    label: PhoneLabel | None = None


class PostalAddress(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """One postal address of a contact (the parts of vCard's ADR); every part is optional."""

    label: AddressText | None = None
    street: AddressText | None = None
    city: AddressText | None = None
    region: AddressText | None = None
    postal_code: AddressText | None = None
    country: AddressText | None = None


class Contact(msgspec.Struct, kw_only=True):
    """A contact in one user's address book: every field, as stored (`email` and `phone` are the
    first entries' values, derived)."""

    id: uuid.UUID
    owner_id: uuid.UUID
    first_name: Name
    last_name: LastName = ""
    email: (
        Annotated[
            EmailText, msgspec.Meta(description="The first email's value (version 1). Send it or `emails`, not both")
        ]
        | None
    ) = None
    phone: (
        Annotated[Phone, msgspec.Meta(description="The first phone's value (version 1). Send it or `phones`, not both")]
        | None
    ) = None
    emails: Annotated[
        list[EmailEntry],
        msgspec.Meta(max_length=MAX_EMAILS, description="0 to 20; an address is on at most one of your contacts"),
    ] = msgspec.field(default_factory=list)
    phones: Annotated[list[PhoneEntry], msgspec.Meta(max_length=MAX_PHONES, description="0 to 20")] = msgspec.field(
        default_factory=list
    )
    addresses: Annotated[list[PostalAddress], msgspec.Meta(max_length=MAX_ADDRESSES, description="0 to 10")] = (
        msgspec.field(default_factory=list)
    )
    organization: OrganizationText | None = None
    job_title: OrganizationText | None = None
    birthday: Birthday | None = None
    notes: Notes | None = None
    tags: Annotated[
        list[Tag],
        msgspec.Meta(
            max_length=MAX_TAGS,
            description="0 to 20; compared case-insensitively, kept as first given, duplicates dropped",
        ),
    ] = msgspec.field(default_factory=list)
    favorite: bool = False
    etag: Annotated[
        str,
        msgspec.Meta(
            description=(
                "Read-only: the contact's current strong entity tag (RFC 9110 §8.8.3), as its `ETag` header"
                " gives it; send it in `If-Match` to change the contact only if nobody changed it since"
            ),
            examples=['"42"'],
        ),
    ] = ""
    created_at: datetime.datetime
    updated_at: datetime.datetime
    # The number of the owner's change that wrote this version (sync.py): private, the ETag shows it.
    change_seq: int = 0

    def __post_init__(self) -> None:
        # Derived here, the one place: every way a contact is built (rows, imports, tests) has it.
        self.etag = etag_of(self.change_seq)


# A contact's entity tags (RFC 9110 §8.8.3), all here: each representation of version 42 has its
# own strong tag, `"42"` for the JSON and `"42-vcard"` for the vCard, and both name that version.
_OPAQUE_TAG = re.compile(r"([0-9]{1,18})(?:-vcard)?")


def etag_of(change_seq: int) -> str:
    """The strong ETag of the JSON representation of a contact at version `change_seq`: `"42"`."""
    return f'"{change_seq}"'


def vcard_etag_of(change_seq: int) -> str:
    """The strong ETag of the contact's vCard at version `change_seq`: `"42-vcard"`."""
    return f'"{change_seq}-vcard"'


def version_in(opaque_tag: str) -> int | None:
    """The version an entity tag's opaque part (unquoted) names, or None for a tag not of ours."""
    return int(match[1]) if (match := _OPAQUE_TAG.fullmatch(opaque_tag)) else None


class Primaries(TypedDict):
    email: str | None
    phone: str | None


def primaries(emails: list[EmailEntry], phones: list[PhoneEntry]) -> Primaries:
    """The version 1 fields `email` and `phone` of a contact with these lists: the first
    entries' values, or None. The one place they are derived."""
    return {"email": emails[0].value if emails else None, "phone": phones[0].value if phones else None}


class UpcomingBirthday(Contact, kw_only=True):
    """A contact with its next birthday (UTC), as the birthdays route lists it."""

    next_birthday: Annotated[datetime.date, msgspec.Meta(description="The date of the next birthday, UTC")]
    age: Annotated[
        int | None, msgspec.Meta(description="The age the contact turns on `next_birthday`; null without a birth year")
    ] = None


class TagCount(msgspec.Struct, kw_only=True):
    """A tag in use in the address book, and on how many contacts."""

    name: Annotated[
        str,
        msgspec.Meta(description="One spelling in use (the first in byte order, as `Family` before `family`)"),
    ]
    count: Annotated[int, msgspec.Meta(ge=1, description="Contacts with this tag")]


class ContactChange(msgspec.Struct, kw_only=True):
    """One entry of the changes feed: a contact as it is now, or its deletion."""

    id: Annotated[uuid.UUID, msgspec.Meta(description="The contact's id")]
    deleted: Annotated[bool, msgspec.Meta(description="True when the contact was deleted (a tombstone)")]
    contact: Contact | None = None


T = TypeVar("T")


@dataclass
class ChangesPage(Generic[T]):
    """A page of the changes feed (sync.py): follow `cursor` while `has_more`, then keep it for the
    next sync."""

    changes: list[T]
    cursor: str
    has_more: bool


# Fields the server sets; no body can carry them.
SERVER_OWNED = frozenset({"id", "owner_id", "created_at", "updated_at", "etag", "change_seq"})
PRIVATE = frozenset({"owner_id", "change_seq"})


# The lists, typed by the views themselves (see dto.EntityDTO.field_types). In request bodies
# their entries reach the service as sent, which checks them whole against the entity, in a PATCH
# too; in answers msgspec encodes the stored entries as they are, where Litestar's nested
# transfer structs cost a third of a large answer's time (an `isinstance(…, typing.Mapping)` per
# entry). The document states them (controller.document_contacts).
READ_ENTRIES = {"emails": EmailEntry, "phones": PhoneEntry, "addresses": PostalAddress}
READ_LISTS = {name: list[entry] for name, entry in READ_ENTRIES.items()}  # type: ignore[valid-type]
WRITE_ENTRIES = {"emails": EmailEntry, "phones": PhoneEntryWrite, "addresses": PostalAddress}
WRITE_LISTS = {
    "emails": Annotated[list[EmailEntry], msgspec.Meta(max_length=MAX_EMAILS)],
    "phones": Annotated[list[PhoneEntryWrite], msgspec.Meta(max_length=MAX_PHONES)],
    "addresses": Annotated[list[PostalAddress], msgspec.Meta(max_length=MAX_ADDRESSES)],
}


class ContactReadDTO(EntityReadDTO[Contact]):
    config = DTOConfig(exclude=PRIVATE)
    field_types = READ_LISTS
    __schema_name__ = "ContactRead"


class ContactWriteDTO(EntityDTO[Contact]):
    """A whole contact: the body of create (POST) and replace (PUT). Absent fields are cleared."""

    config = DTOConfig(exclude=SERVER_OWNED, forbid_unknown_fields=True)
    field_types = WRITE_LISTS
    unset_when_absent = frozenset({"email", "phone", "emails", "phones"})
    __schema_name__ = "ContactWrite"


class ContactPatchDTO(EntityDTO[Contact]):
    """Any subset of a contact's fields: an absent field keeps its value, `null` clears an optional one."""

    config = DTOConfig(exclude=SERVER_OWNED, partial=True, forbid_unknown_fields=True)
    field_types = WRITE_LISTS
    __schema_name__ = "ContactPatch"


class ContactChangeDTO(EntityReadDTO[ContactChange]):
    config = DTOConfig(exclude=excluded_in_optional("contact", PRIVATE), max_nested_depth=2)
    field_types = READ_LISTS
    __schema_name__ = "ContactChange"


class UpcomingBirthdayDTO(EntityReadDTO[UpcomingBirthday]):
    config = DTOConfig(exclude=PRIVATE)
    field_types = READ_LISTS
    __schema_name__ = "UpcomingBirthday"


ContactSort = Literal["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]


class ContactFilters(msgspec.Struct, kw_only=True, frozen=True):
    """The list's search parameters, already validated."""

    q: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    tags: tuple[str, ...] = ()
    favorite: bool | None = None


# The examples the docs pages show for the request bodies.
GRACE = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "emails": [{"value": "grace@example.com", "label": "work"}],
    "phones": [{"value": "+1 555 010 0200", "label": "mobile"}, {"value": "+1 555 010 0201", "label": "work"}],
    "addresses": [{"label": "work", "street": "1 Navy Yard", "city": "Washington", "region": "DC", "country": "USA"}],
    "organization": "US Navy",
    "job_title": "Rear Admiral",
    "birthday": "1906-12-09",
    "notes": "Met at the compiler meetup",
    "tags": ["work", "compilers"],
    "favorite": True,
}
VERSION_1 = {
    "first_name": "Ada",
    "last_name": "Lovelace",
    "email": "ada@example.com",
    "phone": "+44 20 7946 0958",
    "birthday": "1815-12-10",
}
WRITE_EXAMPLES = Body(
    examples=[
        Example(summary="A whole contact", value=GRACE),
        Example(summary="A version 1 body: one email and one phone", value=VERSION_1),
        Example(
            summary="Only a name and a birthday without the year", value={"first_name": "Sam", "birthday": "--07-14"}
        ),
    ]
)
PATCH_EXAMPLES = Body(
    examples=[
        Example(summary="Star a contact and tag it", value={"favorite": True, "tags": ["family"]}),
        Example(
            summary="Change the first phone's number; null clears the notes",
            value={"phone": "+1 555 010 0300", "notes": None},
        ),
    ]
)
