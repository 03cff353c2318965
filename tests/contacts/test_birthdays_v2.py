"""GET /api/contacts/birthdays on version 2 contacts (year-less birthdays, `age`, the `tag`
filter) with a pinned clock, and GET /api/contacts/tags."""

from __future__ import annotations

import datetime
from typing import Any

import pytest

from tests.conftest import ApiUser, Client, PinnedClock


async def add(client: Client, owner: ApiUser, first_name: str, **fields: Any) -> dict[str, Any]:
    """A contact with only the fields given (none of contact_body's email, phone or birthday)."""
    response = await client.post("/api/contacts", headers=owner.headers, json={"first_name": first_name, **fields})
    assert response.status_code == 201, response.text
    return dict(response.json())


async def birthdays(client: Client, owner: ApiUser, query: str = "") -> list[dict[str, Any]]:
    response = await client.get(f"/api/contacts/birthdays?{query}", headers=owner.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


async def upcoming(client: Client, owner: ApiUser, query: str = "") -> list[tuple[str, str, int | None]]:
    """(first name, next birthday, age) of each upcoming birthday, in order."""
    return [(item["first_name"], item["next_birthday"], item["age"]) for item in await birthdays(client, owner, query)]


async def tag_counts(client: Client, owner: ApiUser) -> list[dict[str, Any]]:
    response = await client.get("/api/contacts/tags", headers=owner.headers)
    assert response.status_code == 200, response.text
    return list(response.json())


# --- birthdays ---


async def test_a_year_less_birthday_is_in_the_window_with_no_age(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    created = await add(client, user, "Sam", birthday="--06-12")
    [item] = await birthdays(client, user)
    assert item == {**created, "next_birthday": "2026-06-12", "age": None}
    assert item["birthday"] == "--06-12"


async def test_a_year_less_birthday_outside_the_window_is_left_out(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Soon", birthday="--06-17")
    await add(client, user, "Later", birthday="--06-18")
    await add(client, user, "Past", birthday="--06-09")
    assert await upcoming(client, user) == [("Soon", "2026-06-17", None)]


async def test_a_dated_birthday_has_the_age_turned_on_next_birthday(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Today", birthday="1990-06-10")
    await add(client, user, "Baby", birthday="2025-06-15")
    await add(client, user, "Elder", birthday="1926-06-16")
    assert await upcoming(client, user) == [
        ("Today", "2026-06-10", 36),
        ("Baby", "2026-06-15", 1),
        ("Elder", "2026-06-16", 100),
    ]


async def test_dated_and_year_less_birthdays_mix_in_date_order(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Dated", birthday="1990-06-14")
    await add(client, user, "Yearless", birthday="--06-12")
    await add(client, user, "Also", birthday="--06-14")
    assert await upcoming(client, user) == [
        ("Yearless", "2026-06-12", None),
        ("Also", "2026-06-14", None),
        ("Dated", "2026-06-14", 36),
    ]


async def test_the_age_across_new_year_is_the_age_turned_next_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 12, 28))
    await add(client, user, "December", birthday="1990-12-30")
    await add(client, user, "January", birthday="1990-01-03")
    await add(client, user, "Yearless", birthday="--01-02")
    assert await upcoming(client, user) == [
        ("December", "2026-12-30", 36),
        ("Yearless", "2027-01-02", None),
        ("January", "2027-01-03", 37),
    ]


async def test_a_birthday_born_this_year_already_passed_is_next_year_and_age_one(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 12, 28))
    await add(client, user, "Newborn", birthday="2026-01-02")
    assert await upcoming(client, user) == [("Newborn", "2027-01-02", 1)]


async def test_a_year_less_29_february_falls_on_28_february_in_a_common_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 2, 25))
    await add(client, user, "Leapling", birthday="--02-29")
    await add(client, user, "March", birthday="--03-01")
    assert await upcoming(client, user) == [("Leapling", "2027-02-28", None), ("March", "2027-03-01", None)]


async def test_a_year_less_29_february_stays_on_29_february_in_a_leap_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2028, 2, 25))
    await add(client, user, "Leapling", birthday="--02-29")
    await add(client, user, "Other", birthday="--02-28")
    assert await upcoming(client, user) == [("Other", "2028-02-28", None), ("Leapling", "2028-02-29", None)]


async def test_a_year_less_29_february_on_the_last_day_of_a_window_in_a_common_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 2, 21))
    await add(client, user, "Leapling", birthday="--02-29")
    assert await upcoming(client, user, "days=7") == [("Leapling", "2027-02-28", None)]
    assert await upcoming(client, user, "days=6") == []


async def test_a_dated_29_february_has_its_age_on_28_february(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 2, 25))
    await add(client, user, "Leapling", birthday="2000-02-29")
    assert await upcoming(client, user) == [("Leapling", "2027-02-28", 27)]


async def test_contacts_without_a_birthday_never_appear(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Nobirthday")
    await add(client, user, "Cleared", birthday=None)
    await add(client, user, "Dated", birthday="1990-06-11")
    assert await upcoming(client, user, "days=366") == [("Dated", "2026-06-11", 36)]


async def test_a_birthday_removed_by_patch_no_longer_appears(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    created = await add(client, user, "Sam", birthday="--06-12")
    response = await client.patch(f"/api/contacts/{created['id']}", headers=user.headers, json={"birthday": None})
    assert response.status_code == 200, response.text
    assert await upcoming(client, user, "days=366") == []


async def test_the_tag_filter_on_birthdays_ignores_case(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Cousin", birthday="--06-12", tags=["Family"])
    await add(client, user, "Colleague", birthday="1990-06-11", tags=["work"])
    await add(client, user, "Untagged", birthday="1990-06-13")
    assert await upcoming(client, user, "tag=FAMILY") == [("Cousin", "2026-06-12", None)]
    assert await upcoming(client, user, "tag=family") == [("Cousin", "2026-06-12", None)]
    assert await upcoming(client, user, "tag=Work") == [("Colleague", "2026-06-11", 36)]


async def test_the_tag_filter_on_birthdays_keeps_the_window(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Soon", birthday="--06-12", tags=["family"])
    await add(client, user, "Later", birthday="--07-12", tags=["family"])
    assert await upcoming(client, user, "tag=family") == [("Soon", "2026-06-12", None)]
    assert await upcoming(client, user, "tag=family&days=40") == [
        ("Soon", "2026-06-12", None),
        ("Later", "2026-07-12", None),
    ]


async def test_a_birthday_tag_nobody_has_is_an_empty_list(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Cousin", birthday="--06-12", tags=["family"])
    assert await upcoming(client, user, "tag=nobody") == []


@pytest.mark.parametrize("days", ["0", "367"])
async def test_days_out_of_range_is_still_400(client: Client, user: ApiUser, days: str) -> None:
    response = await client.get(f"/api/contacts/birthdays?days={days}", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "days"


@pytest.mark.parametrize("days", ["1", "366"])
async def test_days_at_the_bounds_is_still_accepted(client: Client, user: ApiUser, days: str) -> None:
    response = await client.get(f"/api/contacts/birthdays?days={days}&tag=family", headers=user.headers)
    assert response.status_code == 200
    assert response.json() == []


# --- tags ---


async def test_tags_lists_every_tag_in_use_with_its_count(client: Client, user: ApiUser) -> None:
    await add(client, user, "Ada", tags=["work", "family"])
    await add(client, user, "Grace", tags=["work"])
    await add(client, user, "Alan", tags=["work", "chess"])
    await add(client, user, "Untagged")
    assert await tag_counts(client, user) == [
        {"name": "chess", "count": 1},
        {"name": "family", "count": 1},
        {"name": "work", "count": 3},
    ]


async def test_tags_are_sorted_by_name_ignoring_case(client: Client, user: ApiUser) -> None:
    await add(client, user, "Ada", tags=["beta", "Alpha", "gamma", "Delta"])
    assert [tag["name"] for tag in await tag_counts(client, user)] == ["Alpha", "beta", "Delta", "gamma"]


async def test_a_tag_in_two_cases_on_two_contacts_is_one_tag_counted_twice(client: Client, user: ApiUser) -> None:
    await add(client, user, "Ada", tags=["Family"])
    await add(client, user, "Grace", tags=["family"])
    [tag] = await tag_counts(client, user)
    assert tag["count"] == 2
    assert tag["name"] in {"Family", "family"}


async def test_a_tag_given_twice_in_two_cases_on_one_contact_counts_once(client: Client, user: ApiUser) -> None:
    await add(client, user, "Ada", tags=["Family", "FAMILY", " family "])
    assert await tag_counts(client, user) == [{"name": "Family", "count": 1}]


async def test_tags_of_other_owners_are_never_shown(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    await add(client, user, "Ada", tags=["family"])
    await add(client, other_user, "Eve", tags=["family", "secret"])
    await add(client, other_user, "Mallory", tags=["Family"])
    assert await tag_counts(client, user) == [{"name": "family", "count": 1}]
    assert [tag["name"].lower() for tag in await tag_counts(client, other_user)] == ["family", "secret"]


async def test_an_empty_book_has_no_tags(client: Client, user: ApiUser, other_user: ApiUser) -> None:
    await add(client, other_user, "Eve", tags=["family"])
    assert await tag_counts(client, user) == []


async def test_a_book_without_tags_has_no_tags(client: Client, user: ApiUser) -> None:
    await add(client, user, "Ada")
    assert await tag_counts(client, user) == []


async def test_removing_a_tag_by_patch_lowers_its_count(client: Client, user: ApiUser) -> None:
    ada = await add(client, user, "Ada", tags=["family", "work"])
    await add(client, user, "Grace", tags=["family"])
    response = await client.patch(f"/api/contacts/{ada['id']}", headers=user.headers, json={"tags": ["work"]})
    assert response.status_code == 200, response.text
    assert await tag_counts(client, user) == [{"name": "family", "count": 1}, {"name": "work", "count": 1}]


async def test_removing_the_last_use_of_a_tag_by_patch_drops_it(client: Client, user: ApiUser) -> None:
    ada = await add(client, user, "Ada", tags=["family", "work"])
    response = await client.patch(f"/api/contacts/{ada['id']}", headers=user.headers, json={"tags": ["family"]})
    assert response.status_code == 200, response.text
    assert await tag_counts(client, user) == [{"name": "family", "count": 1}]


async def test_replacing_a_contact_without_tags_drops_its_tags(client: Client, user: ApiUser) -> None:
    ada = await add(client, user, "Ada", tags=["family"])
    response = await client.put(f"/api/contacts/{ada['id']}", headers=user.headers, json={"first_name": "Ada"})
    assert response.status_code == 200, response.text
    assert await tag_counts(client, user) == []


async def test_deleting_a_contact_removes_its_tags(client: Client, user: ApiUser) -> None:
    ada = await add(client, user, "Ada", tags=["family", "chess"])
    await add(client, user, "Grace", tags=["family"])
    response = await client.delete(f"/api/contacts/{ada['id']}", headers=user.headers)
    assert response.status_code == 204, response.text
    assert await tag_counts(client, user) == [{"name": "family", "count": 1}]
