"""GET /api/contacts/birthdays with a pinned clock."""

from __future__ import annotations

import datetime

import pytest

from tests.conftest import ApiUser, PinnedClock
from tests.contacts.conftest import Client, create_contact


async def upcoming(client: Client, user: ApiUser, days: int | None = None) -> list[tuple[str, str]]:
    url = "/api/contacts/birthdays" + (f"?days={days}" if days is not None else "")
    response = await client.get(url, headers=user.headers)
    assert response.status_code == 200, response.text
    return [(item["first_name"], item["next_birthday"]) for item in response.json()]


async def add(client: Client, user: ApiUser, name: str, birthday: str) -> None:
    await create_contact(client, user, first_name=name, email=f"{name.lower()}@example.com", birthday=birthday)


async def test_window_includes_today_and_day_seven_but_not_eight_or_yesterday(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    await add(client, user, "Today", "1990-06-10")
    await add(client, user, "Seven", "1985-06-17")
    await add(client, user, "Eight", "1985-06-18")
    await add(client, user, "Yesterday", "1970-06-09")
    assert await upcoming(client, user) == [("Today", "2026-06-10"), ("Seven", "2026-06-17")]


async def test_each_item_is_a_contact_with_next_birthday(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 6, 10))
    created = await create_contact(client, user, birthday="1990-06-12")
    [item] = (await client.get("/api/contacts/birthdays", headers=user.headers)).json()
    assert item == {**created, "next_birthday": "2026-06-12", "age": 36}


async def test_the_window_wraps_over_new_year(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 12, 28))
    await add(client, user, "January", "1990-01-03")
    await add(client, user, "December", "1990-12-30")
    await add(client, user, "Newyear", "1990-01-01")
    await add(client, user, "Late", "1990-01-05")
    assert await upcoming(client, user) == [
        ("December", "2026-12-30"),
        ("Newyear", "2027-01-01"),
        ("January", "2027-01-03"),
    ]


async def test_29_february_falls_on_28_february_in_a_common_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 2, 25))
    await add(client, user, "Leapling", "2000-02-29")
    await add(client, user, "March", "2000-03-01")
    assert await upcoming(client, user) == [("Leapling", "2027-02-28"), ("March", "2027-03-01")]


async def test_29_february_stays_on_29_february_in_a_leap_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2028, 2, 25))
    await add(client, user, "Leapling", "2000-02-29")
    await add(client, user, "Other", "2001-02-28")
    assert await upcoming(client, user) == [("Other", "2028-02-28"), ("Leapling", "2028-02-29")]


async def test_a_leapling_on_the_28th_of_a_common_year_counts_as_today(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 2, 28))
    await add(client, user, "Leapling", "2000-02-29")
    assert await upcoming(client, user, days=1) == [("Leapling", "2027-02-28")]


@pytest.mark.parametrize(
    ("today", "days"),
    [
        (datetime.date(2027, 2, 21), 7),  # the window ends on 28 February
        (datetime.date(2026, 12, 31), 59),  # it wraps over New Year and ends on 28 February
    ],
)
async def test_a_window_ending_on_28_february_of_a_common_year_holds_the_leaplings(
    client: Client, user: ApiUser, clock: PinnedClock, today: datetime.date, days: int
) -> None:
    # The query narrows by month-day ranges (an index): 29 February lies outside 0101-0228,
    # and must still be found, as it falls on the 28th that year.
    clock.set_date(today)
    await add(client, user, "Leapling", "2000-02-29")
    assert await upcoming(client, user, days=days) == [("Leapling", "2027-02-28")]


async def test_a_leapling_next_birthday_in_the_following_leap_year(
    client: Client, user: ApiUser, clock: PinnedClock
) -> None:
    clock.set_date(datetime.date(2027, 12, 31))
    await add(client, user, "Leapling", "2000-02-29")
    assert await upcoming(client, user, days=60) == [("Leapling", "2028-02-29")]


async def test_results_are_sorted_by_next_birthday(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 3, 1))
    for name, birthday in [("C", "1990-03-20"), ("A", "2001-03-02"), ("B", "1950-03-10")]:
        await add(client, user, name, birthday)
    assert [name for name, _ in await upcoming(client, user, days=30)] == ["A", "B", "C"]


async def test_366_days_covers_every_birthday_once(client: Client, user: ApiUser, clock: PinnedClock) -> None:
    clock.set_date(datetime.date(2026, 3, 1))
    await add(client, user, "Today", "1990-03-01")
    await add(client, user, "Yesterday", "1990-02-28")
    assert await upcoming(client, user, days=366) == [("Today", "2026-03-01"), ("Yesterday", "2027-02-28")]


@pytest.mark.parametrize("days", ["0", "367", "-1", "week"])
async def test_days_out_of_range_is_400(client: Client, user: ApiUser, days: str) -> None:
    response = await client.get(f"/api/contacts/birthdays?days={days}", headers=user.headers)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "days"


async def test_days_at_the_bounds_is_accepted(client: Client, user: ApiUser) -> None:
    for days in (1, 366):
        assert (await client.get(f"/api/contacts/birthdays?days={days}", headers=user.headers)).status_code == 200
