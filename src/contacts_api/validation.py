"""Field types and checks shared by every request schema."""

from __future__ import annotations

import functools
import typing
from collections.abc import Mapping
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.exceptions import ValidationException

from contacts_api.error_messages import (
    item_from_decoder,
    locate_undecodable_value,
    pattern_meaning,
    plain_message,
    split_location,
)

T = TypeVar("T")

# A NUL cannot be stored in PostgreSQL text: refusing it in every string keeps it from turning
# into a 500 further down. (A lone surrogate never gets this far: the JSON decoder refuses it.)
STORABLE_TEXT = r"^[^\x00]*$"
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets

# The addresses we accept, as one pattern: the rule itself, stated in the OpenAPI document so
# that a client (or a fuzzer) can tell a valid address before sending it.
# - local part: an RFC 5322 dot-atom (letters, digits and !#$%&'*+/=?^_`{|}~-, single dots
#   between them, none first or last), with at most 64 characters besides the dots;
# - domain: RFC 1035 host labels (letters, digits, inner hyphens, at most 63 characters each),
#   at least two, the last alphabetic; internationalised domains in their ASCII (xn--) form.
# Surrounding white space is allowed and trimmed; the whole address is at most 254 characters.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~\-]"
_LOCAL_PART = rf"{_ATEXT}(?:\.?{_ATEXT}){{0,63}}"
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
EMAIL_PATTERN = rf"^\s*{_LOCAL_PART}@{_DOMAIN}\s*$"


pattern_meaning(STORABLE_TEXT, "Must not contain a NUL character")
pattern_meaning(EMAIL_PATTERN, "Invalid email address")


def text(
    *,
    min_length: int = 0,
    max_length: int,
    description: str = "",
    examples: list[str] | None = None,
) -> msgspec.Meta:
    return msgspec.Meta(
        min_length=min_length,
        max_length=max_length,
        pattern=STORABLE_TEXT,
        description=description or None,
        examples=examples,
    )


EmailText = Annotated[
    str,
    msgspec.Meta(
        min_length=6,
        max_length=MAX_EMAIL_LENGTH,
        pattern=EMAIL_PATTERN,
        description="An email address; stored lower-cased",
        examples=["ada@example.com"],
    ),
]


def trimmed_text(*, max_length: int, description: str, examples: list[str], may_be_empty: bool = False) -> msgspec.Meta:
    """Text of 1 (0 if `may_be_empty`) to `max_length` characters once surrounding white space
    is trimmed.

    Said as a pattern (first and last non-space character, up to `max_length` in all between
    them), so the limit counts the trimmed text, as the contract has it, and the document can
    state it; the raw value may carry up to 100 characters of white space around it.
    """
    inner = rf"[^\s\x00](?:[^\x00]{{0,{max_length - 2}}}[^\s\x00])?"
    pattern = rf"^\s*(?:{inner})?\s*$" if may_be_empty else rf"^\s*{inner}\s*$"
    least = 0 if may_be_empty else 1
    return msgspec.Meta(
        max_length=max_length + 100,
        pattern=pattern_meaning(pattern, f"Must be {least} to {max_length} characters once trimmed, with no NUL"),
        description=description,
        examples=examples,
    )


def normalize_email(value: str) -> str:
    """The stored form of an address that matched EMAIL_PATTERN: trimmed and lower-cased."""
    return value.strip().lower()


def decode_body(raw: bytes | dict[str, Any], schema: type[T]) -> T:
    """Decode a body Litestar could not decode for us (login's JSON-or-form), with the same 400s."""
    try:
        if isinstance(raw, bytes):
            return msgspec.json.decode(raw, type=schema)
        return msgspec.convert(raw, schema, strict=False)
    except msgspec.ValidationError as exc:
        raise ValidationException(detail="Validation failed", extra=[item_from_decoder(str(exc))]) from None
    except msgspec.DecodeError as exc:
        if isinstance(raw, bytes) and (located := locate_undecodable_value(raw)) is not None:
            raise ValidationException(detail="Validation failed", extra=[located]) from None
        raise ValidationException(detail=f"The body is not valid JSON: {exc}") from None


def invalid_field(field: str, message: str, source: str = "body") -> ValidationException:
    """A 400 for a rule only a service can check, in the same shape as a schema failure."""
    return ValidationException(detail="Validation failed", extra=[{"message": message, "key": field, "source": source}])


@functools.cache
def _field_types(model: type[msgspec.Struct]) -> dict[str, Any]:
    return typing.get_type_hints(model, include_extras=True)


def check_fields(model: type[msgspec.Struct], fields: Mapping[str, Any]) -> None:
    """Check each value against its field's annotation on `model` (type and constraints), as the
    request decoder would; a 400 naming the first field that breaks its rule."""
    types = _field_types(model)
    for name, value in fields.items():
        try:
            msgspec.convert(value, types[name])
        except msgspec.ValidationError as exc:
            raise invalid_field(name, plain_message(split_location(str(exc))[0])) from None


def converted_fields(model: type[msgspec.Struct], fields: Mapping[str, Any]) -> dict[str, Any]:
    """`fields` (builtins: dicts, lists, strings) converted to the types of `model`'s fields and
    checked against their constraints, nested entries included, as the request decoder would;
    a 400 naming the first (top-level) field that breaks its rule."""
    types = _field_types(model)
    converted: dict[str, Any] = {}
    for name, value in fields.items():
        try:
            converted[name] = msgspec.convert(value, types[name])
        except msgspec.ValidationError as exc:
            text = str(exc)
            message, _ = split_location(text)
            where = text.rpartition(" - at `$")[2].rstrip("`") if " - at `$" in text else ""
            detail = plain_message(message) + (f" (at {name}{where})" if where else "")
            raise invalid_field(name, detail) from None
    return converted
