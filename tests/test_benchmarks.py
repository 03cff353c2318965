"""The benchmark (benchmarks/), checked for correctness on a tiny data set, not for speed."""

from __future__ import annotations

import asyncio
import calendar
import datetime
import json
import os
import shutil
import subprocess
import sys
import uuid
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from argon2 import PasswordHasher
from sqlalchemy import make_url

from benchmarks.database import BenchDatabase
from benchmarks.runs import COMPARED_ROUTES
from benchmarks.seed import BENCHMARK_PASSWORD, SeededData, SeedPlan, seed_database
from benchmarks.wrk import WrkError, parse_wrk_output
from tests.conftest import DEFAULT_ADMIN_URL, in_ci

PROJECT_ROOT = Path(__file__).resolve().parents[1]
EVERY_RUN = [
    "hello",
    "asyncpg_list",
    "list",
    "get",
    "search_small",
    "search_big",
    "search_broad_big",
    "birthdays_small",
    "birthdays_big",
    "create",
    "changes_page",
    "patch",
    "patch_if_match",
    "login",
    "list_quiet",
    "list_flood",
    "login_flood",
]
WRK_STDOUT = """\
Running 1s test @ http://127.0.0.1:8000/
  1 threads and 2 connections
  Latency Distribution
     50%  299.00us
     99%  500.00us
  7096 requests in 1.10s, 2.71MB read
Requests/sec:   6451.13
BENCH_RESULT {"threads":1,"requests":7096,"responses_counted":7096,"duration_us":1099963,\
"requests_per_second":6451.126,"latency_p50_us":299,"latency_p99_us":500,"non_2xx":3,\
"socket_errors":{"connect":0,"read":1,"write":0,"timeout":2}}
"""


def admin_url() -> str:
    return os.environ.get("TEST_DATABASE_URL", DEFAULT_ADMIN_URL)


@pytest.fixture
def wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        message = "wrk is not installed (apt-get install wrk)"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture
def bench_database(postgresql_url: str) -> Iterator[BenchDatabase]:
    """A fresh, migrated database on the test server (`postgresql_url` skips or fails when it is down)."""
    database = BenchDatabase(admin_url(), f"contacts_bench_{uuid.uuid4().hex[:10]}")
    database.recreate()
    yield database
    database.drop()


@pytest.fixture
def seeded(bench_database: BenchDatabase) -> tuple[BenchDatabase, SeededData]:
    plan = SeedPlan(users=3, big_book=50, book=5, seed=7)
    return bench_database, asyncio.run(seed_database(bench_database.asyncpg_dsn, plan, advance=lambda _rows: None))


def fetch(dsn: str, sql: str, *args: Any) -> list[Any]:
    async def query() -> list[Any]:
        connection = await asyncpg.connect(dsn)
        try:
            return list(await connection.fetch(sql, *args))
        finally:
            await connection.close()

    return asyncio.run(query())


def days_until_birthday(birthday: datetime.date, today: datetime.date) -> int:
    for year in (today.year, today.year + 1):
        day = 28 if (birthday.month, birthday.day) == (2, 29) and not calendar.isleap(year) else birthday.day
        anniversary = birthday.replace(year=year, day=day)
        if anniversary >= today:
            return (anniversary - today).days
    raise AssertionError("unreachable: next year's anniversary is always ahead")


def test_seed_gives_each_owner_the_requested_book_size(seeded: tuple[BenchDatabase, SeededData]) -> None:
    database, data = seeded
    rows = fetch(
        database.asyncpg_dsn,
        "SELECT u.id, count(c.id) AS contacts FROM users u LEFT JOIN contacts c ON c.owner_id = u.id GROUP BY u.id",
    )
    books = {row["id"]: row["contacts"] for row in rows}
    assert books == {data.big.id: 50, data.small.id: 5, data.flooder.id: 5}


def test_seeded_users_log_in_with_the_benchmark_password(seeded: tuple[BenchDatabase, SeededData]) -> None:
    database, data = seeded
    hashes = {row["password_hash"] for row in fetch(database.asyncpg_dsn, "SELECT password_hash FROM users")}
    assert data.password == BENCHMARK_PASSWORD
    assert len(hashes) == 1
    assert PasswordHasher().verify(hashes.pop(), BENCHMARK_PASSWORD)


def test_seeded_contacts_have_one_to_three_emails_and_phones_and_some_tags(
    seeded: tuple[BenchDatabase, SeededData],
) -> None:
    database, _ = seeded
    rows = fetch(database.asyncpg_dsn, "SELECT emails, phones, tags FROM contacts")
    emails = [json.loads(row["emails"]) for row in rows]
    assert len(rows) == 60
    assert {len(entries) for entries in emails} == {1, 2, 3}
    assert {len(json.loads(row["phones"])) for row in rows} == {1, 2, 3}
    assert 0 < sum(bool(json.loads(row["tags"])) for row in rows) < 60
    assert all(entry["value"].isascii() for entries in emails for entry in entries)


def test_seeded_index_rows_mirror_the_lists(seeded: tuple[BenchDatabase, SeededData]) -> None:
    database, _ = seeded
    rows = fetch(database.asyncpg_dsn, "SELECT id, owner_id, emails FROM contacts")
    indexed = fetch(database.asyncpg_dsn, "SELECT owner_id, address, contact_id FROM contact_emails")
    expected = {(row["owner_id"], entry["value"], row["id"]) for row in rows for entry in json.loads(row["emails"])}
    assert {(row["owner_id"], row["address"], row["contact_id"]) for row in indexed} == expected


def test_seeded_data_gives_every_read_run_rows(seeded: tuple[BenchDatabase, SeededData]) -> None:
    database, data = seeded
    owner_of_contact = fetch(database.asyncpg_dsn, "SELECT owner_id FROM contacts WHERE id = $1", data.small_contact_id)
    matches = fetch(
        database.asyncpg_dsn,
        "SELECT id FROM contacts WHERE owner_id = $1 AND lower(first_name || last_name || emails) LIKE $2",
        data.small.id,
        f"%{data.search_fragment}%",
    )
    today = datetime.datetime.now(datetime.UTC).date()
    next_birthdays: dict[uuid.UUID, list[int]] = defaultdict(list)
    for row in fetch(database.asyncpg_dsn, "SELECT owner_id, birthday FROM contacts"):
        birthday = datetime.date.fromisoformat(row["birthday"])
        next_birthdays[row["owner_id"]].append(days_until_birthday(birthday, today))
    assert owner_of_contact[0]["owner_id"] == data.small.id
    assert len(data.broad_fragment) == 3
    assert matches
    assert data.matches[data.search_fragment]["small"] >= 1  # it comes from a contact of the small book
    for owner in (data.big, data.small, data.flooder):
        days = next_birthdays[owner.id]
        assert any(day < 7 for day in days), days
        assert any(7 <= day < 30 for day in days), days


def test_wrk_result_line_is_parsed_from_wrk_output() -> None:
    result = parse_wrk_output(WRK_STDOUT)
    assert (result.requests, result.latency_p50_us, result.latency_p99_us) == (7096, 299, 500)
    assert result.requests_per_second == pytest.approx(6451.126)
    assert result.errors == 3 + 1 + 2


def test_wrk_output_without_a_result_line_is_an_error() -> None:
    with pytest.raises(WrkError, match="no result line"):
        parse_wrk_output(WRK_STDOUT.replace("BENCH_RESULT", "something else"))


def test_thread_counters_that_miss_responses_are_an_error() -> None:
    with pytest.raises(WrkError, match="7000 responses"):
        parse_wrk_output(WRK_STDOUT.replace('"responses_counted":7096', '"responses_counted":7000'))


def test_benchmark_runs_end_to_end_with_no_errors(wrk: str, postgresql_url: str, tmp_path: Path) -> None:
    output = tmp_path / "results.json"
    database = f"contacts_bench_{uuid.uuid4().hex[:10]}"
    admin = make_url(admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "benchmarks", "--admin-url", admin, "--database", database, "--users", "3",
         "--big-book", "40", "--book", "5", "--duration", "1", "--warmup", "1", "--connections", "2",
         "--output", str(output)],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(output.read_text())
    runs = {run["key"]: run for run in document["runs"]}
    assert list(runs) == EVERY_RUN
    assert all(run["requests"] > 0 for run in runs.values()), runs
    assert [(key, run["errors"]) for key, run in runs.items() if run["errors"]] == []
    assert {check["name"] for check in document["checks"]} >= {"errors in all runs (non-2xx + socket)"}
    assert len(document["checks"]) == 5
    assert document["flags"]["database"] == database
    dropped = fetch(admin, "SELECT count(*) AS n FROM pg_database WHERE datname = $1", database)
    assert dropped[0]["n"] == 0


def test_side_by_side_runs_another_checkout_beside_this_one(wrk: str, postgresql_url: str, tmp_path: Path) -> None:
    # This very checkout stands in for "the commit before": both servers start, every compared
    # route is measured for each in each round, and the report pairs them up.
    output = tmp_path / "results.json"
    admin = make_url(admin_url()).set(drivername="postgresql").render_as_string(hide_password=False)
    completed = subprocess.run(  # noqa: S603 (our own interpreter and module)
        [sys.executable, "-m", "benchmarks", "--admin-url", admin, "--database",
         f"contacts_bench_{uuid.uuid4().hex[:10]}", "--users", "3", "--big-book", "40", "--book", "5",
         "--duration", "1", "--warmup", "0", "--connections", "2", "--output", str(output),
         "--compare-with", str(PROJECT_ROOT), "--compare-only", "--rounds", "2"],
        cwd=PROJECT_ROOT,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )  # fmt: skip
    assert completed.returncode == 0, completed.stdout + completed.stderr
    document = json.loads(output.read_text())
    assert [run["errors"] for run in document["runs"] if run["errors"]] == []
    assert len(document["runs"]) == len(COMPARED_ROUTES) * 2 * 2
    rows = {row["route"]: row for row in document["side_by_side"]}
    assert list(rows) == list(COMPARED_ROUTES)
    assert all(row["rounds"] == 2 and row["before_rps"] > 0 and row["after_rps"] > 0 for row in rows.values())
    assert document["checks"] == []


def test_a_copy_at_an_earlier_revision_has_the_same_rows_and_that_revisions_schema(
    seeded: tuple[BenchDatabase, SeededData],
) -> None:
    # What a side-by-side run against a checkout from before migration 0004 serves.
    database, _ = seeded
    copy = database.copy_at_revision("0003")
    try:
        count = "SELECT count(*) AS n FROM contacts"
        assert fetch(copy.asyncpg_dsn, count)[0]["n"] == fetch(database.asyncpg_dsn, count)[0]["n"] > 0
        assert fetch(copy.asyncpg_dsn, "SELECT version_num AS v FROM alembic_version")[0]["v"] == "0003"
        columns = "SELECT column_name AS c FROM information_schema.columns WHERE table_name = 'contacts'"
        assert "first_name_key" not in {row["c"] for row in fetch(copy.asyncpg_dsn, columns)}
    finally:
        copy.drop()
