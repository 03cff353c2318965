"""ETags and conditional requests on one contact (RFC 9110 §8.8.3 and §13; the contract's
"Conditional requests"): strong ETags equal to the `etag` field, `If-Match` as a
compare-and-set (412 with the current ETag, nothing changed), `If-None-Match` (304)."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from contacts_api.config import Settings
from tests.conftest import ApiUser, Client, query_scalar, run_concurrently
from tests.contacts.conftest import contact_body, create_contact

# Every write If-Match guards: a replace, a patch, a patch computed from the lists, a delete.
CONDITIONAL_WRITES = [
    ("PUT", contact_body(first_name="Augusta")),
    ("PATCH", {"first_name": "Augusta"}),
    ("PATCH", {"email": "augusta@example.com"}),
    ("DELETE", None),
]


def url(contact: dict[str, Any]) -> str:
    return f"/api/contacts/{contact['id']}"


def with_header(user: ApiUser, name: str, value: str) -> dict[str, str]:
    return {**user.headers, name: value}


async def test_create_answers_the_etag_and_the_location_of_the_new_contact(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/contacts", headers=user.headers, json=contact_body())
    assert response.status_code == 201
    body = response.json()
    assert response.headers["etag"] == body["etag"]
    assert response.headers["location"] == f"/api/contacts/{body['id']}"
    assert (await client.get(response.headers["location"], headers=user.headers)).json() == body


@pytest.mark.parametrize(
    ("method", "body"),
    [("GET", None), ("PUT", contact_body(first_name="Augusta")), ("PATCH", {"notes": "changed"})],
)
async def test_every_single_contact_answer_carries_its_etag_equal_to_the_field(
    client: Client, user: ApiUser, method: str, body: dict[str, Any] | None
) -> None:
    contact = await create_contact(client, user)
    response = await client.request(method, url(contact), headers=user.headers, json=body)
    assert response.status_code == 200, response.text
    etag = response.headers["etag"]
    assert etag == response.json()["etag"]
    # A strong entity tag (RFC 9110 §8.8.3): a quoted opaque string, no W/ prefix.
    assert re.fullmatch(r'"[\x21\x23-\x7e]+"', etag)


async def test_each_write_gives_a_new_etag_and_a_read_keeps_it(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    seen = [contact["etag"]]
    writes = [
        ("PUT", contact_body(first_name="Augusta")),
        ("PATCH", {"notes": "x"}),
        ("PATCH", {"email": "a@b.example"}),
    ]
    for method, body in writes:
        response = await client.request(method, url(contact), headers=user.headers, json=body)
        assert response.status_code == 200, response.text
        seen.append(response.headers["etag"])
        assert (await client.get(url(contact), headers=user.headers)).headers["etag"] == seen[-1]
    assert len(set(seen)) == len(seen)


async def test_an_empty_patch_changes_nothing_and_keeps_the_etag(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    response = await client.patch(url(contact), headers=user.headers, json={})
    assert response.status_code == 200
    assert response.headers["etag"] == contact["etag"]
    assert response.json() == contact


async def test_writing_one_contact_keeps_the_etag_of_another(client: Client, user: ApiUser) -> None:
    first = await create_contact(client, user, email="first@example.com")
    second = await create_contact(client, user, email="second@example.com")
    await client.patch(url(second), headers=user.headers, json={"notes": "changed"})
    assert (await client.get(url(first), headers=user.headers)).headers["etag"] == first["etag"]


async def test_if_none_match_with_the_current_etag_is_304_without_a_body(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    response = await client.get(url(contact), headers=with_header(user, "If-None-Match", contact["etag"]))
    assert response.status_code == 304
    assert response.content == b""
    assert response.headers["etag"] == contact["etag"]


@pytest.mark.parametrize("header", ["*", 'W/"{etag}"', '"0", {quoted}'])
async def test_if_none_match_matches_any_weakly_equal_tag_or_star(client: Client, user: ApiUser, header: str) -> None:
    contact = await create_contact(client, user)
    value = header.format(etag=contact["etag"].strip('"'), quoted=contact["etag"])
    response = await client.get(url(contact), headers=with_header(user, "If-None-Match", value))
    assert response.status_code == 304


async def test_if_none_match_with_a_stale_etag_answers_the_contact(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    changed = await client.patch(url(contact), headers=user.headers, json={"notes": "changed"})
    response = await client.get(url(contact), headers=with_header(user, "If-None-Match", contact["etag"]))
    assert response.status_code == 200
    assert response.json() == changed.json()
    assert response.headers["etag"] == changed.headers["etag"]


async def test_the_vcard_of_a_contact_has_its_own_etag_and_answers_304_to_it(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    vcard = await client.get(url(contact), headers=with_header(user, "Accept", "text/vcard"))
    assert vcard.status_code == 200
    assert vcard.headers["etag"] not in (contact["etag"], None)
    assert "accept" in vcard.headers["vary"].lower()
    again = await client.get(
        url(contact), headers={**user.headers, "Accept": "text/vcard", "If-None-Match": vcard.headers["etag"]}
    )
    assert again.status_code == 304
    # The JSON's tag names another representation: the vCard is answered in full.
    other = await client.get(
        url(contact), headers={**user.headers, "Accept": "text/vcard", "If-None-Match": contact["etag"]}
    )
    assert other.status_code == 200


@pytest.mark.parametrize(
    ("method", "body"), [("PUT", contact_body(first_name="Augusta")), ("PATCH", {"first_name": "Augusta"})]
)
async def test_a_write_with_the_current_etag_in_if_match_succeeds(
    client: Client, user: ApiUser, method: str, body: dict[str, Any]
) -> None:
    contact = await create_contact(client, user)
    response = await client.request(
        method, url(contact), headers=with_header(user, "If-Match", contact["etag"]), json=body
    )
    assert response.status_code == 200, response.text
    assert response.json()["first_name"] == "Augusta"
    assert response.headers["etag"] != contact["etag"]


@pytest.mark.parametrize(("method", "body"), CONDITIONAL_WRITES)
async def test_a_write_with_a_stale_etag_is_412_with_the_current_one_and_changes_nothing(
    client: Client, user: ApiUser, settings: Settings, method: str, body: dict[str, Any] | None
) -> None:
    contact = await create_contact(client, user)
    current = (await client.patch(url(contact), headers=user.headers, json={"notes": "theirs"})).json()
    counter = await query_scalar(settings.database_url, "SELECT last_change_seq FROM address_books")
    response = await client.request(
        method, url(contact), headers=with_header(user, "If-Match", contact["etag"]), json=body
    )
    assert response.status_code == 412, response.text
    assert response.headers["etag"] == current["etag"]
    assert response.json()["status_code"] == 412
    assert (await client.get(url(contact), headers=user.headers)).json() == current
    assert await query_scalar(settings.database_url, "SELECT last_change_seq FROM address_books") == counter
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM contact_tombstones") == 0


@pytest.mark.parametrize("header", ['W/"{etag}"', "{etag}", '"{etag}-x"', "", '"{etag}" junk'])
async def test_if_match_uses_the_strong_comparison_and_a_malformed_list_matches_nothing(
    client: Client, user: ApiUser, header: str
) -> None:
    # RFC 9110 §13.1.1: a weak tag never matches If-Match; a header that is no list of tags
    # (an unquoted tag, an empty value, trailing junk) is a condition that does not hold.
    contact = await create_contact(client, user)
    value = header.format(etag=contact["etag"].strip('"'))
    response = await client.patch(url(contact), headers=with_header(user, "If-Match", value), json={"notes": "x"})
    assert response.status_code == 412, value
    assert (await client.get(url(contact), headers=user.headers)).json() == contact


async def test_if_match_with_a_list_succeeds_when_one_tag_is_current(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    headers = with_header(user, "If-Match", f'"999", W/"1", {contact["etag"]}')
    response = await client.patch(url(contact), headers=headers, json={"notes": "x"})
    assert response.status_code == 200


async def test_if_match_star_matches_any_existing_contact(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    await client.patch(url(contact), headers=user.headers, json={"notes": "theirs"})
    headers = with_header(user, "If-Match", "*")
    assert (await client.patch(url(contact), headers=headers, json={"notes": "mine"})).status_code == 200
    assert (await client.delete(url(contact), headers=headers)).status_code == 204
    assert (await client.patch(url(contact), headers=headers, json={"notes": "again"})).status_code == 404


async def test_a_delete_with_the_current_etag_deletes(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    response = await client.delete(url(contact), headers=with_header(user, "If-Match", contact["etag"]))
    assert response.status_code == 204
    assert (await client.get(url(contact), headers=user.headers)).status_code == 404


async def test_if_match_on_another_users_contact_is_404_and_reveals_no_etag(
    client: Client, user: ApiUser, other_user: ApiUser
) -> None:
    contact = await create_contact(client, user)
    response = await client.put(
        url(contact), headers=with_header(other_user, "If-Match", '"999"'), json=contact_body(first_name="Mallory")
    )
    assert response.status_code == 404
    assert "etag" not in response.headers


@pytest.mark.parametrize(("method", "body"), CONDITIONAL_WRITES)
async def test_two_clients_writing_from_the_same_version_cannot_both_succeed(
    client: Client, user: ApiUser, settings: Settings, method: str, body: dict[str, Any] | None
) -> None:
    contact = await create_contact(client, user)
    headers = with_header(user, "If-Match", contact["etag"])

    def write(http: httpx.AsyncClient) -> Any:
        return http.request(method, url(contact), headers=headers, json=body)

    responses = run_concurrently(client, *[write] * 4)
    statuses = sorted(response.status_code for response in responses)
    if method == "DELETE":
        # The losers find no contact left: 404, as for any contact that is not there.
        assert statuses == [204, 404, 404, 404], [r.text for r in responses]
        assert await query_scalar(settings.database_url, "SELECT count(*) FROM contact_tombstones") == 1
    else:
        assert statuses == [200, 412, 412, 412], [r.text for r in responses]
        winner = next(response for response in responses if response.status_code == 200)
        assert (await client.get(url(contact), headers=user.headers)).json() == winner.json()
        for loser in (response for response in responses if response.status_code == 412):
            assert loser.headers["etag"] == winner.headers["etag"]


async def test_clients_that_send_no_condition_write_as_before(client: Client, user: ApiUser) -> None:
    # Version 1 clients: no If-Match, the last write wins, as it always did.
    contact = await create_contact(client, user)
    first = await client.put(url(contact), headers=user.headers, json=contact_body(first_name="One"))
    second = await client.put(url(contact), headers=user.headers, json=contact_body(first_name="Two"))
    assert (first.status_code, second.status_code) == (200, 200)
    assert (await client.delete(url(contact), headers=user.headers)).status_code == 204


@pytest.mark.parametrize(
    ("method", "body"),
    [
        ("PUT", contact_body()),
        ("PATCH", {"notes": "Met at the Analytical Engine meetup"}),
        ("PATCH", {"email": "ada@example.com", "first_name": "Ada"}),
    ],
)
async def test_a_write_that_changes_nothing_keeps_the_etag_and_the_feed(
    client: Client, user: ApiUser, method: str, body: dict[str, Any]
) -> None:
    # The contract: ETags change with every change to the contact, and only then.
    contact = await create_contact(client, user)
    cursor = (await client.get("/api/contacts/changes", headers=user.headers)).json()["cursor"]
    response = await client.request(
        method, url(contact), headers=with_header(user, "If-Match", contact["etag"]), json=body
    )
    assert response.status_code == 200, response.text
    assert response.json() == contact
    assert response.headers["etag"] == contact["etag"]
    feed = await client.get("/api/contacts/changes", headers=user.headers, params={"cursor": cursor})
    assert feed.json()["changes"] == []


async def test_a_write_that_changes_nothing_still_checks_if_match(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    current = (await client.patch(url(contact), headers=user.headers, json={"notes": "theirs"})).json()
    response = await client.patch(
        url(contact), headers=with_header(user, "If-Match", contact["etag"]), json={"notes": "theirs"}
    )
    assert response.status_code == 412
    assert response.headers["etag"] == current["etag"]


async def test_the_vcards_etag_names_the_same_version_in_if_match(client: Client, user: ApiUser) -> None:
    # A client that holds the vCard may write the JSON: both tags name one version.
    contact = await create_contact(client, user)
    vcard_etag = (await client.get(url(contact), headers=with_header(user, "Accept", "text/vcard"))).headers["etag"]
    response = await client.patch(url(contact), headers=with_header(user, "If-Match", vcard_etag), json={"notes": "x"})
    assert response.status_code == 200
    stale = await client.patch(url(contact), headers=with_header(user, "If-Match", vcard_etag), json={"notes": "y"})
    assert stale.status_code == 412


async def test_if_match_star_on_a_replace_needs_only_an_existing_contact(client: Client, user: ApiUser) -> None:
    contact = await create_contact(client, user)
    await client.patch(url(contact), headers=user.headers, json={"notes": "theirs"})
    response = await client.put(
        url(contact), headers=with_header(user, "If-Match", "*"), json=contact_body(notes="mine")
    )
    assert response.status_code == 200
    assert response.json()["notes"] == "mine"
