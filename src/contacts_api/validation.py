"""Field types and checks shared by every request schema."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from email_validator import EmailNotValidError, validate_email
from litestar.exceptions import ValidationException

T = TypeVar("T")
_NAMED_FIELD = re.compile(r"field `(?P<field>[^`]+)`")
_ERROR_LOCATION = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>[^`]*)`)?$", re.DOTALL)

# A NUL cannot be stored in PostgreSQL text: refusing it in every string keeps it from turning
# into a 500 further down. (A lone surrogate never gets this far: the JSON decoder refuses it.)
STORABLE_TEXT = r"^[^\x00]*$"
MAX_EMAIL_LENGTH = 254  # RFC 5321's path limit, less the angle brackets

# The syntax of the addresses we accept, written out so that the OpenAPI document states it and a
# client (or a fuzzer) can tell a valid address before sending it: a dot-atom local part of at
# most 64 characters (up to four dot-separated parts), then a domain of letter-digit-hyphen labels
# ending in an alphabetic top-level domain. email-validator then checks the rest (RFC 5321/5322,
# special-use domains). Surrounding white space is allowed and trimmed.
_ATEXT = r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]"
_LOCAL_PART = (
    rf"(?:{_ATEXT}{{1,64}}|{_ATEXT}{{1,31}}\.{_ATEXT}{{1,32}}|(?:{_ATEXT}{{1,20}}\.){{2}}{_ATEXT}{{1,20}}"
    rf"|(?:{_ATEXT}{{1,15}}\.){{3}}{_ATEXT}{{1,15}})"
)
_DOMAIN = r"(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}"
EMAIL_PATTERN = rf"^\s*{_LOCAL_PART}@{_DOMAIN}\s*$"


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


def trimmed_text(*, max_length: int, description: str, examples: list[str]) -> msgspec.Meta:
    """Text of 1 to `max_length` characters once surrounding white space is trimmed.

    Said as a pattern (first and last non-space character, up to `max_length` in all between
    them), so the limit counts the trimmed text, as the contract has it, and the document can
    state it; the raw value may carry up to 100 characters of white space around it.
    """
    return msgspec.Meta(
        max_length=max_length + 100,
        pattern=rf"^\s*[^\s\x00](?:[^\x00]{{0,{max_length - 2}}}[^\s\x00])?\s*$",
        description=description,
        examples=examples,
    )


def field_error(field: str, message: str) -> ValueError:
    """An error raised from a Struct's `__post_init__` that still names its field.

    The suffix mirrors msgspec's own error format, which is how Litestar finds the `key` it
    reports in the 400's `extra`.
    """
    return ValueError(f"{message} - at `$.{field}`")


def normalize_email(value: str, field: str = "email") -> str:
    """Trim, check the syntax for real (RFC 5321/5322, via email-validator) and lower-case."""
    candidate = value.strip()
    try:
        result = validate_email(candidate, check_deliverability=False)
    except EmailNotValidError as exc:
        raise field_error(field, f"Invalid email address: {exc}") from None
    # The ASCII form (punycode domain), as clients type it and as login will look it up.
    return (result.ascii_email or result.normalized).lower()


def decode_body(raw: bytes | dict[str, Any], schema: type[T]) -> T:
    """Decode a body Litestar could not decode for us (login's JSON-or-form), with the same 400s."""
    try:
        if isinstance(raw, bytes):
            return msgspec.json.decode(raw, type=schema)
        return msgspec.convert(raw, schema, strict=False)
    except msgspec.ValidationError as exc:
        match = _ERROR_LOCATION.match(str(exc))
        message, key = (match["message"], match["key"]) if match else (str(exc), None)
        if not key and (named := _NAMED_FIELD.search(message)):
            key = named["field"]  # "Object missing required field `password`"
        extra: dict[str, str] = {"message": message, "source": "body"}
        if key:
            extra["key"] = key
        raise ValidationException(detail="Validation failed", extra=[extra]) from None
    except msgspec.DecodeError as exc:
        raise ValidationException(detail=f"The body is not valid JSON: {exc}") from None


def invalid_field(field: str, message: str, source: str = "body") -> ValidationException:
    """A 400 for a rule only a service can check, in the same shape as a schema failure."""
    return ValidationException(detail="Validation failed", extra=[{"message": message, "key": field, "source": source}])
