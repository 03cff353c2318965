"""The one source of "now" (UTC), injectable so tests can pin the date."""

from __future__ import annotations

import datetime
from collections.abc import Callable

Clock = Callable[[], datetime.datetime]


def utc_now() -> datetime.datetime:
    return datetime.datetime.now(datetime.UTC)


CLOCK_STATE_KEY = "clock"
