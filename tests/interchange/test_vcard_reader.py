"""vcard_reader and decoding on their own: every real client's vCard file of the shared fixtures
(what `INDEX.md` says each must yield) and the transfer-level cases one by one (vCard 2.1,
RFC 2426, RFC 6350). No database, no app."""

from __future__ import annotations

import codecs
from collections.abc import Iterator

import pytest

from contacts_api.contacts.interchange.decoding import (
    UndecodableFile,
    charset_text,
    decoded_text,
    legacy_codec,
    legacy_text,
)
from contacts_api.contacts.interchange.records import AddressParts, LabelledValue, ReadRecord
from contacts_api.contacts.interchange.vcard_reader import NotAVCardFile, looks_like_vcard, read_vcards
from tests.interchange.conftest import FIXTURE_CONTACTS, FIXTURES

# INDEX.md's contact count of each vCard fixture.
FIXTURE_COUNTS = {name: count for name, count in FIXTURE_CONTACTS.items() if name.endswith(".vcf")}


def fixture(name: str) -> list[ReadRecord]:
    return list(read_vcards((FIXTURES / name).read_bytes()))


def only_card(name: str) -> ReadRecord:
    records = fixture(name)
    assert len(records) == 1
    return records[0]


def cards(text: str, *, encoding: str = "utf-8") -> list[ReadRecord]:
    return list(read_vcards(text.encode(encoding)))


def card(*lines: str, version: str = "3.0") -> ReadRecord:
    """The one record of a card made of `lines` (CRLF line ends)."""
    records = cards("\r\n".join(["BEGIN:VCARD", f"VERSION:{version}", *lines, "END:VCARD", ""]))
    assert len(records) == 1
    return records[0]


def labelled(entries: list[LabelledValue]) -> list[tuple[str, str | None]]:
    return [(entry.value, entry.label) for entry in entries]


# --- the real clients' files ---------------------------------------------------------------


def test_the_fixture_folder_is_the_shared_one() -> None:
    assert FIXTURES.parts[-3:] == ("shared", "fixtures", "contacts")
    assert (FIXTURES / "INDEX.md").is_file()


def test_every_vcf_fixture_of_the_index_is_counted_here() -> None:
    assert sorted(path.name for path in FIXTURES.glob("*.vcf")) == sorted(FIXTURE_COUNTS)


@pytest.mark.parametrize("name", sorted(FIXTURE_COUNTS))
def test_every_fixture_yields_its_contacts_and_none_fails(name: str) -> None:
    records = fixture(name)
    assert len(records) == FIXTURE_COUNTS[name]
    assert [record.error for record in records] == [None] * len(records)


def test_apple_ios5_reads_the_names_organization_and_birthday() -> None:
    record = only_card("apple-ios5-john-doe.vcf")
    assert (record.family_name, record.given_name) == ("Doe", "John Richter James")
    assert record.formatted_name == "Mr. John Richter James Doe Sr."
    assert (record.organization, record.job_title, record.birthday) == (
        "IBM, Accounting",
        "Money Counter",
        "2012-06-06",
    )
    assert labelled(record.emails) == [("john.doe@ibm.com", None)]


def test_apple_ios5_reads_seven_phones_with_labels() -> None:
    assert labelled(only_card("apple-ios5-john-doe.vcf").phones) == [
        ("905-555-1234", "mobile"),
        ("905-666-1234", "home"),
        ("905-777-1234", "work"),
        ("905-888-1234", "home fax"),
        ("905-999-1234", "work fax"),
        ("905-111-1234", "pager"),
        ("905-222-1234", "AssistantPhone"),
    ]


def test_apple_ios5_reads_two_addresses_with_the_trailing_comma_of_the_street() -> None:
    assert only_card("apple-ios5-john-doe.vcf").addresses == [
        AddressParts("home", "Silicon Alley 5,", "New York", "New York", "12345", "United States of America"),
        AddressParts("work", "Street4\nBuilding 6\nFloor 8", "New York", None, "12345", "USA"),
    ]


def test_apple_ios5_names_what_it_dropped_but_not_the_labels() -> None:
    dropped = only_card("apple-ios5-john-doe.vcf").dropped
    assert dropped == ["N prefix", "N suffix", "NICKNAME", "X-ABADR", "URL", "PHOTO"]


def test_apple_macos_keeps_an_escaped_comma_inside_the_additional_name() -> None:
    record = only_card("apple-macos-addressbook-john-doe.vcf")
    assert (record.family_name, record.given_name) == ("Doe", "John Richter,James")
    assert record.formatted_name == "Mr. John Richter,James Doe Sr."
    assert (record.organization, record.job_title, record.birthday) == (
        "IBM, Accounting",
        "Money Counter",
        "2012-06-06",
    )
    assert labelled(record.emails) == [("john.doe@ibm.com", "work")]


def test_apple_macos_reads_seven_phones_and_a_plain_ab_label() -> None:
    assert labelled(only_card("apple-macos-addressbook-john-doe.vcf").phones) == [
        ("905-777-1234", "work"),
        ("905-666-1234", "home"),
        ("905-555-1234", "mobile"),
        ("905-888-1234", "home fax"),
        ("905-999-1234", "work fax"),
        ("905-111-1234", "pager"),
        ("905-222-1234", "AssistantPhone"),
    ]


def test_apple_macos_reads_the_addresses_and_the_note_with_its_non_standard_escapes() -> None:
    record = only_card("apple-macos-addressbook-john-doe.vcf")
    assert [address.street for address in record.addresses] == ["Silicon Alley 5,", "Street4\nBuilding 6\nFloor 8"]
    assert record.notes is not None
    assert record.notes.startswith('THIS SOFTWARE IS PROVIDED BY THE COPYRIGHT HOLDERS AND CONTRIBUTORS "AS IS"')
    assert record.notes.endswith("\nFavotire Color: Blue")
    assert {"PHOTO", "X-ABRELATEDNAMES", "URL"} <= set(record.dropped)


def test_apple_ios8_reads_six_emails_with_apple_and_custom_labels() -> None:
    assert labelled(only_card("apple-ios8-full.vcf").emails) == [
        ("test@cozy.io", "home"),
        ("test2@cozy.io", "work"),
        ("test3@cozy.io", "iCloud"),
        ("test4@cozy.io", "other"),
        ("test5@cozy.io", "Customemail"),
        ("testeur@example.fr", "home"),
    ]


def test_apple_ios8_reads_eleven_phones_as_found_including_iphone_and_custom() -> None:
    assert labelled(only_card("apple-ios8-full.vcf").phones) == [
        ("0102030400", "home"),
        ("0102030401", "work"),
        ("0102030402", "iPhone"),
        ("0102030403", "mobile"),
        ("010203040Nickname4", "main"),  # garbage as exported: the mapping step leaves it out
        ("0102030405", "home fax"),
        ("0102030406", "work fax"),
        ("0102030407", "pager"),
        ("0102030408", "other"),
        ("0102030409", "Customphone"),
        ("0867\u00a045346", "home"),
    ]


def test_apple_ios8_reads_four_addresses_as_exported() -> None:
    record = only_card("apple-ios8-full.vcf")
    assert record.addresses[0] == AddressParts("home", "52\nRue Fictive", "Paris", "Ile De France", "75010", "France")
    assert [(address.label, address.street) for address in record.addresses] == [
        ("home", "52\nRue Fictive"),
        ("work", "53\nRue Fictive"),
        ("other", "54\nRue Fictive"),
        ("Customaddress", "55\nRue Fictive"),
    ]
    # item8 has city and postal code swapped in the file itself.
    assert (record.addresses[3].city, record.addresses[3].postal_code) == ("75010", "Paris")


def test_apple_ios8_reads_names_organization_note_and_birthday() -> None:
    record = only_card("apple-ios8-full.vcf")
    assert (record.family_name, record.given_name) == ("Contact", "Full Middle")
    assert record.formatted_name == "Dr. Full Middle Contact Suffix"
    assert (record.organization, record.job_title) == ("SuperCorp, Department", "Chairman")
    assert (record.notes, record.birthday) == ("My note", "2015-03-03")
    assert {"IMPP", "X-SOCIALPROFILE", "X-ABDATE", "X-ABRELATEDNAMES", "X-ALTBDAY", "URL"} <= set(record.dropped)
    assert "X-ABLABEL" not in record.dropped


def test_apple_sap_latin1_reads_thirty_cards_each_with_both_categories() -> None:
    records = fixture("apple-addressbook-sap-latin1.vcf")
    assert len(records) == 30
    assert all(record.tags == ["Demo", "Nepomuk(SAP)"] for record in records)
    assert [sum(len(getattr(record, kind)) for record in records) for kind in ("emails", "phones", "addresses")] == [
        29,
        12,
        8,
    ]


def test_apple_sap_latin1_reads_the_undeclared_latin1_bytes_as_latin1() -> None:
    records = fixture("apple-addressbook-sap-latin1.vcf")
    assert (records[0].given_name, records[0].family_name, records[0].phones) == ("Gwendolina", "Brown", [])
    assert labelled(records[0].emails) == [("Gwendolina.Brown@example.com", "work")]
    # Card 2's TEL is the single byte 0xA7: § in Latin-1, read as found (the mapping drops it).
    assert labelled(records[1].phones) == [("§", "work")]
    assert (records[4].family_name, records[4].given_name) == ("Töcken", "Frida")
    assert (records[4].formatted_name, records[4].organization) == ("Karlsruhe Travel", "Karlsruhe Travel")
    assert labelled(records[4].emails) == [("Frida.Tocken@example.net", "work")]


def test_apple_sap_latin1_reads_the_oracle_and_karlsruhe_cards() -> None:
    records = fixture("apple-addressbook-sap-latin1.vcf")
    oracle, karlsruhe = records[14], records[17]
    assert (oracle.family_name, oracle.given_name, oracle.organization) == ("Blümchen", "Günther", "Oracle")
    assert labelled(oracle.phones) == [("+1.650.555.7000", "work")]
    assert oracle.addresses == [
        AddressParts("work", "500 Oracle Parkway", "Redwood Shores", None, "CA 94065", "United States of America")
    ]
    assert (karlsruhe.given_name, karlsruhe.family_name) == ("Claudia", "Stern")
    assert labelled(karlsruhe.phones) == [("+49(721)123456", "work"), ("+49(175)1234567", "mobile")]
    assert karlsruhe.addresses == [
        AddressParts("work", "Vincenz-Priessnitz-Str. 1", "Karlsruhe", None, "76131", "Germany")
    ]


def test_google_gmail_keeps_the_unescaped_comma_of_the_formatted_name() -> None:
    record = only_card("google-gmail-john-doe.vcf")
    assert record.formatted_name == "Mr. John Richter, James Doe Sr."
    assert (record.family_name, record.given_name) == ("Doe", "John Richter, James")


def test_google_gmail_reads_an_address_whose_only_part_is_the_extended_one() -> None:
    record = only_card("google-gmail-john-doe.vcf")
    street = "Crescent moon drive\n555-asd\nNice Area, Albaney, New York 12345\nUnited States of America"
    assert record.addresses == [AddressParts("home", street)]


def test_google_gmail_reads_contact_details_and_note() -> None:
    record = only_card("google-gmail-john-doe.vcf")
    assert labelled(record.emails) == [("john.doe@ibm.com", "home")]
    assert labelled(record.phones) == [("905-555-1234", "mobile"), ("905-666-1234", "home")]
    assert (record.organization, record.job_title, record.birthday) == ("IBM", "Money Counter", "1980-03-22")
    assert record.notes is not None
    assert record.notes.endswith("\nFavotire Color: Blue")


def test_google_full_rejoins_the_broken_fold_of_the_home_address() -> None:
    home = only_card("google-full-broken-folding.vcf").addresses[0]
    assert home == AddressParts("home", "678 Plain Home Address\nAll one field 354\nBridgeport CT 06834")


def test_google_full_reads_three_addresses_with_po_box_extended_and_custom_label() -> None:
    addresses = only_card("google-full-broken-folding.vcf").addresses
    assert addresses[1] == AddressParts("work", "POB 999\nNorthville\n80 Maple Road", "Danbury", "CT", "06810", "USA")
    assert addresses[2] == AddressParts("Weekends", "678 Elm Street\nApt 354\n", "Bridgeport", "CT", "06834", "USA")


def test_google_full_reads_three_emails_and_eight_phones_with_labels() -> None:
    record = only_card("google-full-broken-folding.vcf")
    assert labelled(record.emails) == [
        ("homeEmail@example.com", "home"),
        ("workEmail@example.com", "work"),
        ("customEmail@example.com", "Arbitrary String"),
    ]
    assert labelled(record.phones) == [
        ("+1 860 555 3887", "home"),
        ("+1 860 555 0301", "work"),
        ("+1 203 555 1047", "mobile"),
        ("+1 212 555 1234", "main"),
        ("+1 212 555 2345", "work fax"),
        ("+1 212 555 3456", "home fax"),
        ("+1 212 555 4567", "GRAND_CENTRAL"),
        ("+1 212 555 0000", "pager"),
    ]


def test_google_full_reads_names_birthday_and_the_note_rejoined() -> None:
    record = only_card("google-full-broken-folding.vcf")
    assert (record.family_name, record.given_name) == ("von AAALast", "AAAgoogleFirst Middleone Middletwo")
    assert (record.organization, record.job_title, record.birthday) == ("SuperCorp", "Chairman", "1961-04-05")
    assert record.notes is not None
    assert record.notes.startswith("Blah, blah\n\nblah blah blah.")
    assert record.notes.endswith("\nArbitrary_String: Another custom field")


def test_android_qp_reads_six_cards_and_their_categories() -> None:
    records = fixture("android-qp-multi-photo.vcf")
    assert len(records) == 6
    # INDEX.md says all six; the file's fifth card has no CATEGORIES line.
    assert [record.tags for record in records] == [["My Contacts"]] * 4 + [[]] + [["My Contacts"]]


def test_android_qp_reads_cards_with_only_an_email() -> None:
    first, second = fixture("android-qp-multi-photo.vcf")[:2]
    assert (first.given_name, first.family_name, first.formatted_name) == ("", "", "")
    assert labelled(first.emails) == [("john.doe@company.com", None)]
    assert labelled(second.emails) == [("jane.doe@company.com", None)]


def test_android_qp_decodes_utf8_quoted_printable_names_with_trailing_spaces() -> None:
    third = fixture("android-qp-multi-photo.vcf")[2]
    assert (third.family_name, third.formatted_name) == ("Ñ Ñ Ñ Ñ ", "Ñ Ñ Ñ Ñ Ñ ")
    assert labelled(third.phones) == [("123456789", "mobile")]


def test_android_qp_joins_soft_breaks_and_two_notes() -> None:
    fourth = fixture("android-qp-multi-photo.vcf")[3]
    assert fourth.formatted_name == "Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ Ñ"
    assert labelled(fourth.phones) == [
        ("123456", "mobile"),
        ("234567", "home"),
        ("3456789", "mobile"),
        ("45678901", "home"),
    ]
    note = "Ñ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ Ñ Ñ Ñ Ñ Ñ Ñ ÑÑ Ñ Ñ Ñ Ñ "
    assert fourth.notes == f"{note}\n{note}"


def test_android_qp_keeps_the_first_org_and_names_the_others() -> None:
    fifth, sixth = fixture("android-qp-multi-photo.vcf")[4:]
    assert (fifth.family_name, fifth.given_name, fifth.formatted_name) == ("Ñ Ñ ", "Ñ Ñ Ñ ", "Ñ Ñ Ñ Ñ ")
    assert len(fifth.phones) == 3
    assert labelled(fifth.emails) == [("bob@company.com", "work"), ("Ñ" * 14, None)]
    assert fifth.organization == "Ñ" * 12
    assert fifth.dropped == ["ORG", "URL", "PHOTO"]
    assert (sixth.formatted_name, sixth.organization, sixth.dropped) == ("ÑÑÑÑ", "Ñ" * 44, ["ORG"])
    assert labelled(sixth.phones) == [("55556666", "mobile")]
    assert labelled(sixth.emails) == [("henry@company.com", None)]


def test_outlook_2007_reads_names_organization_and_basic_format_birthday() -> None:
    record = only_card("outlook-2007-qp-photo.vcf")
    assert (record.family_name, record.given_name) == ("Sample", "Michael")
    assert record.formatted_name == "Mr. Michael Sample Jr."
    assert (record.organization, record.job_title) == ("TheCompany, TheDepartment", "TheJobTitle")
    assert record.birthday == "1922-03-10"
    assert labelled(record.emails) == [("mike.sample@example.com", None)]


def test_outlook_2007_reads_four_phones_with_bare_21_types() -> None:
    assert labelled(only_card("outlook-2007-qp-photo.vcf").phones) == [
        ("(111) 555-1111", "work"),
        ("(111) 555-2222", "home"),
        ("(111) 555-4444", "mobile"),
        ("(111) 555-3333", "work fax"),
    ]


def test_outlook_2007_reads_the_work_address_with_its_extended_part() -> None:
    assert only_card("outlook-2007-qp-photo.vcf").addresses == [
        AddressParts("work", "TheOffice\n222 Broadway", "New York", "NY", "99999", "USA")
    ]


def test_outlook_2007_decodes_the_quoted_printable_note_with_crlf_as_line_breaks() -> None:
    # INDEX.md quotes the decoded bytes (`\t\r\n`); a CRLF is one line break, read as "\n".
    assert only_card("outlook-2007-qp-photo.vcf").notes == (
        "This is the NOTE field\t\nI assume it encodes this text inside a NOTE vCard type.\n"
        "But I'm not sure because there's text formatting going on here.\nIt does not preserve the formatting"
    )


def test_outlook_2007_skips_the_base64_blocks_ended_by_a_blank_line() -> None:
    dropped = only_card("outlook-2007-qp-photo.vcf").dropped
    assert {"KEY", "PHOTO", "ROLE", "NICKNAME", "URL", "X-MS-ANNIVERSARY", "LABEL", "FBURL"} <= set(dropped)
    assert "EMAIL" not in dropped


def test_thunderbird_mfab_reads_the_shifted_addresses_as_exported() -> None:
    assert only_card("thunderbird-mfab-extension.vcf").addresses == [
        AddressParts("work", "222 Broadway\nSuite 100", "New York", "NY", "98765", "USA"),
        AddressParts("home", "123 Main St\nApt 10", "Austin", "TX", "12345", "USA"),
    ]


def test_thunderbird_mfab_reads_five_phones_and_five_emails() -> None:
    record = only_card("thunderbird-mfab-extension.vcf")
    assert labelled(record.phones) == [
        ("555-555-1111", "work"),
        ("555-555-2222", "home"),
        ("555-555-5555", "mobile"),
        ("555-555-3333", "fax"),
        ("555-555-4444", "pager"),
    ]
    assert [email.value for email in record.emails] == [
        "doe.john@example.net",
        "additional-email@company.com",
        "additional-email1@company.com",
        "additional-email2@company.com",
        "additional-email3@company.com",
    ]


def test_thunderbird_mfab_reads_escaped_commas_of_categories_as_one_tag_by_the_spec() -> None:
    assert only_card("thunderbird-mfab-extension.vcf").tags == ["category1, category2, category3"]


def test_thunderbird_mfab_reads_names_birthday_and_note() -> None:
    record = only_card("thunderbird-mfab-extension.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("Doe", "John", "John Doe")
    assert (record.organization, record.job_title) == ("TheOrganization, TheDepartment", "TheTitle")
    assert record.birthday == "1970-09-21"
    assert record.notes == (
        "This is the notes field.\nSecond Line\n\nFourth Line\n"
        'You can put anything in the "note" field; even curse words.'
    )


def test_cardbook_reads_the_year_1604_as_a_birthday_without_year() -> None:
    record = only_card("cardbook-bday-no-year.vcf")
    assert record.formatted_name == "Test bday without year Thunderbird CardBook"
    assert (record.family_name, record.given_name) == ("", "")
    assert record.birthday == "--01-01"
    assert record.dropped == []


def test_thundersync_falls_back_to_latin1_for_a_note_mislabelled_utf8() -> None:
    assert only_card("thundersync-qp-mislabeled-charset.vcf").notes == "46b12,\n3ème étage droite."


def test_thundersync_reads_the_raw_utf8_values_and_unescaped_commas() -> None:
    record = only_card("thundersync-qp-mislabeled-charset.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("de Cozy", "Testé", "Testé de Cozy")
    assert labelled(record.emails) == [("testcozy@cozycloud.cc", None)]
    assert labelled(record.phones) == [("0123456789", "work"), ("+33612345678", "mobile")]
    assert record.addresses == [
        AddressParts("home", "12, rue René Fictif", "Paris", None, "75010", "France"),
        AddressParts("work", "4, rue Léon Fictif", "Paris", None, "75010", "France"),
    ]
    assert (record.organization, record.birthday) == ("Société Cozycloud", "1989-02-02")


def test_evolution_unfolds_values_split_mid_word() -> None:
    record = only_card("evolution-couchdb-john-doe.vcf")
    assert labelled(record.emails) == [("john.doe@ibm.com", "work")]
    assert labelled(record.phones) == [("905-666-1234", "mobile"), ("905-555-1234", "work")]
    assert record.addresses == [
        AddressParts(
            "home", "ASB-123\n15 Crescent moon drive", "Albaney", "New York", "12345", "United States of America"
        )
    ]


def test_evolution_reads_names_organization_categories_and_note() -> None:
    record = only_card("evolution-couchdb-john-doe.vcf")
    assert (record.family_name, record.given_name) == ("Doe", "John Richter, James")
    assert record.formatted_name == "Mr. John Richter, James Doe Sr."
    assert (record.organization, record.job_title) == ("IBM, Accounting, Dungeon", "Money Counter")
    assert (record.tags, record.birthday) == (["VIP"], "1980-03-22")
    assert record.notes is not None
    assert "WARRANTIES, INCLUDING, BUT NOT LIMITED TO" in record.notes
    assert "SERVICES; LOSS OF USE" in record.notes
    assert {"X-AIM", "URL", "NICKNAME", "X-EVOLUTION-SPOUSE", "X-EVOLUTION-ANNIVERSARY"} <= set(record.dropped)


def test_kde_reads_properties_sorted_alphabetically_and_a_folded_postal_code() -> None:
    record = only_card("kde-kontact-full.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == (
        "Nowak",
        "Antoni KDE User",
        "Antoni Nowak",
    )
    assert (record.organization, record.job_title) == ("Aperture Project", "Chief Information Officer")
    assert record.addresses == [
        AddressParts("home", "Fikcyjna 82", "Police", "zachodniopomorskie", "74-023", "Polska"),
        AddressParts("work", "Trippstadter Strasse 122", "Kaiserslautern", "Rheinland-Pfalz", "67663", "Niemcy"),
        AddressParts("work", "Trippstadter Str. 122", "Kaiserslautern", "Rheinland-Pfalz", "67663", "Niemcy"),
    ]


def test_kde_reads_emails_phones_and_a_date_time_birthday() -> None:
    record = only_card("kde-kontact-full.vcf")
    assert labelled(record.emails) == [
        ("antoni.nowak.kde@example.com", None),
        ("antoni.nowak.otherkde@example.org", None),
    ]
    assert labelled(record.phones) == [
        ("+48 91 0 000 6584", "home"),
        ("+48 12 000 23 34", "work"),
        ("+48 600 000 056", "mobile"),
    ]
    assert record.birthday == "1985-01-28"


def test_kde_names_properties_whose_names_hold_a_slash_in_dropped() -> None:
    dropped = only_card("kde-kontact-full.vcf").dropped
    assert {"X-MESSAGING/GADU-ALL", "X-MESSAGING/SKYPE-ALL", "X-MESSAGING/XMPP-ALL"} <= set(dropped)
    assert {"ROLE", "GEO", "URL", "PHOTO", "CLASS"} <= set(dropped)


def test_davdroid_ignores_the_stray_end_line() -> None:
    record = only_card("davdroid-stray-end-line.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("de Cozy", "Testé", "Testé de Cozy")
    assert labelled(record.phones) == [("0123456789", "work"), ("+33612345678", "mobile")]
    assert labelled(record.emails) == [("test.decozy@cozycloud.cc", "work"), ("testcozy@cozycloud.cc", "home")]
    assert record.notes == "46b12,\n3ème étage droite."
    assert record.addresses == [
        AddressParts("work", "4, rue Léon Fictif\n75010 Paris"),
        AddressParts("home", "12, rue René Fictif\n75010 Paris"),
    ]
    assert record.tags == ["groupe1", "groupe2"]
    assert record.dropped == ["LABEL"]


def test_davx5_reads_a_vcard4_birthday_without_year() -> None:
    record = only_card("davx5-v4-bday-no-year.vcf")
    assert (record.formatted_name, record.birthday) == ("VCard 4 Test", "--04-16")


def test_sogo_skips_the_vlist_block() -> None:
    record = only_card("sogo-connector-vlist.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("de Cozy", "Testé", "Testé de Cozy")
    assert (record.organization, record.birthday) == ("CozyCloud", "1989-02-02")
    assert record.tags == ["groupe1", "groupe2"]
    assert record.addresses == [
        AddressParts("work", "4, rue Léon Fictif", "Paris", None, "75010", "France"),
        AddressParts("home", "12, rue René Fictif", "Paris", None, "75010", "France"),
    ]
    assert labelled(record.phones) == [("01 23 45 67 89", "work"), ("+33612345678", "mobile")]
    assert labelled(record.emails) == [("test.decozy@cozycloud.cc", "work"), ("testcozy@cozycloud.cc", "home")]
    assert record.notes == "46b12,\n3ème étage droite."


def test_nec_decodes_raw_shift_jis_values_by_their_charset() -> None:
    records = fixture("nec-shiftjis-three-contacts.vcf")
    assert [record.family_name for record in records] == ["安藤ロイド3", "安藤ロイド4", "安藤ロイド5"]
    assert all(record.dropped == ["SOUND"] for record in records)


def test_nec_reads_four_phones_each_with_the_vendor_types_as_labels() -> None:
    assert [labelled(record.phones) for record in fixture("nec-shiftjis-three-contacts.vcf")] == [
        [("9", "secret"), ("10", "hotel"), ("11", "school"), ("12", "home fax")],
        [("13", "modem"), ("14", "pager"), ("15", "family"), ("16", "girl")],
        [("17", "boy"), ("18", "friend"), ("19", "phs"), ("20", "restaurant")],
    ]


def test_winmobile_survives_the_agent_line_and_ignores_empty_properties() -> None:
    record = only_card("winmobile65-agent.vcf")
    assert (record.family_name, record.formatted_name) == ("Example", "Example")
    assert (record.emails, record.phones, record.addresses, record.birthday) == ([], [], [], None)
    assert record.dropped == ["ANNIVERSARY", "AGENT", "X-CLASS"]


def test_blackberry_reads_past_a_long_unfolded_photo_line() -> None:
    record = only_card("blackberry-long-photo-line.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("Doe", "john", "John Doe")
    assert record.organization == "Acme Solutions"
    assert labelled(record.phones) == [("+96123456789", "mobile")]
    assert (record.notes, record.dropped) == (None, ["PHOTO"])


def test_thebat_reads_undeclared_quoted_printable_bytes_as_windows_1250() -> None:
    record = only_card("thebat-latin2-qp-no-charset.vcf")
    assert (record.family_name, record.given_name, record.formatted_name) == ("Iksiński", "Piotr", "Piotr Iksiński")
    assert labelled(record.emails) == [("piotr.iksinski@somedomain.com", None)]
    assert record.dropped == ["X-GENDER"]


def test_fullcontact_reads_one_birthday_from_two_with_the_same_altid() -> None:
    record = only_card("fullcontact-v4.vcf")
    assert record.birthday == "2016-08-01"
    assert "BDAY" not in record.dropped


def test_fullcontact_reads_nine_phones_and_five_emails_with_custom_types() -> None:
    record = only_card("fullcontact-v4.vcf")
    assert labelled(record.phones) == [
        ("555-555-1111", "home"),
        ("555-555-1112", "work"),
        ("555-555-1113", "mobile"),
        ("555-555-1114", "mobile"),
        ("555-555-1115", None),
        ("555-555-1116", "home fax"),
        ("555-555-1117", "work fax"),
        ("555-555-1118", None),
        ("555-555-1119", None),
    ]
    assert labelled(record.emails) == [
        ("home@example.com", "home"),
        ("work@example.com", "work"),
        ("school@example.com", "school"),
        ("other@example.com", "other"),
        ("custom@example.com", "customtype"),
    ]


def test_fullcontact_keeps_the_first_org_and_title_and_names_the_second() -> None:
    record = only_card("fullcontact-v4.vcf")
    assert (record.organization, record.job_title) == ("Organization1, Department1", "Title1")
    assert record.dropped.count("ORG") == record.dropped.count("TITLE") == record.dropped.count("PHOTO") == 1


def test_fullcontact_reads_names_note_tags_and_four_addresses() -> None:
    record = only_card("fullcontact-v4.vcf")
    assert (record.family_name, record.given_name) == ("LastName", "FirstName MiddleName")
    assert record.formatted_name == "Prefix FirstName MiddleName LastName Suffix"
    assert (record.notes, record.tags) == ("Notes line 1\nNotes line 2", ["Tag"])
    assert record.addresses[0] == AddressParts(
        "home", "HomeExtended\nHomeStreet", "HomeCity", "HomeState", "HomePostal", "HomeCountry"
    )
    assert [address.label for address in record.addresses] == ["home", "work", "other", "customtype"]


def test_broken_missing_end_reads_the_unterminated_card() -> None:
    assert only_card("broken-missing-end.vcf").formatted_name == "Contact with missing END:VCARD"


# --- the transfer level -------------------------------------------------------------------


def test_quoted_printable_soft_breaks_join_the_value() -> None:
    record = card(
        "NOTE;ENCODING=QUOTED-PRINTABLE;CHARSET=UTF-8:Caf=C3=A9 au lait=",
        " et cr=C3=A8me=0D=0Aligne 2",
        version="2.1",
    )
    assert record.notes == "Café au lait et crème\nligne 2"


def test_a_quoted_printable_soft_break_before_a_blank_line_ends_the_value() -> None:
    record = card("ORG;ENCODING=QUOTED-PRINTABLE:Acme=", "", "TITLE:Boss", version="2.1")
    assert (record.organization, record.job_title) == ("Acme", "Boss")


def test_bare_quoted_printable_parameter_of_21_is_decoded() -> None:
    assert card("FN;QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Ren=E9", version="2.1").formatted_name == "René"


def test_folded_lines_are_unfolded_with_a_space_or_a_tab() -> None:
    record = card("NOTE:one", " two", "\t three", "EMAIL:bob@exa", " mple.com")
    assert record.notes == "onetwo three"
    assert labelled(record.emails) == [("bob@example.com", None)]


def test_a_fold_that_lost_its_space_continues_the_previous_line() -> None:
    record = card("ADR;TYPE=HOME:;;1 Main St;Spring", "field;IL;62701;USA")
    assert record.addresses == [AddressParts("home", "1 Main St", "Springfield", "IL", "62701", "USA")]


def test_escaped_comma_semicolon_and_newline_are_read_as_text() -> None:
    record = card(r"NOTE:one\, two\; three\nfour\\five", r"TITLE:Head\, R&D")
    assert record.notes == "one, two; three\nfour\\five"
    assert record.job_title == "Head, R&D"


def test_an_escaped_semicolon_stays_inside_a_structured_part() -> None:
    record = card(r"N:Smith\;Jones;Ann;;;", r"ADR:;;1 Main St\; Apt 2;Springfield;;;")
    assert (record.family_name, record.given_name) == ("Smith;Jones", "Ann")
    assert record.addresses[0].street == "1 Main St; Apt 2"


def test_unescaped_commas_in_text_values_are_kept() -> None:
    record = card("FN:Doe, John", "NOTE:a, b, c", "ORG:Acme, Inc.;Sales")
    assert (record.formatted_name, record.notes, record.organization) == ("Doe, John", "a, b, c", "Acme, Inc., Sales")


def test_a_comma_in_the_additional_names_separates_them_as_rfc_6350_says() -> None:
    assert card("N:Doe;John;Paul,George;;").given_name == "John Paul George"


def test_a_comma_in_a_21_name_is_text() -> None:
    assert card("N:Doe, Jr.;John;;;", version="2.1").family_name == "Doe, Jr."


def test_an_apple_escaped_colon_is_a_colon() -> None:
    assert card(r"NOTE:see http\://example.com").notes == "see http://example.com"


def test_an_escaped_backslash_before_a_colon_stays_a_backslash() -> None:
    assert card(r"NOTE:C\\:drive").notes == "C\\:drive"


def test_categories_split_on_unescaped_commas_only() -> None:
    assert card(r"CATEGORIES:one\,two,three", "CATEGORIES:four").tags == ["one,two", "three", "four"]


def test_utf16_le_with_bom_is_decoded() -> None:
    text = "BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zoë Ångström\r\nEND:VCARD\r\n"
    assert [record.formatted_name for record in cards(text, encoding="utf-16")] == ["Zoë Ångström"]


def test_utf16_be_with_bom_is_decoded() -> None:
    data = codecs.BOM_UTF16_BE + "BEGIN:VCARD\nVERSION:4.0\nFN:李小龍\nEND:VCARD\n".encode("utf-16-be")
    assert [record.formatted_name for record in read_vcards(data)] == ["李小龍"]


def test_a_utf16_bom_before_invalid_utf16_is_undecodable() -> None:
    data = "BEGIN:VCARD\nFN:x\nEND:VCARD\n".encode("utf-16") + b"\x00"
    with pytest.raises(UndecodableFile, match="not valid UTF-16"):
        read_vcards(data)


def test_a_utf8_bom_is_skipped() -> None:
    data = codecs.BOM_UTF8 + b"BEGIN:VCARD\r\nVERSION:3.0\r\nFN:Zo\xc3\xab\r\nEND:VCARD\r\n"
    assert [record.formatted_name for record in read_vcards(data)] == ["Zoë"]


@pytest.mark.parametrize("ending", ["\r\n", "\n", "\r\r\n", "\r"], ids=["crlf", "lf", "cr-cr-lf", "cr"])
def test_every_line_ending_reads_alike(ending: str) -> None:
    text = ending.join(["BEGIN:VCARD", "VERSION:3.0", "FN:Ann", " Lee", "TEL:555 0100", "END:VCARD", ""])
    records = cards(text)
    assert [(record.formatted_name, labelled(record.phones)) for record in records] == [
        ("AnnLee", [("555 0100", None)])
    ]


def test_a_file_that_is_not_a_vcard_is_refused() -> None:
    with pytest.raises(NotAVCardFile, match="not a vCard file"):
        read_vcards(b"First Name,Last Name\nAda,Lovelace\n")


def test_an_empty_file_is_refused() -> None:
    with pytest.raises(NotAVCardFile, match="empty"):
        read_vcards(b"")


def test_a_file_of_blank_lines_is_refused() -> None:
    with pytest.raises(NotAVCardFile):
        read_vcards(b"\r\n  \r\n")


def test_the_whole_file_is_refused_when_called_not_on_the_first_read() -> None:
    with pytest.raises(NotAVCardFile):
        read_vcards(b"<html></html>")  # no iteration: the check is eager


def test_cards_are_read_lazily() -> None:
    records = read_vcards(b"BEGIN:VCARD\nFN:One\nEND:VCARD\n" * 3)
    assert isinstance(records, Iterator)
    assert next(records).formatted_name == "One"


def test_a_garbage_card_among_good_cards_fails_alone() -> None:
    records = cards(
        "BEGIN:VCARD\nVERSION:3.0\nFN:Good One\nEND:VCARD\n"
        "BEGIN:VCARD\nVERSION:3.0\n:::garbage\n@@@ more garbage\nEND:VCARD\n"
        'BEGIN:VCARD\nVERSION:3.0\nFN;TYPE="broken:x\nEND:VCARD\n'
        "BEGIN:VCARD\nVERSION:3.0\nFN:Good Two\nEND:VCARD\n"
    )
    assert [record.formatted_name for record in records] == ["Good One", "", "", "Good Two"]
    assert [record.error is not None for record in records] == [False, True, True, False]
    assert records[1].error == "No line of the card could be read as a vCard property."
    assert records[2].dropped == ["FN"]


def test_an_empty_card_has_an_error() -> None:
    records = cards("BEGIN:VCARD\nVERSION:3.0\nEND:VCARD\n")
    assert [record.error for record in records] == ["The card is empty."]


def test_a_line_vobject_cannot_read_drops_only_that_property() -> None:
    record = card('TEL;TYPE="unclosed:555 0100', "FN:Ann Lee", "EMAIL:ann@example.com")
    assert (record.formatted_name, record.phones, record.dropped) == ("Ann Lee", [], ["TEL"])
    assert labelled(record.emails) == [("ann@example.com", None)]


def test_a_missing_end_is_ended_by_the_next_card() -> None:
    records = cards("BEGIN:VCARD\nFN:One\nBEGIN:VCARD\nFN:Two\nEND:VCARD\n")
    assert [record.formatted_name for record in records] == ["One", "Two"]


def test_other_top_level_blocks_are_skipped_even_unclosed() -> None:
    records = cards(
        "BEGIN:VCARD\nFN:One\nEND:VCARD\nBEGIN:VLIST\nFN:A list\nEND:VLIST\n"
        "BEGIN:VCALENDAR\nSUMMARY:x\nBEGIN:VCARD\nFN:Two\nEND:VCARD\n"
    )
    assert [record.formatted_name for record in records] == ["One", "Two"]


def test_the_vcard_embedded_in_a_21_agent_is_not_a_contact() -> None:
    records = cards(
        "BEGIN:VCARD\nVERSION:2.1\nFN:Boss\nAGENT:\nBEGIN:VCARD\nVERSION:2.1\nFN:Secretary\nEND:VCARD\n"
        "EMAIL:boss@example.com\nEND:VCARD\n"
    )
    assert [(record.formatted_name, record.dropped) for record in records] == [("Boss", ["AGENT"])]
    assert labelled(records[0].emails) == [("boss@example.com", None)]


def test_a_base64_text_value_is_decoded_with_its_charset() -> None:
    record = card("FN;ENCODING=BASE64;CHARSET=UTF-8:Wm/DqyBEdXBvbnQ=", version="2.1")
    assert record.formatted_name == "Zoë Dupont"


def test_a_raw_value_in_a_declared_charset_is_decoded_with_it() -> None:
    data = b"BEGIN:VCARD\r\nVERSION:2.1\r\nN;CHARSET=ISO-8859-2:Wroc\xb3awski;Jan\r\nEND:VCARD\r\n"
    assert [record.family_name for record in read_vcards(data)] == ["Wrocławski"]


def test_an_unknown_declared_charset_reads_as_utf8() -> None:
    data = "BEGIN:VCARD\r\nVERSION:2.1\r\nFN;CHARSET=X-UNHEARD-OF:Zoë\r\nEND:VCARD\r\n".encode()
    assert [record.formatted_name for record in read_vcards(data)] == ["Zoë"]


def test_undeclared_latin1_values_of_one_file_read_alike() -> None:
    data = (
        b"BEGIN:VCARD\nVERSION:3.0\nN:M\xfcller;J\xfcrgen;;;\nFN:J\xfcrgen M\xfcller\nNOTE:\xe0 bient\xf4t\nEND:VCARD\n"
    )
    record = next(read_vcards(data))
    assert (record.family_name, record.formatted_name, record.notes) == ("Müller", "Jürgen Müller", "à bientôt")


def test_empty_properties_are_neither_kept_nor_dropped() -> None:
    record = card("NOTE:", "EMAIL:", "X-EMPTY:", "TEL: ", "ADR:;;;;;;", "FN:Ann")
    assert (record.notes, record.emails, record.phones, record.addresses, record.dropped) == (None, [], [], [], [])


def test_unknown_properties_are_named_once_in_file_order_without_their_group() -> None:
    record = card("URL:http://a.example", "item1.X-SOMETHING:x", "NICKNAME:Al", "URL:http://b.example", "FN:Al")
    assert record.dropped == ["URL", "X-SOMETHING", "NICKNAME"]


def test_version_prodid_rev_and_uid_are_never_dropped() -> None:
    record = card("PRODID:-//Test//EN", "REV:2026-01-01T00:00:00Z", "UID:urn:uuid:1", "FN:Ann")
    assert record.dropped == []


def test_name_prefix_and_suffix_are_dropped_only_when_present() -> None:
    assert card("N:Doe;John;;Dr.;").dropped == ["N prefix"]
    assert card("N:Doe;John;;;III").dropped == ["N suffix"]
    assert card("N:Doe;John;;;").dropped == []


def test_notes_of_several_note_properties_are_joined_by_line_breaks() -> None:
    assert card("NOTE:one", "NOTE:two").notes == "one\ntwo"


def test_the_favorite_property_of_our_own_export_is_read() -> None:
    assert card("FN:Ann", "X-CONTACTS-API-FAVORITE:TRUE").favorite is True
    assert card("FN:Ann", "X-CONTACTS-API-FAVORITE:FALSE").favorite is False
    assert card("FN:Ann").favorite is False


@pytest.mark.parametrize(
    ("parameters", "label"),
    [
        (";TYPE=HOME,FAX", "home fax"),
        (";TYPE=FAX,HOME", "home fax"),
        (";TYPE=WORK,VOICE", "work"),
        (";TYPE=CELL", "mobile"),
        (";type=cell;type=pref", "mobile"),
        (";CELL;PREF", "mobile"),
        (";TYPE=pref", None),
        ("", None),
        (';TYPE="home,voice"', "home"),
        (";TYPE=work;TYPE=pager", "work pager"),
        (";X-NEC-HOTEL", "hotel"),
    ],
)
def test_type_parameters_make_the_label(parameters: str, label: str | None) -> None:
    assert labelled(card(f"TEL{parameters}:555 0100").phones) == [("555 0100", label)]


@pytest.mark.parametrize(
    ("ab_label", "label"),
    [
        ("_$!<Mobile>!$_", "mobile"),
        ("_$!<HomeFAX>!$_", "home fax"),
        ("_$!<WorkFAX>!$_", "work fax"),
        ("_$!<OtherFAX>!$_", "other fax"),
        ("_$!<Main>!$_", "main"),
        ("_$!<Pager>!$_", "pager"),
        ("_$!<Other>!$_", "other"),
        ("_$!<iPhone>!$_", "iPhone"),
        ("_$!<AssistantPhone>!$_", "AssistantPhone"),
        ("Mobile", "Mobile"),
        ("Navy\\; Reserve\\, retired", "Navy; Reserve, retired"),
    ],
)
def test_an_ab_label_gives_the_label_of_its_group(ab_label: str, label: str) -> None:
    record = card("item1.TEL;TYPE=WORK:555 0100", f"item1.X-ABLabel:{ab_label}")
    assert labelled(record.phones) == [("555 0100", label)]
    assert record.dropped == []


def test_an_ab_label_before_its_property_labels_it_too() -> None:
    record = card("ITEM2.X-ABLabel:Cottage", "item2.ADR:;;1 Lake Rd;Wolfeboro;;;")
    assert record.addresses == [AddressParts("Cottage", "1 Lake Rd", "Wolfeboro")]


def test_an_ab_label_of_no_property_is_dropped() -> None:
    assert card("FN:Ann", "item9.X-ABLabel:Lonely").dropped == ["X-ABLABEL"]


@pytest.mark.parametrize(
    ("line", "birthday"),
    [
        ("BDAY:1985-01-28", "1985-01-28"),
        ("BDAY:19850128", "1985-01-28"),
        ("BDAY;VALUE=date:1985-01-28", "1985-01-28"),
        ("BDAY:1985-01-28T00:00:00Z", "1985-01-28"),
        ("BDAY:19850128T120000", "1985-01-28"),
        ("BDAY:--0416", "--04-16"),
        ("BDAY:--04-16", "--04-16"),
        ("BDAY;X-APPLE-OMIT-YEAR=1604:1604-01-01", "--01-01"),
        ("BDAY:16040101", "--01-01"),
        ("BDAY;VALUE=text:circa 1980", "circa 1980"),
        ("BDAY:sometime", "sometime"),
    ],
)
def test_birthday_forms_are_read(line: str, birthday: str) -> None:
    assert card(line).birthday == birthday


def test_a_date_birthday_wins_over_a_text_one_of_the_same_altid() -> None:
    record = card("BDAY;ALTID=1;VALUE=text:first of August", "BDAY;ALTID=1:20160801", version="4.0")
    assert (record.birthday, record.dropped) == ("2016-08-01", [])


def test_a_second_different_birthday_is_dropped() -> None:
    record = card("BDAY:1980-01-01", "BDAY:1990-02-02")
    assert (record.birthday, record.dropped) == ("1980-01-01", ["BDAY"])


def test_looks_like_vcard_reads_the_first_non_blank_line() -> None:
    assert looks_like_vcard(b"\r\n\r\nbegin:vcard\r\n")
    assert looks_like_vcard(codecs.BOM_UTF8 + b"BEGIN:VCARD\n")
    assert looks_like_vcard("BEGIN:VCARD\r\n".encode("utf-16"))
    assert looks_like_vcard("\ufeffBEGIN:VCARD\n")
    assert not looks_like_vcard(b"BEGIN:VCALENDAR\n")
    assert not looks_like_vcard(b"Name,Email\nBEGIN:VCARD\n")
    assert not looks_like_vcard(b"")


def test_ten_thousand_cards_are_all_read() -> None:
    one = "BEGIN:VCARD\r\nVERSION:3.0\r\nN:Doe{0};Ann;;;\r\nFN:Ann Doe{0}\r\nEMAIL:ann{0}@example.com\r\nEND:VCARD\r\n"
    data = "".join(one.format(number) for number in range(10_000)).encode()
    records = list(read_vcards(data))
    assert len(records) == 10_000
    assert records[-1].family_name == "Doe9999"


# --- decoding ------------------------------------------------------------------------------


def test_decoded_text_follows_the_byte_order_mark() -> None:
    assert decoded_text(codecs.BOM_UTF8 + "Zoë".encode()) == "Zoë"
    assert decoded_text("Zoë".encode("utf-16")) == "Zoë"
    assert decoded_text(codecs.BOM_UTF16_BE + "Zoë".encode("utf-16-be")) == "Zoë"


def test_decoded_text_refuses_a_lone_surrogate_in_utf16() -> None:
    with pytest.raises(UndecodableFile, match="not valid UTF-16"):
        decoded_text(codecs.BOM_UTF16_LE + b"\x00\xd8A\x00")


def test_decoded_text_reads_strict_utf8_then_legacy() -> None:
    assert decoded_text("Zoë".encode()) == "Zoë"
    assert decoded_text("Zoë".encode("cp1252")) == "Zoë"


def test_legacy_text_reads_the_thunderbird_shift_jis_csv() -> None:
    data = (FIXTURES / "thunderbird-shiftjis.csv").read_bytes()
    assert legacy_codec(data) == "shift_jis"
    assert "名無しの権兵衛" in legacy_text(data)


@pytest.mark.parametrize(
    ("text", "encoding"),
    [
        ("46b12,\n3ème étage droite.", "cp1252"),  # valid Shift_JIS bytes, but not Japanese
        ("Mañana en España", "cp1252"),
        ("Töcken Spaßlund Blümchen", "cp1252"),
        ("Ole Sørensen, Åsa Öberg", "cp1252"),
        ("Iksiński;Piotr", "cp1250"),
        ("Zażółć gęślą jaźń, Łódź", "cp1250"),
        ("Příliš žluťoučký kůň", "cp1250"),
        ("Иванов;Иван;Петрович", "cp1251"),
        ("安藤ロイド3;ｱﾝﾄﾞﾛｲﾄﾞ", "shift_jis"),
    ],
)
def test_legacy_text_chooses_the_charset_the_text_was_written_in(text: str, encoding: str) -> None:
    assert legacy_text(text.encode(encoding)) == text


def test_legacy_text_never_fails() -> None:
    assert legacy_text(bytes(range(128, 256)))  # a cp1252 hole (0x81) falls back to Latin-1


def test_charset_text_uses_a_declared_charset_that_fits() -> None:
    assert charset_text("安藤".encode("shift_jis"), "SHIFT_JIS") == "安藤"
    assert charset_text(b"Ren\xe9", "ISO-8859-1") == "René"


def test_charset_text_falls_back_to_cp1252_for_a_mislabelled_charset() -> None:
    assert charset_text(b"3\xe8me \xe9tage", "UTF-8") == "3ème étage"


def test_charset_text_without_a_charset_reads_utf8_then_legacy() -> None:
    assert charset_text("Zoë".encode(), None) == "Zoë"
    assert charset_text(b"Iksi\xf1ski", None) == "Iksiński"
