"""The changes feed's cursor (contacts/sync.py): opaque to clients, strict when read back."""

from __future__ import annotations

import base64
import datetime

import pytest

from contacts_api.contacts.sync import ChangeCursor, MalformedCursorError

ISSUED = datetime.datetime(2026, 12, 3, 9, 30, tzinfo=datetime.UTC)


def forged(text: str) -> str:
    return base64.urlsafe_b64encode(text.encode()).decode().rstrip("=")


@pytest.mark.parametrize("change_seq", [0, 1, 42, 2**63 - 1])
def test_a_cursor_reads_back_as_written(change_seq: int) -> None:
    cursor = ChangeCursor(change_seq=change_seq, issued_at=ISSUED)
    assert ChangeCursor.decode(cursor.encode()) == cursor


def test_a_cursor_is_unpadded_base64url_safe_in_a_query_string() -> None:
    encoded = ChangeCursor(change_seq=123456789, issued_at=ISSUED).encode()
    assert set(encoded) <= set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")


@pytest.mark.parametrize(
    "value",
    [
        "",
        "not a cursor",
        forged("v2.1.0"),
        forged("v1.01.0"),  # a leading zero: not what encode writes
        forged("v1.-1.0"),
        forged("v1.1"),
        forged(f"v1.{2**63}.0"),  # past a BIGINT
        forged("v1.0.999999999999"),  # past the year 9999
        forged("v1.1.0") + "=",  # padded
        forged("v1.1.10")[:-1] + "B",  # "v1.1.10" ends in "A" with unused bits: this is another spelling
    ],
)
def test_anything_encode_cannot_have_written_is_malformed(value: str) -> None:
    with pytest.raises(MalformedCursorError):
        ChangeCursor.decode(value)
