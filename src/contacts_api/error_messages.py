"""What this project knows of msgspec's and Litestar's error texts and exception chains.

Every 400 names its field (`extra: [{message, key, source}]`), whichever layer found the fault:
msgspec decoding a body for Litestar's signature model, a Litestar DTO decoding one, or our own
checks. Those layers say where the fault is only in their message texts and exception chains,
so that knowledge lives here alone; tests/test_error_messages.py holds one test per form
understood, so that an upgrade that changes one fails a test instead of changing answers.

Forms understood:
- msgspec: "<problem> - at `$.field`" (also `$.field[0]`, `$[0]`), "Object contains unknown field
  `x`", "Object missing required field `x`", "Expected `str` matching regex '<pattern>'".
- Litestar's signature model: a missing body reported under the key "data" as "'data'".
- Litestar's DTO layer: a body that fails to decode becomes ClientException, caused by
  SerializationException, caused by msgspec's ValidationError (or DecodeError for bad JSON).
- Litestar: "client disconnected prematurely" when the client hangs up mid-body.
- The drivers: SQLite reports a unique violation only in words ("UNIQUE constraint failed: …",
  no SQLSTATE), and asyncpg a closed connection as an InterfaceError whose text says
  "connection is closed" (the test SQLAlchemy itself applies).
- msgspec decoding a body into plain values (Litestar's signature model does, before checking
  the fields): a number out of range is reported at "`$[...]`", with no field; a lone surrogate
  (`"\\ud800"`) makes the whole document malformed JSON ("unexpected end of escaped utf-16
  surrogate pair", or "Input data was truncated" at the end). The field is then found in the
  body itself (`locate_undecodable_value`), which Litestar keeps in its scope state once read.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

import msgspec
from litestar.connection import ASGIConnection
from litestar.exceptions import ClientException, SerializationException
from litestar.types import Empty
from litestar.utils.scope.state import ScopeState

_LOCATION = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.DOTALL)
_FIRST_KEY = re.compile(r"^\.(?P<key>[^.\[]+)")
_FIELD_IN_MESSAGE = re.compile(r"^Object (?:contains unknown|missing required) field `(?P<field>[^`]+)`$")
_REGEX_MISMATCH = "Expected `str` matching regex"
MISSING_BODY = "'data'"
NUMBER_OUT_OF_RANGE = "Number out of range"
# msgspec's integers are 64-bit; a float beyond the double range is "out of range" too.
_INT_RANGE = range(-(2**63), 2**64)
CLIENT_GONE = "client disconnected prematurely"

# What each pattern means, in words: msgspec's own message for a mismatch quotes the regex.
_PATTERN_MEANINGS: dict[str, str] = {}


def pattern_meaning(pattern: str, meaning: str) -> str:
    """Register the words for a pattern's mismatch message; returns the pattern."""
    _PATTERN_MEANINGS[pattern] = meaning
    return pattern


def plain_message(message: str) -> str:
    """msgspec's "Expected `str` matching regex '…'" in words, for the patterns we know."""
    if message.startswith(_REGEX_MISMATCH):
        for pattern, meaning in _PATTERN_MEANINGS.items():
            if repr(pattern) in message:
                return meaning
    return message


def split_location(message: str) -> tuple[str, str | None]:
    """A msgspec message and the top-level field it is about, if it names one:
    "Expected `int` - at `$.limit`" → ("Expected `int`", "limit")."""
    match = _LOCATION.match(message)
    if match is None or match["path"] is None:
        return message, None
    named = _FIRST_KEY.match(match["path"])
    return match["message"], named["key"] if named else None


def field_error_item(message: str, key: str | None, source: str = "body") -> dict[str, Any]:
    """One entry of a 400's `extra`: the message in words and the field it names. A fault of
    the whole body is reported under the key "data", as Litestar does."""
    message = plain_message(message)
    if key in (None, "data"):
        if message == MISSING_BODY:
            return {"message": "A request body is required", "key": "data", "source": source}
        if named := _FIELD_IN_MESSAGE.match(message):
            key = named["field"]
    return {"message": message, "key": key or "data", "source": source}


def item_from_decoder(message: str, source: str = "body") -> dict[str, Any]:
    """The `extra` entry for a msgspec ValidationError's text."""
    text, key = split_location(message)
    return field_error_item(text, key, source)


def dto_validation_message(exc: ClientException) -> str | None:
    """The msgspec message behind a DTO's failed body, or None if `exc` is something else (a
    malformed JSON document, a bad multipart body, a bad header…)."""
    cause = serialization_cause(exc)
    return str(cause) if isinstance(cause, msgspec.ValidationError) else None


def field_error(field: str, message: str) -> ValueError:
    """An error raised from a Struct's `__post_init__` that still names its field: the suffix is
    msgspec's own location format, which split_location reads back."""
    return ValueError(f"{message} - at `$.{field}`")


def read_body(connection: ASGIConnection[Any, Any, Any, Any]) -> bytes | None:
    """The request body if Litestar has read it already (it keeps it in the scope's state)."""
    body = ScopeState.from_scope(connection.scope).body
    return None if body is Empty else bytes(body)


def locate_undecodable_value(body: bytes) -> dict[str, Any] | None:
    """The `extra` entry for the first value msgspec cannot decode though the JSON is well-formed
    by Python's reading of RFC 8259: a number out of range or a string with a lone surrogate.
    None when there is none, or the body is not JSON at all."""
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return None
    found = _first_undecodable(document, None)
    if found is None:
        return None
    key, message = found
    return {"message": message, "key": key or "data", "source": "body"}


def _first_undecodable(value: Any, key: str | None) -> tuple[str | None, str] | None:
    if isinstance(value, dict):
        for name, item in value.items():
            if (found := _first_undecodable(name, key if key is not None else str(name))) is not None:
                return found
            if (found := _first_undecodable(item, key if key is not None else str(name))) is not None:
                return found
        return None
    if isinstance(value, list):
        return next((found for item in value if (found := _first_undecodable(item, key)) is not None), None)
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return key, NUMBER_OUT_OF_RANGE
    if isinstance(value, int) and value not in _INT_RANGE:
        return key, NUMBER_OUT_OF_RANGE
    if isinstance(value, str):
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return key, "Must not contain a lone surrogate"
    return None


def serialization_cause(exc: ClientException) -> msgspec.DecodeError | None:
    """The msgspec error behind a body Litestar failed to decode, if that is what `exc` is."""
    serialization = exc.__cause__
    if isinstance(serialization, SerializationException) and isinstance(serialization.__cause__, msgspec.DecodeError):
        return serialization.__cause__
    return None


def sqlite_reports_unique_violation(driver_error: BaseException | None) -> bool:
    """Whether a SQLite (sqlite3/aiosqlite) IntegrityError is a unique violation, not a foreign
    key or NOT NULL one: SQLite says so only in its message."""
    return "UNIQUE constraint failed" in str(driver_error)


def asyncpg_reports_closed_connection(exc: BaseException) -> bool:
    """Whether an asyncpg InterfaceError means the connection is gone ("cannot call …: connection
    is closed", "the underlying connection is closed")."""
    return "connection is closed" in str(exc)
