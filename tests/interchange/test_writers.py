"""The export writers on their own (no app, no database): vcard_writer and csv_writer.

vCard: RFC 6350 (4.0) and RFC 2426 (3.0) encoding (escaping, folding at 75 octets, CRLF), the
version's own forms (VERSION, UID, BDAY, REV), labels as TYPE or as Apple's X-ABLabel groups, and
vobject reading the cards back. CSV: Google Contacts' layout and the csv module reading it back.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
import io
import uuid
from typing import Any

import pytest
import vobject  # type: ignore[import-untyped]

from contacts_api.contacts.interchange.csv_reader import read_csv_contacts
from contacts_api.contacts.interchange.csv_writer import (
    HEADER,
    contact_as_google_csv_row,
    csv_lines,
    google_csv_header,
)
from contacts_api.contacts.interchange.records import ReadRecord, contact_as_record
from contacts_api.contacts.interchange.vcard_reader import read_vcards
from contacts_api.contacts.interchange.vcard_writer import (
    VCardVersion,
    contact_as_vcard,
    contact_as_vcard_bytes,
)
from contacts_api.contacts.schemas import Contact, EmailEntry, PhoneEntry, PostalAddress

CONTACT_ID = uuid.UUID("0196f1a2-3b4c-7d5e-8f90-123456789abc")
VERSIONS: tuple[VCardVersion, ...] = ("4.0", "3.0")


def contact(**fields: Any) -> Contact:
    """A stored contact: `first_name` "Ada" and the server's fields unless given."""
    defaults: dict[str, Any] = {
        "id": CONTACT_ID,
        "owner_id": uuid.UUID(int=1),
        "first_name": "Ada",
        "created_at": datetime.datetime(2026, 11, 1, 9, 0, tzinfo=datetime.UTC),
        "updated_at": datetime.datetime(2026, 12, 1, 10, 15, tzinfo=datetime.UTC),
    }
    return Contact(**(defaults | fields))


def grace() -> Contact:
    """Every field set, as the realistic contact of the benchmark."""
    return contact(
        first_name="Grace",
        last_name="Hopper",
        emails=[EmailEntry(value="grace@example.com", label="work"), EmailEntry(value="g@example.org", label="other")],
        phones=[
            PhoneEntry(value="+1 555 010 0200", label="mobile", e164="+15550100200"),
            PhoneEntry(value="+1 555 010 0201", label="Customphone"),
        ],
        addresses=[
            PostalAddress(
                label="work", street="1 Navy Yard", city="Washington", region="DC", postal_code="20374", country="USA"
            )
        ],
        organization="US Navy",
        job_title="Rear Admiral",
        birthday="1906-12-09",
        notes="Met at the compiler meetup",
        tags=["work", "compilers"],
        favorite=True,
    )


def unfolded(card: str) -> list[str]:
    """The card's logical lines: folding (CRLF and one space) undone, split at CRLF."""
    return card.replace("\r\n ", "").removesuffix("\r\n").split("\r\n")


def properties(card: str, name: str) -> list[str]:
    """The logical lines of property `name` (any group, any parameters)."""
    found = []
    for line in unfolded(card):
        head = line.split(":", 1)[0]
        if head.split(";", 1)[0].split(".")[-1].upper() == name.upper():
            found.append(line)
    return found


def only(card: str, name: str) -> str:
    lines = properties(card, name)
    assert len(lines) == 1, lines
    return lines[0]


# vCard: escaping (RFC 6350 §3.4; RFC 2426 text values alike)


def test_note_escapes_comma_semicolon_backslash_and_newline() -> None:
    card = contact_as_vcard(contact(notes="a, b; c \\ d\ne"))

    assert only(card, "NOTE") == "NOTE:a\\, b\\; c \\\\ d\\ne"


def test_address_parts_are_escaped_within_their_components() -> None:
    address = PostalAddress(street="1 Navy Yard\nBuilding 6; Floor 2, Room \\3", city="Washington", country="USA")

    card = contact_as_vcard(contact(addresses=[address]))

    assert only(card, "ADR") == "ADR:;;1 Navy Yard\\nBuilding 6\\; Floor 2\\, Room \\\\3;Washington;;;USA"


def test_name_parts_are_escaped_within_their_components() -> None:
    card = contact_as_vcard(contact(first_name="Ann, Jr", last_name="Smith; Jones"))

    assert only(card, "N") == "N:Smith\\; Jones;Ann\\, Jr;;;"
    assert only(card, "FN") == "FN:Ann\\, Jr Smith\\; Jones"


def test_organization_is_one_component_with_its_separators_escaped() -> None:
    card = contact_as_vcard(contact(organization="US Navy, Bureau of Ships; Computation"))

    assert only(card, "ORG") == "ORG:US Navy\\, Bureau of Ships\\; Computation"


def test_a_comma_inside_a_tag_is_escaped_between_the_categories() -> None:
    card = contact_as_vcard(contact(tags=["work", "Compilers, languages"]))

    assert only(card, "CATEGORIES") == "CATEGORIES:work,Compilers\\, languages"


# vCard: lines (RFC 6350 §3.2, RFC 2426 §2.6)


def test_every_line_ends_with_crlf_and_no_bare_line_feed_remains() -> None:
    card = contact_as_vcard(grace())

    assert card.startswith("BEGIN:VCARD\r\n")
    assert card.endswith("\r\nEND:VCARD\r\n")
    assert "\n" not in card.replace("\r\n", "")


def test_a_long_note_is_folded_into_lines_of_at_most_75_octets() -> None:
    notes = "The quick brown fox jumps over the lazy dog. " * 20

    card = contact_as_vcard(contact(notes=notes))

    physical = card.encode().split(b"\r\n")
    assert max(len(line) for line in physical) <= 75
    assert sum(line.startswith(b" ") for line in physical) >= 10
    assert only(card, "NOTE") == "NOTE:" + notes.replace(",", "\\,")


@pytest.mark.parametrize(
    "notes",
    [
        "é" * 60,  # 60 characters but 125 octets with "NOTE:": folded although under 75 characters
        "日本語のメモ" * 30,  # three octets a character
        "😀" * 50 + " emoji",  # four octets a character
        "x" + "é" * 200,  # two-octet characters straddling every fold
    ],
)
def test_folding_never_splits_a_multibyte_character(notes: str) -> None:
    card = contact_as_vcard_bytes(contact(notes=notes))

    for line in card.split(b"\r\n"):
        assert len(line) <= 75
        line.decode()  # each physical line is whole UTF-8 (raises if a character was split)
    assert only(card.decode(), "NOTE") == "NOTE:" + notes


def test_the_text_and_bytes_forms_are_the_same_card() -> None:
    assert contact_as_vcard(grace(), "3.0").encode() == contact_as_vcard_bytes(grace(), "3.0")


# vCard: versions


@pytest.mark.parametrize("version", VERSIONS)
def test_version_line_follows_begin_and_says_the_requested_version(version: VCardVersion) -> None:
    lines = unfolded(contact_as_vcard(grace(), version))

    assert lines[:2] == ["BEGIN:VCARD", f"VERSION:{version}"]
    assert len(properties("\r\n".join(lines), "VERSION")) == 1


def test_vobject_on_its_own_would_write_version_3_0() -> None:
    # Why the writer states VERSION itself: vobject's only vCard behaviour is 3.0.
    card = vobject.vCard()
    card.add("fn").value = "Ada"
    card.add("n").value = vobject.vcard.Name(given="Ada")

    assert "VERSION:3.0\r\n" in card.serialize()


def test_uid_is_a_urn_in_4_0_and_the_bare_uuid_in_3_0() -> None:
    assert only(contact_as_vcard(grace(), "4.0"), "UID") == f"UID:urn:uuid:{CONTACT_ID}"
    assert only(contact_as_vcard(grace(), "3.0"), "UID") == f"UID:{CONTACT_ID}"


def test_a_4_0_card_has_fn_and_no_charset_parameter() -> None:
    card = contact_as_vcard(grace(), "4.0")

    assert only(card, "FN") == "FN:Grace Hopper"
    assert "CHARSET" not in card.upper()


@pytest.mark.parametrize(
    ("version", "birthday", "line"),
    [
        ("4.0", "1906-12-09", "BDAY:19061209"),
        ("4.0", "--12-09", "BDAY:--1209"),
        ("4.0", "--02-29", "BDAY:--0229"),
        ("3.0", "1906-12-09", "BDAY:1906-12-09"),
        ("3.0", "--12-09", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-12-09"),
        ("3.0", "--02-29", "BDAY;X-APPLE-OMIT-YEAR=1604:1604-02-29"),
    ],
)
def test_birthday_in_the_versions_own_form(version: VCardVersion, birthday: str, line: str) -> None:
    assert only(contact_as_vcard(contact(birthday=birthday), version), "BDAY") == line


@pytest.mark.parametrize(("version", "line"), [("4.0", "REV:20261201T101500Z"), ("3.0", "REV:2026-12-01T10:15:00Z")])
def test_rev_is_updated_at_in_utc(version: VCardVersion, line: str) -> None:
    plus_two = datetime.timezone(datetime.timedelta(hours=2))
    updated_at = datetime.datetime(2026, 12, 1, 12, 15, 0, 123456, tzinfo=plus_two)

    assert only(contact_as_vcard(contact(updated_at=updated_at), version), "REV") == line


# vCard: labels


@pytest.mark.parametrize(
    ("label", "line"),
    [
        ("mobile", "TEL;TYPE=cell:+1 555 010 0200"),
        ("home", "TEL;TYPE=home:+1 555 010 0200"),
        ("work", "TEL;TYPE=work:+1 555 010 0200"),
        ("fax", "TEL;TYPE=fax:+1 555 010 0200"),
        ("pager", "TEL;TYPE=pager:+1 555 010 0200"),
        ("home fax", "TEL;TYPE=home,fax:+1 555 010 0200"),
        ("work fax", "TEL;TYPE=work,fax:+1 555 010 0200"),
    ],
)
def test_a_well_known_phone_label_is_written_as_type(label: str, line: str) -> None:
    card = contact_as_vcard(contact(phones=[PhoneEntry(value="+1 555 010 0200", label=label)]))

    assert only(card, "TEL") == line
    assert properties(card, "X-ABLabel") == []


def test_well_known_email_and_address_labels_are_written_as_type() -> None:
    card = contact_as_vcard(
        contact(
            emails=[EmailEntry(value="a@example.com", label="home"), EmailEntry(value="b@example.com", label="work")],
            addresses=[PostalAddress(label="home", city="Paris"), PostalAddress(label="work", city="Lyon")],
        )
    )

    assert properties(card, "EMAIL") == ["EMAIL;TYPE=home:a@example.com", "EMAIL;TYPE=work:b@example.com"]
    assert properties(card, "ADR") == ["ADR;TYPE=home:;;;Paris;;;", "ADR;TYPE=work:;;;Lyon;;;"]


def test_other_labels_are_written_as_numbered_x_ablabel_groups_exactly() -> None:
    card = contact_as_vcard(
        contact(
            emails=[EmailEntry(value="a@example.com", label="other")],
            phones=[
                PhoneEntry(value="+1 555 010 0200", label="main"),
                PhoneEntry(value="+1 555 010 0201", label="Mobile"),
                PhoneEntry(value="+1 555 010 0202", label="Customphone"),
            ],
            addresses=[PostalAddress(label="Summer house; lake, north", city="Wolfeboro")],
        )
    )

    assert properties(card, "EMAIL") + properties(card, "TEL") + properties(card, "ADR") == [
        "item1.EMAIL:a@example.com",
        "item2.TEL:+1 555 010 0200",
        "item3.TEL:+1 555 010 0201",
        "item4.TEL:+1 555 010 0202",
        "item5.ADR:;;;Wolfeboro;;;",
    ]
    assert properties(card, "X-ABLabel") == [
        "item1.X-ABLabel:other",
        "item2.X-ABLabel:main",
        "item3.X-ABLabel:Mobile",
        "item4.X-ABLabel:Customphone",
        "item5.X-ABLabel:Summer house\\; lake\\, north",
    ]
    assert "_$!<" not in card


def test_no_label_writes_no_type() -> None:
    card = contact_as_vcard(
        contact(
            emails=[EmailEntry(value="a@example.com")],
            phones=[PhoneEntry(value="+1 555 010 0200")],
            addresses=[PostalAddress(city="Paris")],
        )
    )

    assert [only(card, name) for name in ("EMAIL", "TEL", "ADR")] == [
        "EMAIL:a@example.com",
        "TEL:+1 555 010 0200",
        "ADR:;;;Paris;;;",
    ]


# vCard: the rest of the card


def test_a_favorite_carries_the_x_contacts_api_favorite_property() -> None:
    assert only(contact_as_vcard(contact(favorite=True)), "X-CONTACTS-API-FAVORITE") == "X-CONTACTS-API-FAVORITE:TRUE"
    assert properties(contact_as_vcard(contact(favorite=False)), "X-CONTACTS-API-FAVORITE") == []


@pytest.mark.parametrize("version", VERSIONS)
def test_a_contact_with_only_a_first_name_is_fn_n_and_the_server_fields(version: VCardVersion) -> None:
    lines = unfolded(contact_as_vcard(contact(), version))

    assert [line.split(":", 1)[0] for line in lines] == ["BEGIN", "VERSION", "UID", "FN", "N", "REV", "END"]
    assert "FN:Ada" in lines
    assert "N:;Ada;;;" in lines


@pytest.mark.parametrize("version", VERSIONS)
def test_vobject_reads_the_card_back_with_the_same_values(version: VCardVersion) -> None:
    stored = contact(
        first_name="Grace",
        last_name="Hopper; née Murray",
        emails=[EmailEntry(value="grace@example.com", label="work"), EmailEntry(value="g@example.org", label="other")],
        phones=[PhoneEntry(value="+1 555 010 0200", label="home fax")],
        addresses=[
            PostalAddress(
                label="work",
                street="1 Navy Yard\nBuilding 6; Floor 2",
                city="Washington",
                region="DC",
                postal_code="20374",
                country="USA",
            )
        ],
        organization="US Navy, Bureau of Ships",
        job_title="Rear Admiral",
        birthday="1906-12-09",
        notes='Line one, a comma; a semicolon\nLine two \\ a backslash and "quotes" ' + "long " * 40 + "Ünïcödé 😀",
        tags=["work", "Compilers, languages"],
        favorite=True,
    )

    card = vobject.readOne(contact_as_vcard(stored, version))

    assert card.version.value == version
    assert card.fn.value == "Grace Hopper; née Murray"
    assert (card.n.value.family, card.n.value.given) == ("Hopper; née Murray", "Grace")
    assert [(email.value, email.params.get("TYPE")) for email in card.email_list] == [
        ("grace@example.com", ["work"]),
        ("g@example.org", None),
    ]
    labels = {line.group: line.value for line in card.contents["x-ablabel"]}
    assert labels[card.email_list[1].group] == "other"
    assert (card.tel.value, card.tel.params["TYPE"]) == ("+1 555 010 0200", ["home", "fax"])
    address = card.adr.value
    assert (address.street, address.city, address.region, address.code, address.country) == (
        "1 Navy Yard\nBuilding 6; Floor 2",
        "Washington",
        "DC",
        "20374",
        "USA",
    )
    assert card.org.value == ["US Navy, Bureau of Ships"]
    assert card.title.value == "Rear Admiral"
    assert card.note.value == stored.notes
    assert card.categories.value == ["work", "Compilers, languages"]
    assert card.contents["x-contacts-api-favorite"][0].value == "TRUE"


def test_vobject_reads_a_stream_of_cards_one_per_contact() -> None:
    stream = "".join(contact_as_vcard(contact(first_name=name)) for name in ("Ada", "Grace", "Sam"))

    assert [card.fn.value for card in vobject.readComponents(stream)] == ["Ada", "Grace", "Sam"]


# CSV: Google Contacts' layout


def test_csv_header_has_the_person_columns_then_20_emails_20_phones_10_addresses() -> None:
    header = google_csv_header()

    assert len(header) == 17 + 2 * 20 + 2 * 20 + 9 * 10 == 187
    assert len(set(header)) == len(header)
    assert header[:3] == ["First Name", "Middle Name", "Last Name"]
    assert header[10:17] == [
        "Organization Name",
        "Organization Title",
        "Organization Department",
        "Birthday",
        "Notes",
        "Photo",
        "Labels",
    ]
    assert header[17:19] == ["E-mail 1 - Label", "E-mail 1 - Value"]
    assert header[55:59] == ["E-mail 20 - Label", "E-mail 20 - Value", "Phone 1 - Label", "Phone 1 - Value"]
    assert header[97:106] == [
        "Address 1 - Label",
        "Address 1 - Formatted",
        "Address 1 - Street",
        "Address 1 - City",
        "Address 1 - PO Box",
        "Address 1 - Region",
        "Address 1 - Postal Code",
        "Address 1 - Country",
        "Address 1 - Extended Address",
    ]
    assert header[-1] == "Address 10 - Extended Address"


def test_csv_header_is_a_fresh_list_each_time() -> None:
    google_csv_header().clear()

    assert google_csv_header() == list(HEADER)


def test_a_row_with_20_emails_fills_every_email_column() -> None:
    emails = [EmailEntry(value=f"a{n}@example.com", label="work" if n % 2 else None) for n in range(1, 21)]

    row = dict(zip(HEADER, contact_as_google_csv_row(contact(emails=emails)), strict=True))

    assert row["E-mail 1 - Label"] == "work"
    assert row["E-mail 1 - Value"] == "a1@example.com"
    assert row["E-mail 20 - Label"] == ""
    assert row["E-mail 20 - Value"] == "a20@example.com"
    assert row["Phone 1 - Value"] == ""


def test_a_row_holds_each_field_in_its_column_and_labels_exactly() -> None:
    row = dict(zip(HEADER, contact_as_google_csv_row(grace()), strict=True))

    assert {name: value for name, value in row.items() if value} == {
        "First Name": "Grace",
        "Last Name": "Hopper",
        "Organization Name": "US Navy",
        "Organization Title": "Rear Admiral",
        "Birthday": "1906-12-09",
        "Notes": "Met at the compiler meetup",
        "Labels": "* myContacts ::: * starred ::: work ::: compilers",
        "E-mail 1 - Label": "work",
        "E-mail 1 - Value": "grace@example.com",
        "E-mail 2 - Label": "other",
        "E-mail 2 - Value": "g@example.org",
        "Phone 1 - Label": "mobile",
        "Phone 1 - Value": "+1 555 010 0200",
        "Phone 2 - Label": "Customphone",
        "Phone 2 - Value": "+1 555 010 0201",
        "Address 1 - Label": "work",
        "Address 1 - Street": "1 Navy Yard",
        "Address 1 - City": "Washington",
        "Address 1 - Region": "DC",
        "Address 1 - Postal Code": "20374",
        "Address 1 - Country": "USA",
    }


def test_a_contact_that_is_no_favorite_has_only_my_contacts_and_its_tags_as_labels() -> None:
    row = dict(zip(HEADER, contact_as_google_csv_row(contact(tags=["family"])), strict=True))

    assert row["Labels"] == "* myContacts ::: family"


def test_a_year_less_birthday_keeps_its_form_in_csv() -> None:
    row = dict(zip(HEADER, contact_as_google_csv_row(contact(birthday="--02-29")), strict=True))

    assert row["Birthday"] == "--02-29"


def test_a_note_with_a_comma_quote_and_newline_survives_csv_reader() -> None:
    notes = 'Line one, with a comma\nLine two "quoted"\r\nLine three'
    street = "1 Navy Yard\nBuilding 6"
    stored = contact(notes=notes, addresses=[PostalAddress(street=street)])

    text = "".join(csv_lines([google_csv_header(), contact_as_google_csv_row(stored)]))

    header, row = csv.reader(io.StringIO(text, newline=""))
    assert header == list(HEADER)
    fields = dict(zip(header, row, strict=True))
    assert (fields["Notes"], fields["Address 1 - Street"]) == (notes, street)


def test_formula_like_cells_are_written_unaltered() -> None:
    stored = contact(first_name="=HYPERLINK(1)", notes="@home -ish", phones=[PhoneEntry(value="+44 20 7946 0958")])

    row = dict(zip(HEADER, contact_as_google_csv_row(stored), strict=True))

    assert (row["First Name"], row["Notes"], row["Phone 1 - Value"]) == (
        "=HYPERLINK(1)",
        "@home -ish",
        "+44 20 7946 0958",
    )


def test_csv_lines_end_in_crlf_and_quote_only_when_needed() -> None:
    assert "".join(csv_lines([["a", "b c", "d,e", 'f"g', "h\ni"]])) == 'a,b c,"d,e","f""g","h\ni"\r\n'


def test_csv_lines_yield_one_chunk_per_rows_per_chunk_rows() -> None:
    chunks = list(csv_lines(([str(n)] for n in range(5)), rows_per_chunk=2))

    assert chunks == ["0\r\n1\r\n", "2\r\n3\r\n", "4\r\n"]


def test_csv_lines_of_no_rows_is_no_chunk() -> None:
    assert list(csv_lines([])) == []


def test_a_contact_past_the_columns_is_refused_rather_than_a_longer_row() -> None:
    emails = [EmailEntry(value=f"a{n}@example.com") for n in range(21)]

    with pytest.raises(ValueError, match="more entries"):
        contact_as_google_csv_row(contact(emails=emails))


# Round trips through the readers: export, then read, gives the stored contact back in the readers'
# terms (records.contact_as_record), every field. `formatted_name` is left out of the comparison:
# the CSV layout has no display-name column, and a vCard's FN is derived from the name.

ROUND_TRIP_CONTACTS = [
    contact(
        first_name="Grace",
        last_name="Hopper",
        emails=[
            EmailEntry(value="grace@example.com", label="work"),
            EmailEntry(value="grace.home@example.com", label="home"),
            EmailEntry(value="g@example.org", label="Navy; Reserve, retired"),
            EmailEntry(value="nolabel@example.org"),
        ],
        phones=[
            PhoneEntry(value="+1 555 010 0200", label="mobile"),
            PhoneEntry(value="+1 555 010 0201", label="work fax"),
            PhoneEntry(value="(555) 010-0202", label="Mobile"),
            PhoneEntry(value="555.010.0203", label="main"),
            PhoneEntry(value="+1-555-010-0204"),
        ],
        addresses=[
            PostalAddress(
                label="work",
                street="1 Navy Yard\nBuilding 6; Floor 2, Room 3",
                city="Washington",
                region="DC",
                postal_code="20374",
                country="USA",
            ),
            PostalAddress(label="Summer house", city="Wolfeboro"),
        ],
        organization="US Navy, Bureau of Ships; Computation Project",
        job_title="Rear Admiral",
        birthday="1906-12-09",
        notes='Line one, with a comma; a semicolon\nLine two \\ a backslash and "quotes"\n\nLine four ' + "x" * 100,
        tags=["work", "Compilers, languages", "Ünïcödé"],
        favorite=True,
    ),
    contact(first_name="Sam", birthday="--02-29"),
    contact(first_name="李", last_name="小龍", notes=" ".join(["😀 emoji and עברית"] * 10), tags=["family"]),
]


def without_formatted_name(record: ReadRecord) -> ReadRecord:
    return dataclasses.replace(record, formatted_name="")


def test_round_trip_csv_export_read_by_csv_reader_gives_every_field_back() -> None:
    data = "".join(
        csv_lines([google_csv_header(), *(contact_as_google_csv_row(stored) for stored in ROUND_TRIP_CONTACTS)])
    ).encode()

    read = [without_formatted_name(record) for record in read_csv_contacts(data)]

    assert read == [without_formatted_name(contact_as_record(stored)) for stored in ROUND_TRIP_CONTACTS]


@pytest.mark.parametrize("version", VERSIONS)
def test_round_trip_vcard_export_read_by_vcard_reader_gives_every_field_back(version: VCardVersion) -> None:
    data = b"".join(contact_as_vcard_bytes(stored, version) for stored in ROUND_TRIP_CONTACTS)

    read = [without_formatted_name(record) for record in read_vcards(data)]

    assert read == [without_formatted_name(contact_as_record(stored)) for stored in ROUND_TRIP_CONTACTS]
