"""Phone numbers: what the user typed is kept; `phonenumbers` (Google's libphonenumber) derives
the ITU-T E.164 form (`+15550100200`) that duplicates are found by, and search compares digits.

The one module that calls `phonenumbers`, so the rest of the domain never depends on its API.
"""

from __future__ import annotations

import phonenumbers

DIGITS = str.maketrans("", "", " +-().")


def digits_of(value: str) -> str:
    """The digits of a typed number, in order (`+1 (555) 010-0200` → `15550100200`): what a
    digit search (`q=5550100`) matches as a substring. Only the contract's characters are
    removed: a value was checked to hold nothing else."""
    return "".join(character for character in value.translate(DIGITS) if character.isdigit())


def e164_of(value: str, default_region: str) -> str | None:
    """The number in E.164 form, or None when it cannot be read as a possible number.

    A number with a leading `+` is read on its own; one without is read as a number of
    `default_region` (DEFAULT_PHONE_REGION, ISO 3166-1 alpha-2), and has no E.164 form when
    that is empty. "Possible" (the length fits the country's plan) rather than "valid" (the
    range is allocated): address books hold old and fictitious numbers (+1 555 01xx), and
    refusing them an E.164 form would only hide duplicates."""
    if not value.lstrip().startswith("+") and not default_region:
        return None
    try:
        number = phonenumbers.parse(value, default_region or None)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(number):
        return None
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
