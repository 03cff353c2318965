"""Each field rule of the contract, failing alone: a 400 naming the field, and nothing stored."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from contacts_api.config import Settings
from tests.conftest import ApiUser, query_scalar, run_concurrently
from tests.contacts.conftest import Client, contact_body, create_contact

TOMORROW = (datetime.datetime.now(datetime.UTC).date() + datetime.timedelta(days=1)).isoformat()

INVALID_VALUES: list[tuple[str, Any]] = [
    ("first_name", ""),
    ("first_name", "   "),
    ("first_name", "x" * 101),
    ("first_name", None),
    ("first_name", 42),
    ("last_name", "y" * 101),
    ("last_name", "A\u0000B"),
    ("email", "not-an-email"),
    ("email", "ada@"),
    ("email", "ada@@example.com"),
    ("email", ""),
    ("phone", "123456"),  # too short
    ("phone", "1" * 21),  # too long
    ("phone", "555-CALL-NOW"),  # letters
    ("phone", "+1 (--) --- 12"),  # 7+ characters but only 3 digits
    ("phone", "1234567\n"),  # a line break (Python's `$` would let a final one through)
    ("birthday", TOMORROW),
    ("birthday", "0999-12-31"),  # before the earliest birthday, 1000-01-01
    ("birthday", "1990-02-30"),
    ("birthday", "yesterday"),
    ("birthday", "--02-30"),  # a month-day that does not exist
    ("birthday", "--13-01"),
    ("birthday", "--0517"),  # vCard's basic form: the API takes the extended one
    ("birthday", "1990-5-17"),
    ("birthday", "--05-17\n"),
    ("emails", [{"value": "not-an-email"}]),
    ("emails", [{"value": "a@example.com", "label": ""}]),
    ("emails", [{"value": "a@example.com", "label": "l" * 41}]),
    ("emails", [{"value": "a@example.com"}, {"value": "A@example.com "}]),  # one address twice
    ("emails", [{"value": f"a{index}@example.com"} for index in range(21)]),
    ("emails", [{"value": "a@example.com", "kind": "work"}]),  # unknown field
    ("phones", [{"value": "12"}]),
    ("phones", [{"value": "1234567", "e164": "+11234567"}]),  # read-only
    ("phones", [{"value": "1234567\n"}]),
    ("phones", [{"value": f"555010{index:04d}"} for index in range(21)]),
    ("addresses", [{"city": "c" * 201}]),
    ("addresses", [{"city": "Paris"} for _ in range(11)]),
    ("addresses", [{"town": "Paris"}]),
    ("organization", "o" * 201),
    ("job_title", "j" * 201),
    ("tags", [""]),
    ("tags", ["t" * 41]),
    ("tags", [f"t{index}" for index in range(21)]),
    ("tags", "family"),
    ("favorite", "yes"),
    ("notes", "n" * 2001),
    ("notes", "bad \u0000 byte"),
]


@pytest.mark.parametrize(("field", "value"), INVALID_VALUES, ids=[f"{f}={str(v)[:12]!r}" for f, v in INVALID_VALUES])
async def test_an_invalid_field_is_400_naming_it(
    client: Client, user: ApiUser, settings: Settings, field: str, value: Any
) -> None:
    body = contact_body(**{field: value})
    if field in ("emails", "phones"):
        del body[field[:-1]]  # the version 1 field and its list cannot both be sent
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 400, response.text
    assert response.json()["extra"][0]["key"] == field
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contacts") == 0


async def test_a_missing_first_name_is_400(client: Client, user: ApiUser) -> None:
    body = contact_body()
    del body["first_name"]
    response = await client.post("/api/contacts", headers=user.headers, json=body)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "first_name"


async def test_every_other_field_is_optional(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json={"first_name": "Sam"})
    assert response.status_code == 201, response.text
    body = response.json()
    assert {key: value for key, value in body.items() if key not in ("id", "etag", "created_at", "updated_at")} == {
        "first_name": "Sam", "last_name": "", "email": None, "phone": None, "emails": [], "phones": [],
        "addresses": [], "organization": None, "job_title": None, "birthday": None, "notes": None, "tags": [],
        "favorite": False,
    }  # fmt: skip


async def test_limits_are_inclusive(client: Client, user: ApiUser) -> None:
    today = datetime.datetime.now(datetime.UTC).date().isoformat()
    response = await client.post(
        "/api/contacts",
        headers=user.headers,
        json=contact_body(first_name="x" * 100, last_name="y", phone="1234567", notes="n" * 2000, birthday=today),
    )
    assert response.status_code == 201, response.text


async def test_name_lengths_count_the_trimmed_text(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(last_name=f"  {'z' * 100} "))
    assert response.status_code == 201, response.text
    assert response.json()["last_name"] == "z" * 100


async def test_an_invalid_patch_changes_nothing(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(
        f"/api/contacts/{created['id']}", headers=user.headers, json={"first_name": "Ok", "phone": "12"}
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "phone"
    assert (await client.get(f"/api/contacts/{created['id']}", headers=user.headers)).json() == created


async def test_patch_cannot_move_the_birthday_into_the_future(client: Client, user: ApiUser) -> None:
    created = await create_contact(client, user)
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"birthday": TOMORROW})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "birthday"


async def test_unknown_fields_are_400(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(nickname="Ada"))
    assert response.status_code == 400
    assert "nickname" in response.text


async def test_duplicate_email_for_one_owner_is_409_in_any_case(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, email="dup@example.com")
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body(email="DUP@Example.com "))
    assert response.status_code == 409
    assert response.json()["detail"] == "You already have a contact with this email"


async def test_changing_the_email_to_a_taken_one_is_409(client: Client, user: ApiUser) -> None:
    await create_contact(client, user, email="taken@example.com")
    second = await create_contact(client, user, email="free@example.com")
    patch = await client.patch(
        f"/api/contacts/{second['id']}", headers=user.headers, json={"email": "taken@example.com"}
    )
    assert patch.status_code == 409
    put = await client.put(
        f"/api/contacts/{second['id']}", headers=user.headers, json=contact_body(email="taken@example.com")
    )
    assert put.status_code == 409
    assert (await client.get(f"/api/contacts/{second['id']}", headers=user.headers)).json()[
        "email"
    ] == "free@example.com"


async def test_concurrent_creates_of_one_email_give_one_201(client: Client, user: ApiUser, settings: Settings) -> None:
    body = contact_body(email="race@example.com")
    responses = run_concurrently(
        client, *[lambda http: http.post("/api/contacts", headers=user.headers, json=body)] * 8
    )
    assert sorted(r.status_code for r in responses) == [201] + [409] * 7
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contacts") == 1
