"""csv_reader on its own: the real clients' CSV files of the shared fixtures (what `INDEX.md` says
each must yield), then the rules of the module docstring one by one on synthetic files of each
layout (Google Contacts current and old, Outlook, Roundcube, Thunderbird), the errors, the
encodings and line ends. No database, no app."""

from __future__ import annotations

import codecs
import csv
import io

import pytest

from contacts_api.contacts.interchange.csv_reader import NotAnAddressBookCsv, csv_layout, read_csv_contacts
from contacts_api.contacts.interchange.decoding import UndecodableFile
from contacts_api.contacts.interchange.records import AddressParts, LabelledValue, ReadRecord
from tests.interchange.conftest import fixture_bytes

# --- helpers ----------------------------------------------------------------------------------------


def records_of(data: bytes) -> list[ReadRecord]:
    return list(read_csv_contacts(data))


def only_record(data: bytes) -> ReadRecord:
    records = records_of(data)
    assert len(records) == 1, records
    return records[0]


def csv_bytes(header: list[str], *rows: dict[str, str], line_end: str = "\r\n") -> bytes:
    """A CSV file (UTF-8) of `header` and one line per row, each row naming the cells it fills."""
    unknown = {name for row in rows for name in row} - set(header)
    assert not unknown, f"cells under no header: {unknown}"
    out = io.StringIO()
    writer = csv.writer(out, lineterminator=line_end)
    writer.writerow(header)
    for row in rows:
        writer.writerow([row.get(name, "") for name in header])
    return out.getvalue().encode()


def header_of(name: str) -> list[str]:
    """The header row of a fixture file, as the reader sees it."""
    text = fixture_bytes(name).decode("utf-8-sig")
    return next(csv.reader(io.StringIO(text, newline="")))


# Google Contacts' current (2023+) export.
GOOGLE_HEADER = [
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
    "E-mail 1 - Label",
    "E-mail 1 - Value",
    "E-mail 2 - Label",
    "E-mail 2 - Value",
    "Phone 1 - Label",
    "Phone 1 - Value",
    "Phone 2 - Label",
    "Phone 2 - Value",
    "Address 1 - Label",
    "Address 1 - Formatted",
    "Address 1 - Street",
    "Address 1 - City",
    "Address 1 - PO Box",
    "Address 1 - Region",
    "Address 1 - Postal Code",
    "Address 1 - Country",
    "Address 1 - Extended Address",
    "Website 1 - Label",
    "Website 1 - Value",
]

# Outlook's export (the columns of Outlook 2016's "Comma Separated Values").
OUTLOOK_HEADER = [
    "Title",
    "First Name",
    "Middle Name",
    "Last Name",
    "Suffix",
    "Company",
    "Department",
    "Job Title",
    "Business Street",
    "Business Street 2",
    "Business Street 3",
    "Business Address PO Box",
    "Business City",
    "Business State",
    "Business Postal Code",
    "Business Country/Region",
    "Home Street",
    "Home City",
    "Home State",
    "Home Postal Code",
    "Home Country/Region",
    "Other Street",
    "Other City",
    "Other State",
    "Other Postal Code",
    "Other Country/Region",
    "Assistant's Phone",
    "Business Fax",
    "Business Phone",
    "Business Phone 2",
    "Callback",
    "Car Phone",
    "Company Main Phone",
    "Home Fax",
    "Home Phone",
    "Home Phone 2",
    "ISDN",
    "Mobile Phone",
    "Other Fax",
    "Other Phone",
    "Pager",
    "Primary Phone",
    "Radio Phone",
    "TTY/TDD Phone",
    "Telex",
    "Anniversary",
    "Birthday",
    "E-mail Address",
    "E-mail Type",
    "E-mail Display Name",
    "E-mail 2 Address",
    "E-mail 2 Type",
    "E-mail 2 Display Name",
    "E-mail 3 Address",
    "E-mail 3 Type",
    "E-mail 3 Display Name",
    "Gender",
    "Notes",
    "Categories",
    "Sensitivity",
    "Priority",
    "Private",
    "Web Page",
]

# What Outlook writes into a contact's untouched fields.
OUTLOOK_PLACEHOLDERS = {
    "Anniversary": "0/0/00",
    "Birthday": "0/0/00",
    "Gender": "Unspecified",
    "Sensitivity": "Normal",
    "Priority": "Normal",
    "Private": "False",
}

THUNDERBIRD_HEADER = header_of("thunderbird-export.csv")
ROUNDCUBE_HEADER = header_of("roundcube-generic-bom.csv")


def google(**cells: str) -> ReadRecord:
    """The one record of a Google current-layout file whose row holds a first name and `cells` (by header name)."""
    return only_record(csv_bytes(GOOGLE_HEADER, {"First Name": "Ada", **cells}))


def outlook(cells: dict[str, str]) -> ReadRecord:
    """The one record of an Outlook file whose row holds Outlook's placeholders, a first name and `cells`."""
    return only_record(csv_bytes(OUTLOOK_HEADER, {**OUTLOOK_PLACEHOLDERS, "First Name": "Charles", **cells}))


def roundcube(cells: dict[str, str]) -> ReadRecord:
    return only_record(csv_bytes(ROUNDCUBE_HEADER, {"First Name": "Grace", **cells}))


def thunderbird(cells: dict[str, str]) -> ReadRecord:
    return only_record(csv_bytes(THUNDERBIRD_HEADER, {"First Name": "Alan", **cells}))


# --- google-csv-old-layout.csv ----------------------------------------------------------------------


def google_old_fixture() -> ReadRecord:
    return only_record(fixture_bytes("google-csv-old-layout.csv"))


def test_google_old_layout_fixture_is_read_in_the_old_google_layout() -> None:
    assert csv_layout(header_of("google-csv-old-layout.csv")).name == "google-old"


def test_google_old_layout_fixture_holds_one_contact() -> None:
    assert len(records_of(fixture_bytes("google-csv-old-layout.csv"))) == 1


def test_google_old_layout_fixture_joins_given_and_additional_name_and_takes_the_name_column_as_formatted() -> None:
    record = google_old_fixture()
    assert record.given_name == "Firstname Middle"
    assert record.family_name == "Lastname"
    assert record.formatted_name == "Prefix Firstname Middle Lastname Suffix"


def test_google_old_layout_fixture_gives_four_emails_with_their_type_and_no_primary_marker() -> None:
    assert google_old_fixture().emails == [
        LabelledValue("home@aaa.pl", "Home"),
        LabelledValue("work@email.pl", "Work"),
        LabelledValue("unknown@email.com", None),
        LabelledValue("other@email.com", "Other"),
    ]


def test_google_old_layout_fixture_gives_seven_phones_with_their_type_in_slot_order() -> None:
    assert google_old_fixture().phones == [
        LabelledValue("pager", "Pager"),
        LabelledValue("mainphone", "Main"),
        LabelledValue("homephone", "Home"),
        LabelledValue("homefax", "Home Fax"),
        LabelledValue("mobile", "Mobile"),
        LabelledValue("workphone", "Work"),
        LabelledValue("workfax", "Work Fax"),
    ]


def test_google_old_layout_fixture_gives_two_addresses_from_their_parts_with_the_po_box_before_the_street() -> None:
    assert google_old_fixture().addresses == [
        AddressParts(
            label="Home",
            street="home_pobox\nhome_street",
            city="home_city",
            region="home_state",
            postal_code="home_zip",
            country="home_country",
        ),
        AddressParts(
            label="Work",
            street="work_street",
            city="work_city",
            region=None,
            postal_code="work_zip",
            country="work_country",
        ),
    ]


def test_google_old_layout_fixture_takes_organization_1_name_and_title() -> None:
    record = google_old_fixture()
    assert record.organization == "company"
    assert record.job_title == "jobtitle"


def test_google_old_layout_fixture_keeps_the_iso_birthday() -> None:
    assert google_old_fixture().birthday == "1975-12-12"


def test_google_old_layout_fixture_reads_a_doubled_quote_in_notes_as_one_quote() -> None:
    assert google_old_fixture().notes == 'note"note'


def test_google_old_layout_fixture_group_membership_keeps_test_and_leaves_out_the_my_contacts_system_group() -> None:
    record = google_old_fixture()
    assert record.tags == ["Test"]
    assert record.favorite is False


def test_google_old_layout_fixture_names_prefix_suffix_nickname_relation_and_websites_in_dropped() -> None:
    assert google_old_fixture().dropped == [
        "Name Prefix",
        "Name Suffix",
        "Nickname",
        "Relation 1 - Type",
        "Relation 1 - Value",
        "Website 1 - Type",
        "Website 1 - Value",
        "Website 2 - Type",
        "Website 2 - Value",
    ]


# --- thunderbird-export.csv ---------------------------------------------------------------------------


def thunderbird_fixture() -> list[ReadRecord]:
    return records_of(fixture_bytes("thunderbird-export.csv"))


def test_thunderbird_fixture_is_read_in_the_thunderbird_layout() -> None:
    assert csv_layout(THUNDERBIRD_HEADER).name == "thunderbird"


def test_thunderbird_fixture_gives_two_contacts_despite_bare_cr_and_lf_inside_quoted_cells() -> None:
    assert len(thunderbird_fixture()) == 2


def test_thunderbird_fixture_gives_first_last_and_display_names() -> None:
    names = [(r.given_name, r.family_name, r.formatted_name) for r in thunderbird_fixture()]
    assert names == [("contact", "one", "contact number one"), ("contact", "two", "contact number two")]


def test_thunderbird_fixture_primary_email_has_no_label() -> None:
    assert [r.emails for r in thunderbird_fixture()] == [
        [LabelledValue("contact1@invalid", None)],
        [LabelledValue("contact2@invalid", None)],
    ]


def test_thunderbird_fixture_unquotes_the_quoted_job_title() -> None:
    assert [r.job_title for r in thunderbird_fixture()] == [None, '"worker"']


def test_thunderbird_fixture_keeps_non_ascii_notes() -> None:
    assert [r.notes for r in thunderbird_fixture()] == [None, "here's some unicode text…"]


def test_thunderbird_fixture_names_the_four_custom_columns_in_dropped_only_where_filled() -> None:
    assert [r.dropped for r in thunderbird_fixture()] == [[], ["Custom 1", "Custom 2", "Custom 3", "Custom 4"]]


def test_thunderbird_fixture_has_no_phone_address_birthday_or_tag() -> None:
    for record in thunderbird_fixture():
        assert (record.phones, record.addresses, record.birthday, record.tags, record.organization) == (
            [],
            [],
            None,
            [],
            None,
        )


# --- thunderbird-shiftjis.csv -------------------------------------------------------------------------


def test_thunderbird_shiftjis_fixture_is_decoded_as_shift_jis_into_one_contact_with_its_names() -> None:
    record = only_record(fixture_bytes("thunderbird-shiftjis.csv"))
    assert (record.given_name, record.family_name, record.formatted_name) == ("権兵衛", "名無し", "名無しの権兵衛")


def test_thunderbird_shiftjis_fixture_keeps_the_non_ascii_email_as_is() -> None:
    record = only_record(fixture_bytes("thunderbird-shiftjis.csv"))
    assert record.emails == [LabelledValue("名無しの権兵衛@host.invalid", None)]


def test_thunderbird_shiftjis_fixture_trailing_empty_header_column_drops_nothing() -> None:
    assert only_record(fixture_bytes("thunderbird-shiftjis.csv")).dropped == []


# --- roundcube-generic-bom.csv ------------------------------------------------------------------------


def roundcube_fixture() -> ReadRecord:
    return only_record(fixture_bytes("roundcube-generic-bom.csv"))


def test_roundcube_fixture_is_read_in_the_roundcube_layout() -> None:
    assert csv_layout(ROUNDCUBE_HEADER).name == "roundcube"


def test_roundcube_fixture_bom_does_not_hide_the_display_name_column() -> None:
    assert roundcube_fixture().formatted_name == "Display Name"


def test_roundcube_fixture_joins_first_and_middle_name_and_takes_last_name() -> None:
    record = roundcube_fixture()
    assert (record.given_name, record.family_name) == ("First Name Middle Name", "Last Name")


def test_roundcube_fixture_gives_three_emails_labelled_home_work_other() -> None:
    assert roundcube_fixture().emails == [
        LabelledValue("home@example.com", "home"),
        LabelledValue("work@example.com", "work"),
        LabelledValue("other@example.com", "other"),
    ]


def test_roundcube_fixture_gives_thirteen_phones_with_lower_case_labels() -> None:
    assert roundcube_fixture().phones == [
        LabelledValue("100", "home"),
        LabelledValue("200", "home"),
        LabelledValue("300", "work"),
        LabelledValue("400", "work"),
        LabelledValue("500", "mobile"),
        LabelledValue("600", "main"),
        LabelledValue("700", "home fax"),
        LabelledValue("800", "work fax"),
        LabelledValue("900", "car"),
        LabelledValue("111", "pager"),
        LabelledValue("222", "video"),
        LabelledValue("333", "assistant"),
        LabelledValue("444", "other"),
    ]


def test_roundcube_fixture_gives_home_work_and_other_addresses_with_business_street_and_work_city_in_one() -> None:
    assert roundcube_fixture().addresses == [
        AddressParts("home", "Home Street", "Home City", "Home State", "Home Zip", "Home Country"),
        AddressParts("work", "Work Street", "Work City", "Work State", "Work Zip", "Work Country"),
        AddressParts("other", "Other Street", "Other City", "Other State", "Other Zip", "Other Country"),
    ]


def test_roundcube_fixture_joins_company_and_department_and_takes_the_job_title() -> None:
    record = roundcube_fixture()
    assert (record.organization, record.job_title) == ("Company, Department", "Job Title")


def test_roundcube_fixture_reads_the_birthday_day_first() -> None:
    assert roundcube_fixture().birthday == "1991-01-20"


def test_roundcube_fixture_keeps_notes_and_categories_as_tags() -> None:
    record = roundcube_fixture()
    assert (record.notes, record.tags, record.favorite) == ("Notes", ["test"], False)


def test_roundcube_fixture_names_prefix_suffix_nickname_gender_dates_people_im_and_websites_in_dropped() -> None:
    assert roundcube_fixture().dropped == [
        "Title",
        "Suffix",
        "Nickname",
        "Gender",
        "Maiden Name",
        "Anniversary",
        "Manager's Name",
        "Assistant's Name",
        "Spouse",
        "IM Aim",
        "IM Icq",
        "IM Jabber",
        "IM Msn",
        "IM Skype",
        "IM Yahoo",
        "Website Blog",
        "Website Home Page",
        "Website Other",
        "Website Profile",
        "Website Work",
    ]


# --- Google Contacts, current layout ------------------------------------------------------------------


def test_google_current_header_is_recognised_as_the_google_layout() -> None:
    assert csv_layout(GOOGLE_HEADER).name == "google"


def test_google_current_layout_joins_first_and_middle_name_and_takes_file_as_as_formatted_name() -> None:
    record = google(**{"Middle Name": "King", "Last Name": "Lovelace", "File As": "Lovelace, Ada"})
    assert (record.given_name, record.family_name, record.formatted_name) == ("Ada King", "Lovelace", "Lovelace, Ada")


def test_google_current_layout_splits_triple_colon_emails_into_entries_with_the_label() -> None:
    record = google(**{"E-mail 1 - Label": "Work", "E-mail 1 - Value": "ada@work.example ::: ada@lab.example"})
    assert record.emails == [LabelledValue("ada@work.example", "Work"), LabelledValue("ada@lab.example", "Work")]


def test_google_current_layout_splits_triple_colon_phones_into_entries_with_the_label() -> None:
    record = google(**{"Phone 1 - Label": "Mobile", "Phone 1 - Value": "+44 111 ::: +44 222"})
    assert record.phones == [LabelledValue("+44 111", "Mobile"), LabelledValue("+44 222", "Mobile")]


def test_google_current_layout_strips_the_primary_marker_from_labels() -> None:
    record = google(
        **{
            "E-mail 1 - Label": "* Home",
            "E-mail 1 - Value": "ada@home.example",
            "Phone 1 - Label": "* Mobile",
            "Phone 1 - Value": "+44 111",
            "Address 1 - Label": "* Home",
            "Address 1 - City": "London",
        }
    )
    assert record.emails == [LabelledValue("ada@home.example", "Home")]
    assert record.phones == [LabelledValue("+44 111", "Mobile")]
    assert [address.label for address in record.addresses] == ["Home"]


def test_google_current_layout_keeps_a_custom_label_exactly_as_written() -> None:
    record = google(**{"Phone 1 - Label": "Lab Bench Phone", "Phone 1 - Value": "+44 111"})
    assert record.phones == [LabelledValue("+44 111", "Lab Bench Phone")]


def test_google_current_layout_empty_label_is_none() -> None:
    record = google(**{"E-mail 1 - Value": "ada@home.example"})
    assert record.emails == [LabelledValue("ada@home.example", None)]


def test_google_current_layout_primary_marker_alone_is_no_label() -> None:
    record = google(**{"E-mail 1 - Label": "* ", "E-mail 1 - Value": "ada@home.example"})
    assert record.emails == [LabelledValue("ada@home.example", None)]


def test_google_current_layout_trims_emails_and_phones() -> None:
    record = google(**{"E-mail 1 - Value": "  ada@home.example  ", "Phone 1 - Value": " +44 111 "})
    assert (record.emails, record.phones) == ([LabelledValue("ada@home.example")], [LabelledValue("+44 111")])


def test_google_current_layout_lists_entries_in_slot_order() -> None:
    record = google(
        **{
            "E-mail 1 - Value": "one@example.com",
            "E-mail 2 - Label": "Other",
            "E-mail 2 - Value": "two@example.com",
            "Phone 1 - Value": "111",
            "Phone 2 - Value": "222",
        }
    )
    assert [email.value for email in record.emails] == ["one@example.com", "two@example.com"]
    assert [phone.value for phone in record.phones] == ["111", "222"]


def test_google_current_layout_splits_triple_colon_address_parts_into_addresses_with_the_label() -> None:
    record = google(
        **{
            "Address 1 - Label": "Home",
            "Address 1 - Street": "1 Main St ::: 2 Rue Haute",
            "Address 1 - City": "London ::: Paris",
            "Address 1 - Country": "UK ::: France",
        }
    )
    assert record.addresses == [
        AddressParts(label="Home", street="1 Main St", city="London", country="UK"),
        AddressParts(label="Home", street="2 Rue Haute", city="Paris", country="France"),
    ]


def test_google_current_layout_address_street_is_po_box_extended_and_street_joined_by_newlines() -> None:
    record = google(
        **{
            "Address 1 - Street": "12 High St",
            "Address 1 - PO Box": "PO Box 7",
            "Address 1 - Extended Address": "Flat 3",
            "Address 1 - City": "Oxford",
            "Address 1 - Region": "Oxon",
            "Address 1 - Postal Code": "OX1 1AA",
        }
    )
    assert record.addresses == [
        AddressParts(
            street="PO Box 7\nFlat 3\n12 High St", city="Oxford", region="Oxon", postal_code="OX1 1AA", country=None
        )
    ]


def test_google_current_layout_formatted_address_is_the_street_when_no_other_part_is_filled() -> None:
    record = google(**{"Address 1 - Label": "Work", "Address 1 - Formatted": "1 Main St\nLondon"})
    assert record.addresses == [AddressParts(label="Work", street="1 Main St\nLondon")]


def test_google_current_layout_formatted_address_is_ignored_when_a_part_is_filled() -> None:
    record = google(**{"Address 1 - Formatted": "1 Main St\nLondon", "Address 1 - City": "London"})
    assert record.addresses == [AddressParts(city="London")]


def test_google_current_layout_address_with_only_a_label_is_no_address() -> None:
    assert google(**{"Address 1 - Label": "Home"}).addresses == []


def test_google_current_layout_labels_give_user_tags_and_starred_makes_a_favorite() -> None:
    record = google(Labels="* myContacts ::: * starred ::: Friends")
    assert (record.tags, record.favorite) == (["Friends"], True)


def test_google_current_layout_starred_system_group_is_recognised_in_any_case() -> None:
    assert google(Labels="* Starred").favorite is True


def test_google_current_layout_system_groups_other_than_starred_are_left_out_silently() -> None:
    record = google(Labels="* myContacts ::: * My Contacts ::: * Friends")
    assert (record.tags, record.favorite, record.dropped) == ([], False, [])


def test_google_current_layout_labels_are_split_only_on_the_triple_colon_separator() -> None:
    assert google(Labels="Friends, Family ::: Work;Team").tags == ["Friends, Family", "Work;Team"]


def test_google_current_layout_keeps_a_year_less_birthday() -> None:
    assert google(Birthday="--12-10").birthday == "--12-10"


def test_google_current_layout_joins_organization_name_and_department_and_takes_the_title() -> None:
    record = google(
        **{
            "Organization Name": "Analytical Engines",
            "Organization Department": "R&D",
            "Organization Title": "Engineer",
        }
    )
    assert (record.organization, record.job_title) == ("Analytical Engines, R&D", "Engineer")


def test_google_current_layout_organization_without_department_is_the_name_alone() -> None:
    assert google(**{"Organization Name": "Analytical Engines"}).organization == "Analytical Engines"


def test_google_current_layout_keeps_notes() -> None:
    assert google(Notes="Line one\nLine two").notes == "Line one\nLine two"


def test_google_current_layout_names_filled_columns_it_has_no_field_for_in_dropped_in_column_order() -> None:
    record = google(
        **{
            "Website 1 - Value": "https://ada.example",
            "Nickname": "Ada",
            "Photo": "https://photo.example/1",
            "Name Prefix": "Lady",
            "Phonetic First Name": "Ay-da",
        }
    )
    assert record.dropped == ["Phonetic First Name", "Name Prefix", "Nickname", "Photo", "Website 1 - Value"]


def test_google_current_layout_kept_columns_are_never_in_dropped() -> None:
    record = google(
        **{
            "Last Name": "Lovelace",
            "Labels": "* myContacts ::: Friends",
            "E-mail 1 - Label": "Home",
            "E-mail 1 - Value": "ada@home.example",
            "Address 1 - Label": "Home",
            "Address 1 - Formatted": "1 Main St",
            "Birthday": "1815-12-10",
        }
    )
    assert record.dropped == []


# --- Google Contacts, old layout (synthetic) -----------------------------------------------------------


def test_google_old_layout_starred_group_membership_makes_a_favorite() -> None:
    header = ["Name", "Given Name", "Family Name", "Group Membership"]
    record = only_record(
        csv_bytes(header, {"Given Name": "Ada", "Group Membership": "* My Contacts ::: * Starred ::: Poets"})
    )
    assert (record.tags, record.favorite) == (["Poets"], True)


def test_google_old_layout_only_organization_1_is_kept_and_organization_2_is_dropped() -> None:
    header = [
        "Given Name",
        "Organization 1 - Name",
        "Organization 1 - Title",
        "Organization 2 - Name",
        "Organization 2 - Title",
    ]
    record = only_record(
        csv_bytes(
            header,
            {
                "Given Name": "Ada",
                "Organization 1 - Name": "First Co",
                "Organization 1 - Title": "Boss",
                "Organization 2 - Name": "Second Co",
            },
        )
    )
    assert (record.organization, record.job_title, record.dropped) == ("First Co", "Boss", ["Organization 2 - Name"])


# --- Outlook -----------------------------------------------------------------------------------------


def test_outlook_header_is_recognised_as_outlook_rather_than_roundcube_on_a_tie() -> None:
    assert csv_layout(OUTLOOK_HEADER).name == "outlook"


def test_outlook_joins_first_and_middle_name_and_has_no_formatted_name() -> None:
    record = outlook({"Middle Name": "Xavier", "Last Name": "Babbage"})
    assert (record.given_name, record.family_name, record.formatted_name) == ("Charles Xavier", "Babbage", "")


def test_outlook_title_is_the_name_prefix_and_is_dropped_not_the_job_title() -> None:
    record = outlook({"Title": "Dr.", "Suffix": "FRS"})
    assert (record.job_title, record.dropped) == (None, ["Title", "Suffix"])


def test_outlook_job_title_column_is_the_job_title() -> None:
    assert outlook({"Job Title": "Inventor"}).job_title == "Inventor"


def test_outlook_joins_company_and_department() -> None:
    assert outlook({"Company": "Engines Ltd", "Department": "Design"}).organization == "Engines Ltd, Design"


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("Home Phone", "home"),
        ("Home Phone 2", "home"),
        ("Mobile Phone", "mobile"),
        ("Business Phone", "work"),
        ("Business Phone 2", "work"),
        ("Home Fax", "home fax"),
        ("Business Fax", "work fax"),
        ("Other Fax", "other fax"),
        ("Pager", "pager"),
        ("Primary Phone", "main"),
        ("Company Main Phone", "main"),
        ("Other Phone", "other"),
        ("Car Phone", "car"),
        ("Assistant's Phone", "assistant"),
        ("Radio Phone", "radio"),
        ("Callback", "callback"),
        ("ISDN", "isdn"),
        ("Telex", "telex"),
        ("TTY/TDD Phone", "tty/tdd"),
    ],
)
def test_outlook_fixed_phone_column_gives_its_lower_case_label(column: str, label: str) -> None:
    assert outlook({column: "+44 20 7946 0000"}).phones == [LabelledValue("+44 20 7946 0000", label)]


def test_outlook_phones_are_listed_in_column_order() -> None:
    record = outlook({"Mobile Phone": "3", "Business Fax": "1", "Home Phone": "2"})
    assert [phone.value for phone in record.phones] == ["1", "2", "3"]


def test_outlook_email_address_columns_give_emails_without_a_label() -> None:
    record = outlook({"E-mail Address": "a@x.example", "E-mail 2 Address": "b@x.example", "E-mail 3 Address": "c@x"})
    assert record.emails == [LabelledValue("a@x.example"), LabelledValue("b@x.example"), LabelledValue("c@x")]


def test_outlook_email_type_and_display_name_columns_are_never_dropped() -> None:
    record = outlook(
        {
            "E-mail Address": "cb@x.example",
            "E-mail Type": "SMTP",
            "E-mail Display Name": "Charles Babbage (cb@x.example)",
            "E-mail 2 Address": "c2@x.example",
            "E-mail 2 Type": "SMTP",
            "E-mail 2 Display Name": "Charles (c2@x.example)",
        }
    )
    assert record.dropped == []


def test_outlook_placeholders_are_never_in_dropped() -> None:
    record = outlook({})
    assert (record.dropped, record.birthday) == ([], None)


def test_outlook_row_of_only_placeholders_and_a_name_gives_just_the_name() -> None:
    record = outlook({})
    assert record == ReadRecord(given_name="Charles")


def test_outlook_zero_birthday_is_no_birthday() -> None:
    assert outlook({"Birthday": "0/0/00"}).birthday is None


def test_outlook_non_placeholder_gender_is_named_in_dropped() -> None:
    assert outlook({"Gender": "Male"}).dropped == ["Gender"]


def test_outlook_real_anniversary_is_named_in_dropped() -> None:
    assert outlook({"Anniversary": "4/1/1850"}).dropped == ["Anniversary"]


def test_outlook_reads_an_ambiguous_slashed_date_month_first() -> None:
    assert outlook({"Birthday": "3/10/1922"}).birthday == "1922-03-10"


def test_outlook_reads_a_slashed_date_day_first_when_the_first_number_is_above_12() -> None:
    assert outlook({"Birthday": "26/12/1791"}).birthday == "1791-12-26"


def test_outlook_reads_a_dotted_date_day_first() -> None:
    assert outlook({"Birthday": "10.03.1922"}).birthday == "1922-03-10"


def test_outlook_passes_a_two_digit_year_date_on_as_found() -> None:
    assert outlook({"Birthday": "3/10/22"}).birthday == "3/10/22"


def test_outlook_passes_an_unreadable_birthday_on_as_found() -> None:
    assert outlook({"Birthday": "sometime in March"}).birthday == "sometime in March"


def test_outlook_categories_are_split_on_semicolons_and_commas() -> None:
    assert outlook({"Categories": "Friends;Work, Chess ;"}).tags == ["Friends", "Work", "Chess"]


def test_outlook_categories_never_make_a_favorite() -> None:
    assert outlook({"Categories": "* starred"}).favorite is False


def test_outlook_business_address_is_labelled_work_with_po_box_and_street_lines_joined_in_order() -> None:
    record = outlook(
        {
            "Business Street": "1 Dorset St",
            "Business Street 2": "Marylebone",
            "Business Street 3": "Floor 2",
            "Business Address PO Box": "PO Box 9",
            "Business City": "London",
            "Business State": "Greater London",
            "Business Postal Code": "W1U 4EG",
            "Business Country/Region": "UK",
        }
    )
    assert record.addresses == [
        AddressParts("work", "PO Box 9\n1 Dorset St\nMarylebone\nFloor 2", "London", "Greater London", "W1U 4EG", "UK")
    ]


def test_outlook_home_and_other_address_groups_are_labelled_home_and_other() -> None:
    record = outlook({"Home City": "Teignmouth", "Other Street": "5 Strand", "Other Country/Region": "UK"})
    assert record.addresses == [
        AddressParts(label="home", city="Teignmouth"),
        AddressParts(label="other", street="5 Strand", country="UK"),
    ]


def test_outlook_com_home_address_is_the_street_only_when_no_other_part_is_filled() -> None:
    header = ["First Name", "Home Address", "Home City", "E-mail Address"]
    alone = only_record(csv_bytes(header, {"First Name": "C", "Home Address": "1 Dorset St\nLondon"}))
    with_city = only_record(csv_bytes(header, {"First Name": "C", "Home Address": "1 Dorset St", "Home City": "Bath"}))
    assert alone.addresses == [AddressParts(label="home", street="1 Dorset St\nLondon")]
    assert with_city.addresses == [AddressParts(label="home", city="Bath")]


def test_outlook_does_not_split_triple_colon_values() -> None:
    assert outlook({"E-mail Address": "a@x ::: b@x"}).emails == [LabelledValue("a@x ::: b@x")]


def test_outlook_names_a_filled_column_it_has_no_field_for_by_its_header() -> None:
    assert outlook({"Web Page": "https://engines.example"}).dropped == ["Web Page"]


# --- Roundcube (synthetic) ------------------------------------------------------------------------------


def test_roundcube_reads_an_ambiguous_slashed_date_day_first() -> None:
    assert roundcube({"Birthday": "03/04/1990"}).birthday == "1990-04-03"


def test_roundcube_reads_a_slashed_date_month_first_when_the_second_number_is_above_12() -> None:
    assert roundcube({"Birthday": "01/20/1991"}).birthday == "1991-01-20"


def test_roundcube_home_mobile_and_phone_video_give_mobile_and_video() -> None:
    record = roundcube({"Home Mobile": "500", "Phone Video": "222"})
    assert record.phones == [LabelledValue("500", "mobile"), LabelledValue("222", "video")]


# --- Thunderbird (synthetic) ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("column", "label"),
    [
        ("Work Phone", "work"),
        ("Home Phone", "home"),
        ("Fax Number", "fax"),
        ("Pager Number", "pager"),
        ("Mobile Number", "mobile"),
    ],
)
def test_thunderbird_fixed_phone_column_gives_its_lower_case_label(column: str, label: str) -> None:
    assert thunderbird({column: "555-0100"}).phones == [LabelledValue("555-0100", label)]


def test_thunderbird_secondary_email_has_no_label() -> None:
    record = thunderbird({"Primary Email": "a@x.example", "Secondary Email": "b@x.example"})
    assert record.emails == [LabelledValue("a@x.example"), LabelledValue("b@x.example")]


def test_thunderbird_birth_year_month_and_day_make_an_iso_birthday() -> None:
    assert thunderbird({"Birth Year": "1912", "Birth Month": "6", "Birth Day": "23"}).birthday == "1912-06-23"


def test_thunderbird_birth_month_and_day_without_year_make_a_year_less_birthday() -> None:
    assert thunderbird({"Birth Month": "06", "Birth Day": "23"}).birthday == "--06-23"


def test_thunderbird_birth_parts_that_are_not_decimal_numbers_are_passed_on_as_found() -> None:
    assert thunderbird({"Birth Month": "²", "Birth Day": "1"}).birthday == "²-1"


def test_thunderbird_home_and_work_addresses_join_address_and_address_2_by_newline() -> None:
    record = thunderbird(
        {
            "Home Address": "43 Adlington Rd",
            "Home Address 2": "Flat 1",
            "Home City": "Wilmslow",
            "Home State": "Cheshire",
            "Home ZipCode": "SK9 4DA",
            "Home Country": "UK",
            "Work City": "Manchester",
        }
    )
    assert record.addresses == [
        AddressParts("home", "43 Adlington Rd\nFlat 1", "Wilmslow", "Cheshire", "SK9 4DA", "UK"),
        AddressParts(label="work", city="Manchester"),
    ]


def test_thunderbird_joins_organization_and_department() -> None:
    assert thunderbird({"Organization": "NPL", "Department": "Maths"}).organization == "NPL, Maths"


# --- layout recognition --------------------------------------------------------------------------------


def test_header_names_are_matched_trimmed_and_case_insensitively() -> None:
    record = only_record(b" FIRST NAME ,last name,  e-mail address \nAda,Lovelace,ada@x.example\n")
    assert (record.given_name, record.family_name, record.emails) == (
        "Ada",
        "Lovelace",
        [LabelledValue("ada@x.example")],
    )


def test_csv_layout_prefers_the_layout_keeping_most_columns_over_one_only_knowing_more() -> None:
    # google-old knows 6 of these (1 kept, 5 dropped), Outlook 4 (2 kept: First Name, E-mail Address).
    header = ["Given Name", "Yomi Name", "Given Name Yomi", "Short Name", "Initials", "Nickname"]
    assert csv_layout([*header, "First Name", "E-mail Address"]).name == "outlook"


def test_csv_layout_takes_the_earlier_layout_on_a_tie() -> None:
    assert csv_layout(["First Name", "Last Name"]).name == "google"


def test_a_roundcube_only_column_makes_the_roundcube_layout() -> None:
    assert csv_layout(["First Name", "Email Home", "Birthday"]).name == "roundcube"


def test_records_come_in_file_order() -> None:
    data = csv_bytes(["First Name"], {"First Name": "one"}, {"First Name": "two"}, {"First Name": "three"})
    assert [record.given_name for record in records_of(data)] == ["one", "two", "three"]


# --- errors ---------------------------------------------------------------------------------------------


def test_csv_layout_raises_not_an_address_book_csv_when_no_column_is_recognised() -> None:
    with pytest.raises(NotAnAddressBookCsv):
        csv_layout(["Product", "Price", "Quantity"])


def test_csv_layout_raises_not_an_address_book_csv_when_only_dropped_columns_are_known() -> None:
    with pytest.raises(NotAnAddressBookCsv):
        csv_layout(["Nickname", "Gender", "Website 1 - Value"])


def test_reading_a_csv_without_a_recognised_column_raises_before_any_record_is_iterated() -> None:
    with pytest.raises(NotAnAddressBookCsv):
        read_csv_contacts(b"Product,Price\nTea,3\n")


def test_an_empty_file_raises_not_an_address_book_csv() -> None:
    with pytest.raises(NotAnAddressBookCsv, match="empty"):
        read_csv_contacts(b"")


def test_a_file_of_blank_lines_raises_not_an_address_book_csv() -> None:
    with pytest.raises(NotAnAddressBookCsv, match="empty"):
        read_csv_contacts(b"\r\n\n , \n")


def test_a_header_the_csv_module_cannot_parse_raises_not_an_address_book_csv() -> None:
    with pytest.raises(NotAnAddressBookCsv, match="first line"):
        read_csv_contacts(b"First Name," + b"x" * 200_000 + b"\n")


def test_a_utf16_bom_over_an_odd_number_of_bytes_raises_undecodable_file() -> None:
    with pytest.raises(UndecodableFile):
        read_csv_contacts(codecs.BOM_UTF16_LE + "First Name\n".encode("utf-16-le") + b"A")


def test_a_utf16_bom_over_a_lone_surrogate_raises_undecodable_file() -> None:
    with pytest.raises(UndecodableFile):
        read_csv_contacts(codecs.BOM_UTF16_BE + "First Name\n".encode("utf-16-be") + b"\xd8\x00")


def test_bytes_that_are_not_utf8_without_a_bom_are_read_as_a_legacy_charset_not_refused() -> None:
    record = only_record("First Name,Last Name\nJürgen,Straße\n".encode("cp1252"))
    assert (record.given_name, record.family_name) == ("Jürgen", "Straße")


def test_empty_rows_are_skipped() -> None:
    record = only_record(b"First Name,Last Name\r\n\r\n,\r\n  ,  \r\nAda,Lovelace\r\n,\r\n\r\n")
    assert (record.given_name, record.family_name) == ("Ada", "Lovelace")


def test_blank_lines_before_the_header_are_skipped() -> None:
    assert only_record(b"\r\n\r\nFirst Name,Last Name\r\nAda,Lovelace\r\n").given_name == "Ada"


def test_a_row_the_csv_module_cannot_parse_ends_the_file_with_an_error_record() -> None:
    records = records_of(b"First Name,Notes\nAda,short\nBob," + b"x" * 200_000 + b"\nCarl,never read\n")
    assert [record.given_name for record in records] == ["Ada", ""]
    assert records[1].error is not None
    assert "after line 2" in records[1].error


# --- encodings and line ends ----------------------------------------------------------------------------


def test_utf8_bom_is_not_part_of_the_first_header_name() -> None:
    data = codecs.BOM_UTF8 + "Display Name,E-mail Address,Birthday\nÉmilie du Châtelet,e@x.example,\n".encode()
    assert only_record(data).formatted_name == "Émilie du Châtelet"


def test_utf8_bom_with_an_unknown_first_column_names_it_without_the_bom() -> None:
    data = codecs.BOM_UTF8 + b"Foo,First Name\nbar,Ada\n"
    assert only_record(data).dropped == ["Foo"]


def test_utf16_le_with_bom_is_decoded() -> None:
    data = codecs.BOM_UTF16_LE + "First Name,Last Name\r\nÉmilie,Châtelet\r\n".encode("utf-16-le")
    record = only_record(data)
    assert (record.given_name, record.family_name) == ("Émilie", "Châtelet")


def test_utf16_be_with_bom_is_decoded() -> None:
    data = codecs.BOM_UTF16_BE + "First Name,Last Name\r\nÉmilie,Châtelet\r\n".encode("utf-16-be")
    record = only_record(data)
    assert (record.given_name, record.family_name) == ("Émilie", "Châtelet")


def test_utf32_le_with_bom_is_decoded() -> None:
    data = codecs.BOM_UTF32_LE + "First Name,Last Name\r\nÉmilie,Châtelet\r\n".encode("utf-32-le")
    assert only_record(data).given_name == "Émilie"


def test_a_bare_cr_inside_a_quoted_cell_stays_in_the_value_and_does_not_end_the_record() -> None:
    records = records_of(b'First Name,Notes\r\nAda,"line one\rline two"\r\nBob,x\r\n')
    assert [(record.given_name, record.notes) for record in records] == [("Ada", "line one\rline two"), ("Bob", "x")]


def test_a_newline_inside_a_quoted_cell_stays_in_the_value() -> None:
    record = only_record(b'First Name,Notes\nAda,"line one\r\nline two\nline three"\n')
    assert record.notes == "line one\r\nline two\nline three"


def test_crlf_and_lf_records_are_both_read() -> None:
    records = records_of(b"First Name,Last Name\r\nAda,Lovelace\nCharles,Babbage\r\nAlan,Turing")
    assert [(record.given_name, record.family_name) for record in records] == [
        ("Ada", "Lovelace"),
        ("Charles", "Babbage"),
        ("Alan", "Turing"),
    ]


def test_lf_only_file_is_read() -> None:
    data = csv_bytes(["First Name"], {"First Name": "Ada"}, {"First Name": "Bob"}, line_end="\n")
    assert [record.given_name for record in records_of(data)] == ["Ada", "Bob"]


def test_a_semicolon_delimited_file_is_read_with_semicolons() -> None:
    record = only_record(b"First Name;Last Name;E-mail Address;Categories\r\nAda;Lovelace;ada@x.example;A,B\r\n")
    assert (record.given_name, record.family_name, record.emails, record.tags) == (
        "Ada",
        "Lovelace",
        [LabelledValue("ada@x.example")],
        ["A", "B"],
    )


def test_a_tab_delimited_file_is_read_with_tabs() -> None:
    record = only_record(b"First Name\tLast Name\tE-mail Address\nAda\tLovelace\tada@x.example\n")
    assert (record.given_name, record.family_name) == ("Ada", "Lovelace")


def test_a_comma_in_the_header_keeps_the_comma_delimiter_even_with_semicolons_in_it() -> None:
    record = only_record(b"First Name,Last Name\nAda;Augusta,Lovelace\n")
    assert record.given_name == "Ada;Augusta"


def test_a_semicolon_delimited_file_with_a_blank_line_before_the_header_is_read_with_semicolons() -> None:
    assert only_record(b"\r\nFirst Name;Last Name\r\nAda;Lovelace\r\n").given_name == "Ada"


# --- cells past the header or under an empty header name ---------------------------------------------


def test_a_cell_past_the_header_is_named_column_n_in_dropped() -> None:
    assert only_record(b"First Name,Last Name\nAda,Lovelace,extra\n").dropped == ["column 3"]


def test_a_cell_under_an_empty_header_name_is_named_column_n_in_dropped() -> None:
    assert only_record(b"First Name,,Last Name\nAda,stray,Lovelace\n").dropped == ["column 2"]


def test_a_cell_under_a_blank_header_name_is_named_column_n_in_dropped() -> None:
    assert only_record(b'First Name,"   ",Last Name\nAda,stray,Lovelace\n').dropped == ["column 2"]


def test_empty_cells_past_the_header_are_not_named() -> None:
    assert only_record(b"First Name,Last Name\nAda,Lovelace,,  ,\n").dropped == []


def test_dropped_names_come_in_column_order_with_cells_past_the_header_last() -> None:
    data = b"Foo,First Name,,Bar\nf,Ada,e,b,x,,y\n"
    assert only_record(data).dropped == ["Foo", "column 3", "Bar", "column 5", "column 7"]


def test_a_header_name_repeated_is_named_once_in_dropped() -> None:
    assert only_record(b"First Name,Foo,Foo\nAda,x,y\n").dropped == ["Foo"]


def test_a_row_with_only_a_cell_past_the_header_is_a_record_naming_it() -> None:
    records = records_of(b"First Name,Last Name\nAda,Lovelace\n,,surplus\n")
    assert [record.dropped for record in records] == [[], ["column 3"]]
