"""The load runs, in order: the two ceilings, then the service route by route, then the flood pair."""

from __future__ import annotations

import secrets
import time
import urllib.parse
from dataclasses import dataclass, field, replace
from pathlib import Path

import httpx
from alembic.script import ScriptDirectory
from rich.console import Console

from benchmarks.database import BenchDatabase
from benchmarks.errors import BenchmarkError
from benchmarks.seed import SeededData
from benchmarks.servers import (
    PROJECT_ROOT,
    ServerSpec,
    ceiling_spec,
    running_server,
    running_server_process,
    service_spec,
)
from benchmarks.sync import prepare_sync_book
from benchmarks.transfers import TransferMeasurement, measure_export, measure_import
from benchmarks.wrk import WrkLoad, WrkResult, finish_wrk, run_wrk, start_wrk, stop_wrk

LOGIN_CONNECTIONS = 4  # argon2 is slow on purpose; more connections would only queue
FLOOD_PAIR_CONNECTIONS = 8
FLOOD_LEAD_SECONDS = 1  # the flood starts this much before the measured run and ends as much after
BIRTHDAYS_PATH = "/api/contacts/birthdays?days=7"
LIST_PATH = "/api/contacts?limit=20"
LOGIN_PATH = "/api/auth/login"
# Log in again when a token would expire before a run plus this margin ends.
TOKEN_MARGIN_SECONDS = 60


@dataclass(frozen=True)
class Options:
    workers: int
    duration: int
    connections: int


@dataclass(frozen=True)
class Measurement:
    key: str
    name: str
    server: str
    request: str
    connections: int
    baseline: str | None  # the key of the ceiling this run is compared with
    result: WrkResult


def describe(load: WrkLoad) -> str:
    """What a run sends, as the report shows it: `GET /api/contacts?limit=20`."""
    url = urllib.parse.urlsplit(load.url)
    method = {"get.lua": "GET", "patch_contact.lua": "PATCH"}.get(load.script, "POST")
    return f"{method} {url.path}{'?' + url.query if url.query else ''}"


@dataclass
class LoadRunner:
    wrk_path: str
    console: Console
    # Each measured run is preceded by this many seconds of the same load, not recorded: the
    # first requests to a fresh server prepare statements on every pooled connection and fill
    # caches, which is start-up cost, not the steady state being measured.
    warmup_seconds: int = 0
    measurements: list[Measurement] = field(default_factory=list)
    transfers: list[TransferMeasurement] = field(default_factory=list)

    def record(self, key: str, name: str, server: str, load: WrkLoad, result: WrkResult, baseline: str | None) -> None:
        self.measurements.append(Measurement(key, name, server, describe(load), load.connections, baseline, result))
        self.console.print(
            f"  {name:<34} {result.requests_per_second:>9.1f} req/s  p50 {result.latency_p50_us / 1000:>8.2f} ms  "
            f"p99 {result.latency_p99_us / 1000:>8.2f} ms  errors {result.errors}"
        )

    def measure(self, key: str, name: str, server: str, load: WrkLoad, baseline: str | None = None) -> None:
        self.warm_up(load)
        self.record(key, name, server, load, run_wrk(self.wrk_path, load), baseline)

    def warm_up(self, load: WrkLoad) -> None:
        if self.warmup_seconds:
            warmup_env = {**load.script_env, "BENCH_RUN_ID": f"warmup{len(self.measurements)}"}
            run_wrk(self.wrk_path, replace(load, duration_seconds=self.warmup_seconds, script_env=warmup_env))


@dataclass
class TokenBook:
    """Access tokens per email, logged in for once and renewed only when they would expire."""

    base_url: str
    password: str
    valid_for_seconds: float
    tokens: dict[str, tuple[str, float]] = field(default_factory=dict)

    def token(self, email: str) -> str:
        cached = self.tokens.get(email)
        if cached is None or cached[1] - time.monotonic() < self.valid_for_seconds:
            cached = self._log_in(email)
            self.tokens[email] = cached
        return cached[0]

    def _log_in(self, email: str) -> tuple[str, float]:
        try:
            response = httpx.post(
                f"{self.base_url}{LOGIN_PATH}", json={"email": email, "password": self.password}, timeout=30
            )
        except httpx.HTTPError as exc:
            raise BenchmarkError(f"logging in as {email} failed: {exc!r}") from None
        if response.status_code != 200:
            raise BenchmarkError(f"logging in as {email} answered {response.status_code}: {response.text[:500]}")
        body = response.json()
        return str(body["access_token"]), time.monotonic() + float(body["expires_in"])


def run_ceilings(
    runner: LoadRunner, options: Options, database: BenchDatabase, seeded: SeededData, workdir: Path
) -> None:
    hello = ceiling_spec("hello", workers=options.workers)
    with running_server(hello, workdir) as base_url:
        load = WrkLoad(f"{base_url}/", "get.lua", options.connections, options.duration)
        runner.measure("hello", "ceiling: hello", "hello", load)
    asyncpg_list = ceiling_spec(
        "asyncpg-list",
        workers=options.workers,
        extra_env={"BENCH_DATABASE_URL": database.asyncpg_dsn, "BENCH_OWNER_ID": str(seeded.small.id)},
    )
    with running_server(asyncpg_list, workdir) as base_url:
        load = WrkLoad(f"{base_url}{LIST_PATH}", "get.lua", options.connections, options.duration)
        runner.measure("asyncpg_list", "ceiling: asyncpg-list (small book)", "asyncpg-list", load)


def run_service(
    runner: LoadRunner,
    options: Options,
    database: BenchDatabase,
    seeded: SeededData,
    workdir: Path,
    big_book: int,
) -> None:
    spec = service_spec(
        database_url=database.sqlalchemy_url, jwt_secret=secrets.token_urlsafe(48), workers=options.workers
    )
    with running_server_process(spec, workdir) as (base_url, server):
        tokens = TokenBook(base_url, seeded.password, options.duration + 2 * FLOOD_LEAD_SECONDS + TOKEN_MARGIN_SECONDS)
        small, big, flooder = seeded.small.email, seeded.big.email, seeded.flooder.email
        # First, on a server that has served nothing yet: the exports' memory growth is then measured
        # from a small resident set (after the import, or the wrk runs, the allocator keeps pages that
        # a buffered export could reuse unseen). Exports before the import, for the same reason.
        runner.console.print("import and export runs")
        for file_format in ("vcard", "csv"):
            runner.transfers.append(measure_export(base_url, tokens.token(big), server.pid, file_format, big_book))
        runner.transfers.append(measure_import(base_url, seeded.password))

        def get(path: str, email: str, connections: int = options.connections) -> WrkLoad:
            env = {"BENCH_TOKEN": tokens.token(email)}
            return WrkLoad(f"{base_url}{path}", "get.lua", connections, options.duration, env)

        def login(connections: int, duration: int = options.duration) -> WrkLoad:
            env = {"BENCH_EMAIL": flooder, "BENCH_PASSWORD": seeded.password}
            return WrkLoad(f"{base_url}{LOGIN_PATH}", "login.lua", connections, duration, env)

        search = f"/api/contacts?q={urllib.parse.quote(seeded.search_fragment)}"
        broad_search = f"/api/contacts?q={urllib.parse.quote(seeded.broad_fragment)}"
        runner.measure("list", "list, small book", "service", get(LIST_PATH, small), "asyncpg_list")
        runner.measure("get", "get by id", "service", get(f"/api/contacts/{seeded.small_contact_id}", small), "hello")
        runner.measure("search_small", "search, small book", "service", get(search, small), "hello")
        runner.measure("search_big", "search, big book", "service", get(search, big), "hello")
        runner.measure("search_broad_big", "search, big book, broad q", "service", get(broad_search, big), "hello")
        runner.measure("birthdays_small", "birthdays, small book", "service", get(BIRTHDAYS_PATH, small), "hello")
        runner.measure("birthdays_big", "birthdays, big book", "service", get(BIRTHDAYS_PATH, big), "hello")
        # Into the flooder's book, so the books read above stay as seeded.
        create = WrkLoad(
            f"{base_url}/api/contacts",
            "create_contact.lua",
            options.connections,
            options.duration,
            {"BENCH_TOKEN": tokens.token(flooder)},
        )
        runner.measure("create", "create contact", "service", create, "hello")
        # Sync (issue 15): a page of the changes feed, and PATCH with If-Match beside a plain one.
        book = prepare_sync_book(base_url, seeded.password, options.connections)
        feed = WrkLoad(
            f"{base_url}/api/contacts/changes?limit=100&cursor={book.cursor}",
            "get.lua",
            options.connections,
            options.duration,
            {"BENCH_TOKEN": book.headers["Authorization"].removeprefix("Bearer ")},
        )
        runner.measure("changes_page", "changes feed, page of 100 after 1,000", "service", feed, "hello")
        for key, name, conditional in (("patch", "patch", "0"), ("patch_if_match", "patch with If-Match", "1")):
            patch = WrkLoad(
                f"{base_url}/api/contacts",
                "patch_contact.lua",
                options.connections,
                options.duration,
                {
                    "BENCH_TOKEN": book.headers["Authorization"].removeprefix("Bearer "),
                    "BENCH_CONTACT_IDS": ",".join(book.contact_ids),
                    "BENCH_IF_MATCH": conditional,
                },
            )
            runner.measure(key, name, "service", patch, "hello")
        runner.measure("login", "login (argon2id)", "service", login(LOGIN_CONNECTIONS), "hello")

        quiet = get(LIST_PATH, small, FLOOD_PAIR_CONNECTIONS)
        runner.measure("list_quiet", "list, small book, no flood", "service", quiet, "asyncpg_list")
        flood = login(FLOOD_PAIR_CONNECTIONS, options.duration + 2 * FLOOD_LEAD_SECONDS)
        measured = get(LIST_PATH, small, FLOOD_PAIR_CONNECTIONS)
        process = start_wrk(runner.wrk_path, flood)
        try:
            time.sleep(FLOOD_LEAD_SECONDS)
            # No warm-up here: the quiet run just before warmed this very request, and the flood
            # must cover the whole measured run.
            flooded = run_wrk(runner.wrk_path, measured)
            runner.record("list_flood", "list, small book, login flood", "service", measured, flooded, "asyncpg_list")
            flood_result = finish_wrk(process, flood)
        except BaseException:
            stop_wrk(process)
            raise
        runner.record("login_flood", "login flood (alongside)", "service", flood, flood_result, "hello")


# The routes a change to the request path is judged by, measured for both checkouts.
COMPARED_ROUTES = ("list", "get", "search_small", "search_big", "birthdays_small", "birthdays_big", "create")


def run_side_by_side(
    runner: LoadRunner,
    options: Options,
    database: BenchDatabase,
    seeded: SeededData,
    workdir: Path,
    checkout: Path,
    rounds: int = 1,
    after_checkout: Path | None = None,
) -> None:
    """The same routes against `checkout` (another commit's tree, "before") and this tree ("after"),
    both serving the same database, alternating route by route so that drift in the machine's
    speed touches both alike, `rounds` times over. Keys are `<route>@before#<round>` and
    `<route>@after#<round>`; the report takes each route's median. `after_checkout` stands for
    this tree when given. A checkout whose migrations end before this tree's serves a copy of the
    seeded database taken down to its own last revision: the same rows, its own schema."""
    secret = secrets.token_urlsafe(48)
    copies: dict[str, BenchDatabase] = {}

    def database_for(tree: Path | None) -> str:
        head = migrations_head(tree or PROJECT_ROOT)
        if head == migrations_head(PROJECT_ROOT):
            return database.sqlalchemy_url
        if head not in copies:
            copies[head] = database.copy_at_revision(head)
        return copies[head].sqlalchemy_url

    specs = {
        label: service_spec(
            database_url=database_for(tree),
            jwt_secret=secret,
            workers=options.workers,
            checkout=tree,
            name=f"the service {label}",
        )
        for label, tree in (("before", checkout), ("after", after_checkout))
    }
    try:
        _measure_side_by_side(runner, options, seeded, workdir, specs, rounds)
    finally:
        for copy in copies.values():
            copy.drop()


def migrations_head(tree: Path) -> str:
    """The last migration revision of a checkout."""
    return str(ScriptDirectory(str(tree / "migrations")).get_current_head())


def _measure_side_by_side(
    runner: LoadRunner, options: Options, seeded: SeededData, workdir: Path, specs: dict[str, ServerSpec], rounds: int
) -> None:
    with running_server(specs["before"], workdir) as before_url, running_server(specs["after"], workdir) as after_url:
        urls = {"before": before_url, "after": after_url}
        lifetime = options.duration + TOKEN_MARGIN_SECONDS
        tokens = {label: TokenBook(url, seeded.password, lifetime) for label, url in urls.items()}
        search = f"/api/contacts?q={urllib.parse.quote(seeded.search_fragment)}"
        requests = {
            "list": ("list, small book", LIST_PATH, seeded.small.email),
            "get": ("get by id", f"/api/contacts/{seeded.small_contact_id}", seeded.small.email),
            "search_small": ("search, small book", search, seeded.small.email),
            "search_big": ("search, big book", search, seeded.big.email),
            "birthdays_small": ("birthdays, small book", BIRTHDAYS_PATH, seeded.small.email),
            "birthdays_big": ("birthdays, big book", BIRTHDAYS_PATH, seeded.big.email),
        }
        for number in range(1, rounds + 1):
            for route in COMPARED_ROUTES:
                for label, url in urls.items():
                    if route == "create":
                        # Into the flooder's book, so the books read above stay as seeded.
                        name, path, script = "create contact", "/api/contacts", "create_contact.lua"
                        env = {
                            "BENCH_TOKEN": tokens[label].token(seeded.flooder.email),
                            "BENCH_RUN_ID": f"{label}{number}",
                        }
                    else:
                        name, path, email = requests[route]
                        script, env = "get.lua", {"BENCH_TOKEN": tokens[label].token(email)}
                    load = WrkLoad(f"{url}{path}", script, options.connections, options.duration, env)
                    runner.measure(f"{route}@{label}#{number}", f"{name} ({label}, round {number})", label, load)
