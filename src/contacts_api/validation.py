"""Field types and checks shared by every request schema."""

from __future__ import annotations

import re
from typing import Annotated, Any, TypeVar

import msgspec
from litestar.exceptions import ValidationException

T = TypeVar("T")
_ERROR_LOCATION = re.compile(r"^(?P<message>.*?)(?: - at `\$\.?(?P<key>[^`]*)`)?$", re.DOTALL)

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


# What each pattern means, in words: msgspec's own message for a mismatch quotes the regex.
_PATTERN_MEANINGS: dict[str, str] = {
    STORABLE_TEXT: "Must not contain a NUL character",
    EMAIL_PATTERN: "Invalid email address",
}


def pattern_meaning(pattern: str, meaning: str) -> str:
    """Register the words for a pattern's mismatch message; returns the pattern."""
    _PATTERN_MEANINGS[pattern] = meaning
    return pattern


def plain_message(message: str) -> str:
    """msgspec's "Expected `str` matching regex '…'" in words, for the patterns we know."""
    if message.startswith("Expected `str` matching regex"):
        for pattern, meaning in _PATTERN_MEANINGS.items():
            if repr(pattern) in message:
                return meaning
    return message


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
    pattern = rf"^\s*[^\s\x00](?:[^\x00]{{0,{max_length - 2}}}[^\s\x00])?\s*$"
    return msgspec.Meta(
        max_length=max_length + 100,
        pattern=pattern_meaning(pattern, f"Must be 1 to {max_length} characters once trimmed, with no NUL"),
        description=description,
        examples=examples,
    )


def field_error(field: str, message: str) -> ValueError:
    """An error raised from a Struct's `__post_init__` that still names its field.

    The suffix mirrors msgspec's own error format, which is how Litestar finds the `key` it
    reports in the 400's `extra`.
    """
    return ValueError(f"{message} - at `$.{field}`")


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
        # Litestar's shape: the field's path as `key`, or "data" for the whole body (the error
        # handler then names the field from the message where it can).
        match = _ERROR_LOCATION.match(str(exc))
        message, key = (match["message"], match["key"]) if match else (str(exc), None)
        raise ValidationException(
            detail="Validation failed", extra=[{"message": message, "key": key or "data", "source": "body"}]
        ) from None
    except msgspec.DecodeError as exc:
        raise ValidationException(detail=f"The body is not valid JSON: {exc}") from None


def invalid_field(field: str, message: str, source: str = "body") -> ValidationException:
    """A 400 for a rule only a service can check, in the same shape as a schema failure."""
    return ValidationException(detail="Validation failed", extra=[{"message": message, "key": field, "source": source}])
