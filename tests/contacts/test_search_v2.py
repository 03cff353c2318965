"""GET /api/contacts on version 2 contacts: `q` over the organization and every email and phone,
the `tag` and `favorite` filters, every `sort`, and text beyond Latin; on PostgreSQL, the search
reads the trigram indexes of the index tables."""

from __future__ import annotations

import uuid
from typing import Any

import asyncpg
import pytest
from sqlalchemy import make_url
from sqlalchemy.dialects import postgresql

from contacts_api.config import Settings
from contacts_api.contacts.repository import search_parameters, search_statement
from contacts_api.contacts.schemas import ContactFilters
from contacts_api.text import fold
from tests.conftest import ApiUser, Client, execute_sql

SORTS = ["name", "-name", "created_at", "-created_at", "updated_at", "-updated_at"]


async def add(client: Client, owner: ApiUser, first_name: str, last_name: str = "", **fields: Any) -> dict[str, Any]:
    """A contact with only the fields given (none of contact_body's email, phone or birthday)."""
    body = {"first_name": first_name, "last_name": last_name, **fields}
    response = await client.post("/api/contacts", headers=owner.headers, json=body)
    assert response.status_code == 201, response.text
    return dict(response.json())


async def page(client: Client, owner: ApiUser, query: str) -> dict[str, Any]:
    response = await client.get(f"/api/contacts?{query}", headers=owner.headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


async def found(client: Client, owner: ApiUser, query: str) -> list[str]:
    """The full names on the first page of a search, in order."""
    return [f"{item['first_name']} {item['last_name']}".strip() for item in (await page(client, owner, query))["items"]]


def emails(*addresses: str) -> list[dict[str, Any]]:
    return [{"value": address, "label": None} for address in addresses]


def phones(*numbers: str) -> list[dict[str, Any]]:
    return [{"value": number, "label": None} for number in numbers]


# --- q ---


async def test_q_matches_the_organization(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", organization="US Navy")
    await add(client, user, "Ada", "Lovelace", organization="Analytical Engines Ltd")
    assert await found(client, user, "q=navy") == ["Grace Hopper"]
    assert await found(client, user, "q=ENGINES") == ["Ada Lovelace"]


async def test_q_matches_the_second_email_of_a_contact(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", emails=emails("grace@home.example", "rear.admiral@navy.example"))
    await add(client, user, "Ada", "Lovelace", emails=emails("ada@home.example"))
    assert await found(client, user, "q=admiral") == ["Grace Hopper"]


async def test_q_matches_the_third_email_of_a_contact(client: Client, user: ApiUser) -> None:
    addresses = ("grace@home.example", "grace@work.example", "cobol.inventor@history.example")
    await add(client, user, "Grace", "Hopper", emails=emails(*addresses))
    await add(client, user, "Ada", "Lovelace", emails=emails("ada@home.example"))
    assert await found(client, user, "q=COBOL") == ["Grace Hopper"]


async def test_q_with_digits_matches_the_digits_of_a_second_phone(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", phones=phones("+44 20 7946 0958", "+1 (555) 010-0200"))
    await add(client, user, "Ada", "Lovelace", phones=phones("+1 (555) 020-0300"))
    assert await found(client, user, "q=5550100") == ["Grace Hopper"]


async def test_q_digits_are_compared_without_the_punctuation_of_either_side(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", phones=phones("+1 (555) 010-0200"))
    await add(client, user, "Ada", "Lovelace", phones=phones("+1 (555) 020-0300"))
    assert await found(client, user, "q=555-010") == ["Grace Hopper"]
    assert await found(client, user, "q=%28555%29%20010") == ["Grace Hopper"]  # "(555) 010"


async def test_q_with_three_digits_matches_a_phone(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", phones=phones("+1 (555) 010-0200"))
    await add(client, user, "Ada", "Lovelace", phones=phones("+44 20 7946 0958"))
    assert await found(client, user, "q=555") == ["Grace Hopper"]


async def test_the_digits_of_any_q_with_three_or_more_search_the_phones(client: Client, user: ApiUser) -> None:
    # The contract: "with 3 or more digits, also a substring of any phone's digits".
    await add(client, user, "Grace", "Hopper", phones=phones("+1 (555) 010-0200"))
    assert await found(client, user, "q=tel%20555") == ["Grace Hopper"]
    assert await found(client, user, "q=%2B1%20(555)%20010") == ["Grace Hopper"]  # a number as typed


async def test_q_with_fewer_than_three_digits_does_not_search_phones(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", phones=phones("+1 (555) 010-0200"))
    assert await found(client, user, "q=55") == []
    assert await found(client, user, "q=0") == []
    assert (await page(client, user, "q=55"))["total"] == 0


async def test_q_with_few_digits_still_matches_them_in_an_email(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", emails=emails("grace55@navy.example"), phones=phones("+1 555 010 0200"))
    await add(client, user, "Ada", "Lovelace", phones=phones("+1 555 010 0200"))
    assert await found(client, user, "q=55") == ["Grace Hopper"]


async def test_percent_in_q_matches_literally(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", organization="100% Pure")
    await add(client, user, "Ada", "Lovelace", organization="1000 Pure")
    assert await found(client, user, "q=0%25") == ["Grace Hopper"]
    assert await found(client, user, "q=%25%20pure") == ["Grace Hopper"]


async def test_underscore_in_q_matches_literally(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", organization="snake_case Inc")
    await add(client, user, "Ada", "Lovelace", organization="snakeXcase Inc")
    assert await found(client, user, "q=e_c") == ["Grace Hopper"]


# --- per-field filters ---


async def test_the_email_filter_matches_any_of_the_emails(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", emails=emails("grace@home.example", "grace@navy.example.org"))
    await add(client, user, "Ada", "Lovelace", emails=emails("ada@home.example", "ada@engines.example"))
    await add(client, user, "Alan", "Turing", emails=emails("alan@bletchley.example"))
    assert await found(client, user, "email=navy") == ["Grace Hopper"]
    assert await found(client, user, "email=engines") == ["Ada Lovelace"]
    assert await found(client, user, "email=home.example") == ["Grace Hopper", "Ada Lovelace"]


async def test_the_email_filter_ignores_case(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", emails=emails("grace@home.example", "grace@navy.example.org"))
    assert await found(client, user, "email=NAVY.Example") == ["Grace Hopper"]


async def test_the_email_filter_does_not_search_names(client: Client, user: ApiUser) -> None:
    await add(client, user, "Navy", "Hopper", emails=emails("grace@home.example"))
    assert await found(client, user, "email=navy") == []


async def test_the_first_name_filter_ignores_case_and_accents(client: Client, user: ApiUser) -> None:
    await add(client, user, "Élodie", "Martin")
    await add(client, user, "Martin", "Elo")
    assert await found(client, user, "first_name=ELODIE") == ["Élodie Martin"]
    assert await found(client, user, "first_name=%C3%A9lo") == ["Élodie Martin"]  # "élo"


async def test_the_last_name_filter_ignores_case_and_accents(client: Client, user: ApiUser) -> None:
    await add(client, user, "Anna", "Müller")
    await add(client, user, "Muller", "Smith")
    assert await found(client, user, "last_name=MULLER") == ["Anna Müller"]
    assert await found(client, user, "last_name=m%C3%BCl") == ["Anna Müller"]  # "mül"


# --- tag and favorite ---


async def test_the_tag_filter_ignores_case(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", tags=["Family"])
    await add(client, user, "Ada", "Lovelace", tags=["work"])
    assert await found(client, user, "tag=FAMILY") == ["Grace Hopper"]
    assert await found(client, user, "tag=family") == ["Grace Hopper"]


async def test_the_tag_filter_is_exact_not_a_substring(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", tags=["Family"])
    await add(client, user, "Ada", "Lovelace", tags=["Extended family"])
    assert await found(client, user, "tag=family") == ["Grace Hopper"]
    assert await found(client, user, "tag=fam") == []


async def test_a_repeated_tag_filter_needs_every_tag(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", tags=["a", "b"])
    await add(client, user, "Ada", "Lovelace", tags=["a"])
    await add(client, user, "Alan", "Turing", tags=["b", "c"])
    assert await found(client, user, "tag=a&tag=b") == ["Grace Hopper"]
    assert await found(client, user, "tag=a") == ["Grace Hopper", "Ada Lovelace"]
    assert await found(client, user, "tag=b&tag=c&tag=a") == []


async def test_a_tag_nobody_has_is_an_empty_page(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", tags=["family"])
    assert await page(client, user, "tag=nobody") == {"items": [], "total": 0, "limit": 20, "offset": 0}


async def test_favorite_true_lists_only_favourites(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", favorite=True)
    await add(client, user, "Ada", "Lovelace", favorite=False)
    await add(client, user, "Alan", "Turing")
    assert await found(client, user, "favorite=true") == ["Grace Hopper"]


async def test_favorite_false_lists_only_the_others(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", favorite=True)
    await add(client, user, "Ada", "Lovelace", favorite=False)
    await add(client, user, "Alan", "Turing")
    assert await found(client, user, "favorite=false") == ["Ada Lovelace", "Alan Turing"]


async def test_filters_combine_with_q(client: Client, user: ApiUser) -> None:
    await add(client, user, "Grace", "Hopper", organization="Navy", tags=["work"], favorite=True)
    await add(client, user, "Gracie", "Navyson", tags=["work"], favorite=False)
    await add(client, user, "Nadia", "Navarro", organization="Navy", tags=["family"], favorite=True)
    await add(client, user, "Ada", "Lovelace", tags=["work"], favorite=True)
    assert await found(client, user, "q=navy") == ["Grace Hopper", "Nadia Navarro", "Gracie Navyson"]
    assert await found(client, user, "q=navy&tag=work") == ["Grace Hopper", "Gracie Navyson"]
    assert await found(client, user, "q=navy&tag=work&favorite=true") == ["Grace Hopper"]
    assert await found(client, user, "q=navy&favorite=false") == ["Gracie Navyson"]
    assert await found(client, user, "q=navy&first_name=grac&tag=WORK") == ["Grace Hopper", "Gracie Navyson"]


async def test_the_total_counts_every_match_while_limit_pages(client: Client, user: ApiUser) -> None:
    for index in range(5):
        await add(client, user, f"Member{index}", "Family", tags=["family"])
    await add(client, user, "Ada", "Lovelace", tags=["work"])
    first = await page(client, user, "tag=family&limit=2")
    last = await page(client, user, "tag=family&limit=2&offset=4")
    assert (first["total"], len(first["items"]), first["limit"]) == (5, 2, 2)
    assert (last["total"], len(last["items"]), last["offset"]) == (5, 1, 4)
    seen = [item["first_name"] for item in first["items"]]
    middle = await page(client, user, "tag=family&limit=2&offset=2")
    seen += [item["first_name"] for item in middle["items"] + last["items"]]
    assert seen == [f"Member{index}" for index in range(5)]


# --- sort ---


@pytest.fixture
async def three_contacts(client: Client, user: ApiUser) -> None:
    """Created Carter, Baker, Adams; then Baker is changed, so each order differs."""
    await add(client, user, "Zed", "Carter")
    baker = await add(client, user, "Amy", "Baker")
    await add(client, user, "Bob", "Adams")
    response = await client.patch(f"/api/contacts/{baker['id']}", headers=user.headers, json={"notes": "changed"})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Adams", "Baker", "Carter"]),
        ("-name", ["Carter", "Baker", "Adams"]),
        ("created_at", ["Carter", "Baker", "Adams"]),
        ("-created_at", ["Adams", "Baker", "Carter"]),
        ("updated_at", ["Carter", "Adams", "Baker"]),
        ("-updated_at", ["Baker", "Adams", "Carter"]),
    ],
)
async def test_each_sort_gives_its_order(
    client: Client, user: ApiUser, three_contacts: None, sort: str, expected: list[str]
) -> None:
    items = (await page(client, user, f"sort={sort}"))["items"]
    assert [item["last_name"] for item in items] == expected


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("name", ["Adams", "Baker", "Carter"]),
        ("-name", ["Carter", "Baker", "Adams"]),
        ("created_at", ["Carter", "Baker", "Adams"]),
        ("-created_at", ["Adams", "Baker", "Carter"]),
        ("updated_at", ["Carter", "Adams", "Baker"]),
        ("-updated_at", ["Baker", "Adams", "Carter"]),
    ],
)
async def test_each_sort_gives_its_order_in_a_search_too(
    client: Client, user: ApiUser, three_contacts: None, sort: str, expected: list[str]
) -> None:
    items = (await page(client, user, f"q=a&sort={sort}"))["items"]
    assert [item["last_name"] for item in items] == expected


@pytest.mark.parametrize("sort", SORTS)
async def test_ties_in_each_sort_are_ordered_by_id(
    client: Client, user: ApiUser, settings: Settings, sort: str
) -> None:
    for index in range(4):
        await add(client, user, "Sam", "Lee", notes=f"s{index}")
    # Every contact gets the same timestamps (the stored value of one of them, in its own format).
    await execute_sql(
        settings.database_url,
        "UPDATE contacts SET created_at = (SELECT min(created_at) FROM contacts),"
        " updated_at = (SELECT min(updated_at) FROM contacts)",
    )
    items = (await page(client, user, f"sort={sort}"))["items"]
    by_id = sorted((item["id"] for item in items), key=uuid.UUID, reverse=sort.startswith("-"))
    assert len(items) == 4
    assert [item["id"] for item in items] == by_id


@pytest.mark.parametrize("sort", ["email", "owner_id", "first_name", "NAME", "name,-id", ""])
async def test_an_unknown_sort_is_400_naming_sort(client: Client, user: ApiUser, sort: str) -> None:
    response = await client.get("/api/contacts", params={"sort": sort}, headers=user.headers)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == "sort"


async def test_the_name_order_ignores_case_and_accents(client: Client, user: ApiUser) -> None:
    for first_name, last_name in [("A", "Zed"), ("B", "émile"), ("C", "Eloise"), ("A", "Emile"), ("A", "adams")]:
        await add(client, user, first_name, last_name)
    expected = ["A adams", "C Eloise", "A Emile", "B émile", "A Zed"]
    assert await found(client, user, "sort=name") == expected
    assert await found(client, user, "sort=-name") == expected[::-1]


async def test_lower_case_initials_do_not_sort_after_capitals(client: Client, user: ApiUser) -> None:
    for last_name in ["Zimmer", "baker", "Adler", "carter", "Young"]:
        await add(client, user, "X", last_name)
    assert await found(client, user, "") == ["X Adler", "X baker", "X carter", "X Young", "X Zimmer"]


async def test_the_name_order_breaks_last_name_ties_by_first_name_ignoring_case(client: Client, user: ApiUser) -> None:
    for first_name in ["charlie", "Bob", "Ádám", "alice"]:
        await add(client, user, first_name, "Smith")
    assert await found(client, user, "") == ["Ádám Smith", "alice Smith", "Bob Smith", "charlie Smith"]


# --- beyond Latin ---


@pytest.mark.parametrize("q", ["κοσμας", "ΚΟΣΜΑΣ", "Κοσμάς", "κοσμάς", "οσμ"])
async def test_a_greek_name_is_found_by_any_case_and_accent(client: Client, user: ApiUser, q: str) -> None:
    await add(client, user, "Νίκος", "Κοσμάς")
    await add(client, user, "Ada", "Lovelace")
    assert await found(client, user, f"q={q}") == ["Νίκος Κοσμάς"]


def test_fold_turns_cyrillic_yo_into_ye() -> None:
    # NFKD splits U+0401 (Cyrillic Yo) into U+0415 (Ye) and a combining diaeresis, which fold
    # removes: the name is searched, and sorted, as if written with Ye.
    assert fold("Ёлкин") == fold("ЕЛКИН") == "елкин"


@pytest.mark.parametrize("q", ["елкин", "ЕЛКИН", "ёлкин", "Ёлкин", "лки"])
async def test_a_cyrillic_name_with_yo_is_found_with_or_without_the_diaeresis(
    client: Client, user: ApiUser, q: str
) -> None:
    await add(client, user, "Иван", "Ёлкин")
    await add(client, user, "Ada", "Lovelace")
    assert await found(client, user, f"q={q}") == ["Иван Ёлкин"]


@pytest.mark.parametrize("q", ["山", "山田", "田"])
async def test_a_cjk_name_is_found_by_one_of_its_characters(client: Client, user: ApiUser, q: str) -> None:
    await add(client, user, "太郎", "山田")
    await add(client, user, "花子", "川口")
    assert await found(client, user, f"q={q}") == ["太郎 山田"]


async def test_non_latin_names_are_found_by_the_per_field_filters(client: Client, user: ApiUser) -> None:
    await add(client, user, "Νίκος", "Κοσμάς")
    await add(client, user, "Иван", "Ёлкин")
    await add(client, user, "太郎", "山田")
    assert await found(client, user, "first_name=ΝΙΚΟΣ") == ["Νίκος Κοσμάς"]
    assert await found(client, user, "last_name=елкин") == ["Иван Ёлкин"]
    assert await found(client, user, "last_name=山") == ["太郎 山田"]


async def test_names_in_every_script_sort_by_their_folded_form(client: Client, user: ApiUser) -> None:
    for first_name, last_name in [
        ("太郎", "山田"),
        ("Иван", "Ельцин"),
        ("Иван", "Ёлкин"),
        ("Иван", "ежов"),
        ("Νίκος", "Κοσμάς"),
        ("Άννα", "αλεξίου"),
        ("Ada", "Lovelace"),
    ]:
        await add(client, user, first_name, last_name)
    # Latin, then Greek, then Cyrillic, then CJK (code point order of the folded keys); within a
    # script, case and accents ignored: "Ёлкин" sorts as "елкин", between "ежов" and "ельцин".
    expected = ["Ada Lovelace", "Άννα αλεξίου", "Νίκος Κοσμάς", "Иван ежов", "Иван Ёлкин", "Иван Ельцин", "太郎 山田"]
    assert await found(client, user, "") == expected
    assert await found(client, user, "sort=-name") == expected[::-1]


# --- PostgreSQL: the search reads the trigram indexes ---

FILLER_CONTACTS = 30_000


async def explain(database_url: str, statement_sql: str, values: list[Any]) -> str:
    """The plan PostgreSQL makes for one statement, with index scans favoured (`enable_seqscan`
    off, in the same connection) and fresh statistics: VACUUM too, as autovacuum would have run,
    since a GIN index's own statistics (what the planner costs it by) are updated only by VACUUM."""
    url = make_url(database_url)
    connection = await asyncpg.connect(
        host=url.host, port=url.port or 5432, user=url.username, password=url.password, database=url.database
    )
    try:
        await connection.execute("VACUUM ANALYZE contacts, contact_emails, contact_phones")
        await connection.execute("SET enable_seqscan = off")
        await connection.execute("SET plan_cache_mode = force_custom_plan")
        rows = await connection.fetch(f"EXPLAIN {statement_sql}", *values)
    finally:
        await connection.close()
    return "\n".join(row[0] for row in rows)


async def fill_book(database_url: str, owner_id: str) -> None:
    """FILLER_CONTACTS contacts for one owner, each with an email and a phone, straight into the
    tables (the API would take minutes). Their names and emails spell the row number in letters,
    and their phones hold no 0, 1 or 5: none shares a trigram with the searches below, as most of
    a real book would not."""
    letters = "translate(CAST(n AS text), '0123456789', 'abcdefghij')"
    digits = "'4' || translate(" + letters + ", 'abcdefghij', '2346789234') || '6789'"
    await execute_sql(
        database_url,
        "INSERT INTO contacts (id, owner_id, first_name, last_name, emails, phones, addresses, tags, favorite,"
        " created_at, updated_at, first_name_key, last_name_key, organization_key, emails_key, phone_digits,"
        " change_seq)"
        f" SELECT gen_random_uuid(), CAST(:owner AS uuid), 'Filler' || {letters}, 'Person', '[]', '[]', '[]',"
        f" '[]', false, now(), now(), 'filler' || {letters}, 'person', '',"
        f" 'filler' || {letters} || '@filler.example', {digits},"
        " 1000000 + n"  # versions of their own, clear of the API's (numbered from 1)
        " FROM generate_series(1, :rows) AS n",
        owner=owner_id,
        rows=FILLER_CONTACTS,
    )


@pytest.mark.parametrize("database_url", ["postgresql"], indirect=True)
async def test_a_search_with_digits_reads_the_email_and_phone_digit_trigram_indexes(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    await add(client, user, "Grace", "Hopper", emails=emails("grace@navy.example"), phones=phones("+1 (555) 010-0200"))
    await fill_book(settings.database_url, user.id)
    # The service's own answer on the full book: the one contact, among 30,001.
    assert (await page(client, user, "q=5550100"))["total"] == 1
    assert (await page(client, user, ""))["total"] == FILLER_CONTACTS + 1

    shape, matched = search_parameters(ContactFilters(q="5550100"))
    assert shape.q_digits
    compiled = search_statement(shape).compile(dialect=postgresql.asyncpg.dialect())  # type: ignore[no-untyped-call]
    values = compiled.construct_params({"owner": uuid.UUID(user.id), "limit": 20, "offset": 0, **matched})
    plan = await explain(settings.database_url, str(compiled), [values[name] for name in compiled.positiontup or ()])
    assert "ix_contacts_owner_id_emails_key_trigram" in plan, plan
    assert "ix_contacts_owner_id_phone_digits_trigram" in plan, plan
    assert "Seq Scan" not in plan, plan
