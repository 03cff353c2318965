"""Contacts to CSV in Google Contacts' current export layout, what csv_reader reads back.

Shapes:

- `google_csv_header()`: the fixed header row, 187 columns: the 17 name and person columns
  (`First Name` … `Labels`), then `E-mail N - Label`, `E-mail N - Value` for N = 1 to 20,
  `Phone N - Label`, `Phone N - Value` for 1 to 20, and the nine `Address N - …` columns for 1 to
  10. Those are the model's maxima (MAX_EMAILS, MAX_PHONES, MAX_ADDRESSES), so every contact fits
  and a streamed export writes the header before it has seen a contact.
- `contact_as_google_csv_row(contact)`: one row of the header's length, every cell a string
  (`""` for nothing).
- `csv_lines(rows)`: rows to CSV text (RFC 4180: CRLF line ends, a cell quoted only when it holds
  a comma, quote or line break, quotes doubled), chunk by chunk, for a streamed response.

Values are written exactly as stored: labels without Google's capitalisation or `* ` marks, a
street with its line breaks, the birthday as `YYYY-MM-DD` or `--MM-DD`, tags in `Labels` after
Google's `* myContacts` (and `* starred` for a favorite), joined by ` ::: `.

Spreadsheet formula injection (a cell starting with `=`, `+`, `-` or `@`, which Excel or LibreOffice
may evaluate when the file is opened): cells are NOT altered. The export is an interchange file
whose import must reproduce every field exactly, phone numbers start with `+` legitimately, and
the usual defence (a leading `'` or tab) changes the value for every other program that reads the
file, Google's importer and ours included. Whoever opens the file in a spreadsheet sees the
spreadsheet's own warning about formulas; Google's export does not alter cells either.

Not representable, so not round-tripping: a tag that contains ` ::: ` (Google's separator inside
one cell: it reads back as two tags), and a tag spelled `* starred` or `* myContacts` (Google's own
marks: it reads back as the favorite flag, or nothing).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Iterator

from contacts_api.contacts.schemas import MAX_ADDRESSES, MAX_EMAILS, MAX_PHONES, Contact

CSV_MEDIA_TYPE = "text/csv"  # RFC 4180 §3, RFC 7111; Litestar adds `; charset=utf-8` (as to any text/ type)
LABEL_SEPARATOR = " ::: "  # Google's separator between the labels (and multiple values) of one cell
MY_CONTACTS = "* myContacts"  # Google's mark on every contact of the address book proper
STARRED = "* starred"  # Google's mark of a favorite

PERSON_COLUMNS = (
    "First Name",
    "Middle Name",
    "Last Name",
    "Phonetic First Name",
    "Phonetic Middle Name",
    "Phonetic Last Name",
    "Name Prefix",
    "Name Suffix",
    "Nickname",
    "File As",
    "Organization Name",
    "Organization Title",
    "Organization Department",
    "Birthday",
    "Notes",
    "Photo",
    "Labels",
)
ADDRESS_PARTS = (
    "Label",
    "Formatted",
    "Street",
    "City",
    "PO Box",
    "Region",
    "Postal Code",
    "Country",
    "Extended Address",
)

HEADER: tuple[str, ...] = (
    *PERSON_COLUMNS,
    *(f"E-mail {n} - {part}" for n in range(1, MAX_EMAILS + 1) for part in ("Label", "Value")),
    *(f"Phone {n} - {part}" for n in range(1, MAX_PHONES + 1) for part in ("Label", "Value")),
    *(f"Address {n} - {part}" for n in range(1, MAX_ADDRESSES + 1) for part in ADDRESS_PARTS),
)
_EMPTY_EMAILS = ("", "") * MAX_EMAILS
_EMPTY_PHONES = ("", "") * MAX_PHONES
_EMPTY_ADDRESSES = ("",) * (len(ADDRESS_PARTS) * MAX_ADDRESSES)


def google_csv_header() -> list[str]:
    """The header row (a fresh list: callers may change it)."""
    return list(HEADER)


def _labels(contact: Contact) -> str:
    # A tag containing LABEL_SEPARATOR cannot be told from two tags: it reads back split.
    marks = [MY_CONTACTS, STARRED] if contact.favorite else [MY_CONTACTS]
    return LABEL_SEPARATOR.join(marks + contact.tags)


def contact_as_google_csv_row(contact: Contact) -> list[str]:
    """`contact` as one row under `google_csv_header()`: `len(HEADER)` strings, in its order.

    A contact past the model's maxima (which the API never stores) is a ValueError, not a row
    longer than the header.
    """
    if len(contact.emails) > MAX_EMAILS or len(contact.phones) > MAX_PHONES or len(contact.addresses) > MAX_ADDRESSES:
        raise ValueError(f"Contact {contact.id} has more entries than the CSV layout's columns")
    row = [
        contact.first_name,
        "",  # Middle Name
        contact.last_name,
        "",  # Phonetic First Name
        "",  # Phonetic Middle Name
        "",  # Phonetic Last Name
        "",  # Name Prefix
        "",  # Name Suffix
        "",  # Nickname
        "",  # File As
        contact.organization or "",
        contact.job_title or "",
        "",  # Organization Department
        contact.birthday or "",
        contact.notes or "",
        "",  # Photo
        _labels(contact),
    ]
    for email in contact.emails:
        row += (email.label or "", email.value)
    row += _EMPTY_EMAILS[: 2 * (MAX_EMAILS - len(contact.emails))]
    for phone in contact.phones:
        row += (phone.label or "", phone.value)
    row += _EMPTY_PHONES[: 2 * (MAX_PHONES - len(contact.phones))]
    for address in contact.addresses:
        row += (
            address.label or "",
            "",  # Formatted: Google's one-text form; the parts are the data
            address.street or "",
            address.city or "",
            "",  # PO Box
            address.region or "",
            address.postal_code or "",
            address.country or "",
            "",  # Extended Address
        )
    row += _EMPTY_ADDRESSES[: len(ADDRESS_PARTS) * (MAX_ADDRESSES - len(contact.addresses))]
    return row


def csv_lines(rows: Iterable[list[str]], rows_per_chunk: int = 100) -> Iterator[str]:
    """`rows` as CSV text (CRLF line ends, minimal quoting), one chunk per `rows_per_chunk` rows.

    Incremental: each chunk is yielded as soon as its rows are written, so a streamed export holds
    at most one chunk. One StringIO is reused (emptied after each chunk) rather than one per row.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    pending = 0
    for row in rows:
        writer.writerow(row)
        pending += 1
        if pending == rows_per_chunk:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    if pending:
        yield buffer.getvalue()
