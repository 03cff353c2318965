"""Field types and checks shared by every request schema."""

from __future__ import annotations

import calendar
import datetime
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
_STORABLE_TEXT = r"^[^\x00]*$"
# The same, with at least one character that is not white space.
_STORABLE_NONBLANK_TEXT = r"^[^\x00]*[^\s\x00][^\x00]*$"
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
    nonblank: bool = False,
    description: str = "",
    examples: list[str] | None = None,
) -> msgspec.Meta:
    return msgspec.Meta(
        min_length=min_length,
        max_length=max_length,
        pattern=_STORABLE_NONBLANK_TEXT if nonblank else _STORABLE_TEXT,
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
    return result.normalized.lower()


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


# --- "a date no later than today", as a regular expression -----------------------------------
# JSON Schema cannot compare dates, but a pattern can list them: this one matches exactly the
# valid ISO dates from 0001-01-01 to `today`, so the OpenAPI document can state a rule such as
# "a birthday is not in the future" and clients and fuzzers can tell valid dates before sending.

_LONG_MONTHS, _SHORT_MONTHS = (1, 3, 5, 7, 8, 10, 12), (4, 6, 9, 11)


def _alternatives(values: list[str]) -> str:
    return "(?:" + "|".join(values) + ")" if values else "(?!)"


def _two_digits(values: range | tuple[int, ...]) -> list[str]:
    return [f"{value:02d}" for value in values]


def _month_days(month: int, *, leap: bool, up_to: int = 31) -> str:
    length = 31 if month in _LONG_MONTHS else 30 if month in _SHORT_MONTHS else 29 if leap else 28
    return f"{month:02d}-" + _alternatives(_two_digits(range(1, min(length, up_to) + 1)))


def _years_below(year: int) -> str:
    """Four-digit years from 0001 to `year` - 1."""
    digits, branches = f"{year:04d}", []
    for index, digit in enumerate(digits):
        low = 1 if index == 0 and digits[0] != "0" else 0
        if int(digit) > low:
            branches.append(f"{digits[:index]}[{low}-{int(digit) - 1}][0-9]{{{3 - index}}}")
    if digits[0] != "0":  # 0001 to 0999
        branches.append("0(?:[1-9][0-9]{2}|0[1-9][0-9]|00[1-9])")
    return _alternatives(branches)


def _leap_years_below(year: int) -> list[str]:
    """Four-digit leap years from 0001 to `year` - 1 (Gregorian, proleptic)."""
    century, rest = divmod(year, 100)
    suffixes = _two_digits(range(4, 100, 4))
    leap = [f"{_alternatives(_two_digits(range(century)))}{_alternatives(suffixes)}"] if century else []
    leap += [f"{century:02d}{suffix}" for suffix in suffixes if int(suffix) < rest]
    leap += [f"{c:02d}00" for c in range(4, century + (1 if rest else 0), 4)]
    return leap


def iso_dates_until_pattern(today: datetime.date) -> str:
    year = f"{today.year:04d}"
    common_dates = _alternatives([_month_days(month, leap=False) for month in range(1, 13)])
    this_year_leap = calendar.isleap(today.year)
    branches = [
        f"{_years_below(today.year)}-{common_dates}",
        f"{_alternatives(_leap_years_below(today.year))}-02-29",
        *(f"{year}-{_month_days(month, leap=this_year_leap)}" for month in range(1, today.month)),
        f"{year}-{_month_days(today.month, leap=this_year_leap, up_to=today.day)}",
    ]
    return "^" + _alternatives(branches) + "$"
