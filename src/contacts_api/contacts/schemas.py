"""The contact entity and the views of it that the API shows and accepts.

A field is declared once, on `Contact`, with its rules (msgspec constraints that the request
decoder enforces and the OpenAPI document states). Each view is a Litestar `MsgspecDTO` (`EntityDTO`, see dto.py) whose
`DTOConfig` says which of those fields it carries:

- `ContactReadDTO`: every answer; the owner stays private.
- `ContactWriteDTO`: create (POST) and replace (PUT); server-owned fields (`id`, `owner_id`,
  timestamps) are not part of it, and a body that sends one is a 400 (unknown field).
- `ContactPatchDTO`: PATCH, the same fields, each optional (`partial=True`).

Adding a field to the API is adding it here (and to the table in `models.py`): the repository
maps rows to entities by name, never by position.
"""

from __future__ import annotations

import datetime
import uuid
from typing import Annotated

import msgspec
from litestar.dto import DTOConfig
from litestar.openapi.spec import Example
from litestar.params import Body

from contacts_api.dto import EntityDTO, EntityReadDTO
from contacts_api.error_messages import pattern_meaning
from contacts_api.validation import EmailText, text, trimmed_text

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
Birthday = Annotated[datetime.date, msgspec.Meta(description="Not in the future", examples=["1990-05-17"])]
Notes = Annotated[str, text(max_length=2000, description="Free text, up to 2,000 characters")]


class Contact(msgspec.Struct, kw_only=True):
    """A contact in one user's address book: every field, as stored."""

    id: uuid.UUID
    owner_id: uuid.UUID
    first_name: Name
    last_name: Name
    email: EmailText
    phone: Phone
    birthday: Birthday
    notes: Notes | None = None
    created_at: datetime.datetime
    updated_at: datetime.datetime


class UpcomingBirthday(Contact, kw_only=True):
    """A contact with its next birthday (UTC), as the birthdays route lists it."""

    next_birthday: Annotated[datetime.date, msgspec.Meta(description="The date of the next birthday, UTC")]


# Fields the server sets; no body can carry them.
SERVER_OWNED = frozenset({"id", "owner_id", "created_at", "updated_at"})
PRIVATE = frozenset({"owner_id"})


class ContactReadDTO(EntityReadDTO[Contact]):
    config = DTOConfig(exclude=PRIVATE)
    __schema_name__ = "ContactRead"


class ContactWriteDTO(EntityDTO[Contact]):
    """A whole contact: the body of create (POST) and replace (PUT). Absent notes are cleared."""

    config = DTOConfig(exclude=SERVER_OWNED, forbid_unknown_fields=True)
    __schema_name__ = "ContactWrite"


class ContactPatchDTO(EntityDTO[Contact]):
    """Any subset of a contact's fields: an absent field keeps its value, `notes: null` clears it."""

    config = DTOConfig(exclude=SERVER_OWNED, partial=True, forbid_unknown_fields=True)
    __schema_name__ = "ContactPatch"


class UpcomingBirthdayDTO(EntityReadDTO[UpcomingBirthday]):
    config = DTOConfig(exclude=PRIVATE)
    __schema_name__ = "UpcomingBirthday"


class ContactFilters(msgspec.Struct, kw_only=True, frozen=True):
    """The list's search parameters, already validated."""

    q: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None


# The examples the docs pages show for the request bodies.
GRACE = {
    "first_name": "Grace",
    "last_name": "Hopper",
    "email": "grace@example.com",
    "phone": "+1 555 010 0200",
    "birthday": "1906-12-09",
    "notes": "Met at the compiler meetup",
}
WRITE_EXAMPLES = Body(examples=[Example(summary="A whole contact", value=GRACE)])
PATCH_EXAMPLES = Body(
    examples=[Example(summary="Some fields; null clears the notes", value={"phone": "+1 555 010 0300", "notes": None})]
)
