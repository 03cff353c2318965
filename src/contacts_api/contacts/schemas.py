"""What the contacts routes accept and return.

Input schemas have no `id`, `owner_id` or timestamp fields and forbid unknown fields, so a
client can never set them: sending one is a 400.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec
from litestar.openapi.spec import Example
from litestar.params import Body

from contacts_api.validation import EmailText, field_error, normalize_email, pattern_meaning, text, trimmed_text

Name = Annotated[str, trimmed_text(max_length=100, description="1 to 100 characters, trimmed", examples=["Ada"])]
Phone = Annotated[
    str,
    msgspec.Meta(
        min_length=7,
        max_length=20,
        # Digits, spaces and + - ( ), with at least seven digits.
        pattern=pattern_meaning(
            r"^[ +()-]*(?:[0-9][ +()-]*){7,}$",
            "A phone number has 7 to 20 characters: digits, spaces and + - ( ), with at least 7 digits",
        ),
        description="7 to 20 characters of digits, spaces and + - ( ), with at least 7 digits",
        examples=["+44 20 7946 0958"],
    ),
]
Notes = Annotated[str, text(max_length=2000, description="Free text, up to 2,000 characters")]


def check_phone(phone: str) -> None:
    # msgspec matches patterns with re.search, whose `$` also accepts a final newline.
    if "\n" in phone:
        raise field_error("phone", "A phone number cannot contain a line break")


class ContactWrite(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    """A whole contact: the body of create (POST) and replace (PUT)."""

    first_name: Name
    last_name: Name
    email: EmailText
    phone: Phone
    birthday: Annotated[datetime.date, msgspec.Meta(description="Not in the future", examples=["1990-05-17"])]
    notes: Notes | None = None

    def __post_init__(self) -> None:
        self.first_name = self.first_name.strip()
        self.last_name = self.last_name.strip()
        self.email = normalize_email(self.email)
        check_phone(self.phone)

    def fields(self) -> dict[str, object]:
        return msgspec.structs.asdict(self)


class ContactPatch(msgspec.Struct, forbid_unknown_fields=True, kw_only=True, omit_defaults=True):
    """Any subset of a contact's fields. An absent field keeps its value; `notes: null` clears it."""

    first_name: Name | msgspec.UnsetType = msgspec.UNSET
    last_name: Name | msgspec.UnsetType = msgspec.UNSET
    email: EmailText | msgspec.UnsetType = msgspec.UNSET
    phone: Phone | msgspec.UnsetType = msgspec.UNSET
    birthday: datetime.date | msgspec.UnsetType = msgspec.UNSET
    notes: Notes | msgspec.UnsetType | None = msgspec.UNSET

    def __post_init__(self) -> None:
        if isinstance(self.first_name, str):
            self.first_name = self.first_name.strip()
        if isinstance(self.last_name, str):
            self.last_name = self.last_name.strip()
        if isinstance(self.email, str):
            self.email = normalize_email(self.email)
        if isinstance(self.phone, str):
            check_phone(self.phone)

    def fields(self) -> dict[str, object]:
        """Only the fields the client sent."""
        return {name: value for name, value in msgspec.structs.asdict(self).items() if value is not msgspec.UNSET}


class ContactRead(msgspec.Struct):
    """A contact as the API returns it. Positional fields: the repository fills one from a row."""

    id: uuid.UUID
    first_name: str
    last_name: str
    email: str
    phone: str
    birthday: datetime.date
    notes: str | None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UpcomingBirthday(ContactRead, kw_only=True):
    next_birthday: Annotated[datetime.date, msgspec.Meta(description="The date of the next birthday, UTC")]


class ContactPage(msgspec.Struct, kw_only=True):
    items: list[ContactRead]
    total: Annotated[int, msgspec.Meta(description="All contacts matching the filters")]
    limit: int
    offset: int


class ContactFilters(msgspec.Struct, kw_only=True, frozen=True):
    """The list's search parameters, already validated."""

    q: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


# Request bodies as the routes declare them, with the examples the docs pages show.
_GRACE = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "phone": "+1 555 010 0200",
    "birthday": "1906-12-09",
    "notes": "Met at the compiler meetup",
}
ContactWriteBody = Annotated[ContactWrite, Body(examples=[Example(summary="A whole contact", value=_GRACE)])]
ContactPatchBody = Annotated[
    ContactPatch,
    Body(
        examples=[
            Example(summary="Some fields; null clears the notes", value={"phone": "+1 555 010 0300", "notes": None})
        ]
    ),
]
