"""The regex that states "not after today" in the OpenAPI document matches exactly those dates."""

from __future__ import annotations

import datetime
import re

import pytest

from contacts_api.docs import iso_dates_between_pattern


@pytest.mark.parametrize(
    "today",
    [datetime.date(2026, 11, 26), datetime.date(2024, 2, 29), datetime.date(2000, 3, 1), datetime.date(2026, 1, 1),
     datetime.date(2400, 12, 31), datetime.date(1999, 12, 31)],
)  # fmt: skip
def test_the_pattern_matches_exactly_the_valid_dates_up_to_today(today: datetime.date) -> None:
    pattern = re.compile(iso_dates_between_pattern(1000, today))
    day = datetime.date(900, 1, 1)
    while day <= min(today + datetime.timedelta(days=800), datetime.date(9999, 1, 1)):
        assert bool(pattern.match(day.isoformat())) == (datetime.date(1000, 1, 1) <= day <= today), day
        near = abs((day - today).days) < 800 or day.month == 2 or day.year in (999, 1000)
        day += datetime.timedelta(days=1 if near else 17)


@pytest.mark.parametrize(
    "text", ["0000-01-01", "0999-12-31", "2023-02-29", "1900-02-29", "2026-04-31", "2026-13-01", "2026-1-01"]
)
def test_the_pattern_rejects_what_is_not_a_date(text: str) -> None:
    assert not re.match(iso_dates_between_pattern(1000, datetime.date(2026, 11, 26)), text)
