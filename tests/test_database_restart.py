"""PostgreSQL restarting, starting up, refusing connections or dropping them mid-statement (and
SQLite's file locked) costs 503s with Retry-After, never a 500, and never a write that was
acknowledged.

These tests restart, stop and reconfigure their database server, so each run makes its own
throwaway cluster (initdb into a temporary directory, a free port, its own socket directory): the
shared server on 5432 is never touched. PostgreSQL refuses to run as root, so when the tests run as
root the cluster belongs to the `postgres` OS user.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import uuid
from collections.abc import AsyncIterator, Coroutine, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NoReturn

import asyncpg
import httpx
import pytest
from litestar import Litestar, get
from litestar.testing import AsyncTestClient
from sqlalchemy import make_url

from contacts_api.app import create_app
from contacts_api.db import create_engine, ping, upgrade_database
from contacts_api.errors import exception_handlers, is_connection_failure
from tests.conftest import PASSWORD, TEST_JWT_SECRET, Client, in_ci, make_settings, sign_up_and_log_in
from tests.contacts.conftest import contact_body
from tests.live_server import CLI, free_port, server_env

CONCURRENT_WRITERS = 16
SERVER_WORKERS = 2
CLUSTER_OWNER = "postgres"  # the OS user that owns the cluster when the tests run as root
SUPERUSER = "postgres"  # the cluster's superuser role


def unavailable(reason: str) -> NoReturn:
    """Skip on a developer's machine without PostgreSQL's server binaries; fail in CI, which has them."""
    if in_ci():
        pytest.fail(reason)
    pytest.skip(reason)


def postgresql_bin_dir() -> Path | None:
    """Where initdb and pg_ctl live: pg_config's answer, else the newest Debian-style install."""
    candidates: list[Path] = []
    if pg_config := shutil.which("pg_config"):
        answer = subprocess.run([pg_config, "--bindir"], capture_output=True, text=True, check=False)  # noqa: S603
        if answer.returncode == 0:
            candidates.append(Path(answer.stdout.strip()))
    installed = [path for path in Path("/usr/lib/postgresql").glob("*/bin") if path.parent.name.isdigit()]
    candidates += sorted(installed, key=lambda path: int(path.parent.name), reverse=True)
    return next((path for path in candidates if (path / "initdb").is_file() and (path / "pg_ctl").is_file()), None)


@dataclass
class ThrowawayCluster:
    """A PostgreSQL cluster of our own, on 127.0.0.1:`port`, in `root`."""

    bin_dir: Path
    root: Path
    port: int
    run_as: list[str]  # the command prefix that runs a program as the cluster's owner

    @property
    def data_dir(self) -> Path:
        return self.root / "data"

    @property
    def log_file(self) -> Path:
        return self.root / "postgresql.log"

    def url(self, database: str, user: str = SUPERUSER) -> str:
        return f"postgresql+asyncpg://{user}@127.0.0.1:{self.port}/{database}"

    def run(self, program: str, *arguments: str, timeout: float = 60) -> None:
        command = [*self.run_as, str(self.bin_dir / program), *arguments]
        done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)  # noqa: S603
        if done.returncode != 0:
            output = f"{done.stdout}{done.stderr}{self.log_tail()}"
            raise AssertionError(f"{program} {' '.join(arguments)} failed:\n{output}")

    def initdb(self) -> None:
        # --no-sync: nothing here has to survive the machine crashing, only the server restarting.
        options = ["-U", SUPERUSER, "-A", "trust", "-E", "UTF8", "--locale=C", "--no-sync"]
        self.run("initdb", "-D", str(self.data_dir), *options)

    def pg_ctl(self, *arguments: str) -> None:
        self.run("pg_ctl", "-D", str(self.data_dir), "-l", str(self.log_file), "-w", "-t", "30", *arguments)

    def server_options(self, *extra: str) -> str:
        # fsync=off spares the shared machine's disk: a restart (unlike a power cut) loses nothing
        # the server acknowledged either way, which is all the no-lost-write checks rely on.
        return " ".join([f"-p {self.port}", f"-k {self.root}", "-c listen_addresses=127.0.0.1", "-c fsync=off", *extra])

    def start(self, *extra_options: str) -> None:
        self.pg_ctl("-o", self.server_options(*extra_options), "start")

    def restart(self) -> None:
        """What `pg_ctlcluster … restart -m fast` does: end every session, stop, start again."""
        self.pg_ctl("-m", "fast", "-o", self.server_options(), "restart")

    def stop(self, mode: str = "fast") -> None:
        self.pg_ctl("-m", mode, "stop")

    def stop_for_good(self) -> None:
        """Clean-up: stop the server however it is, and make sure its postmaster is gone."""
        pid_file = self.data_dir / "postmaster.pid"
        if not pid_file.exists():
            return
        postmaster = int(pid_file.read_text().split()[0])
        try:
            self.stop("immediate")
        except (AssertionError, subprocess.TimeoutExpired):
            with suppress(ProcessLookupError):
                os.kill(postmaster, signal.SIGKILL)

    def log_tail(self, lines: int = 30) -> str:
        if not self.log_file.exists():
            return ""
        return "\nserver log:\n" + "\n".join(self.log_file.read_text(errors="replace").splitlines()[-lines:])


@pytest.fixture(scope="module")
def cluster() -> Iterator[ThrowawayCluster]:
    bin_dir = postgresql_bin_dir()
    if bin_dir is None:
        unavailable("PostgreSQL's server programs (initdb, pg_ctl) are not installed")
    run_as: list[str] = []
    owner: pwd.struct_passwd | None = None
    if os.geteuid() == 0:
        runuser = shutil.which("runuser")
        try:
            owner = pwd.getpwnam(CLUSTER_OWNER)
        except KeyError:
            owner = None
        if runuser is None or owner is None:
            unavailable(f"running as root needs `runuser` and a {CLUSTER_OWNER!r} OS user to own the cluster")
        run_as = [runuser, "-u", CLUSTER_OWNER, "--"]
    # Directly under /tmp rather than pytest's tmp_path, whose parents only root may enter; short,
    # because the server's Unix socket path goes in here too.
    root = Path(tempfile.mkdtemp(prefix="contacts-pg-"))
    throwaway = ThrowawayCluster(bin_dir=bin_dir, root=root, port=free_port(), run_as=run_as)
    try:
        if owner is not None:
            os.chown(root, owner.pw_uid, owner.pw_gid)
        throwaway.initdb()
        throwaway.start()
        yield throwaway
    finally:
        throwaway.stop_for_good()
        shutil.rmtree(root, ignore_errors=True)


async def superuser_execute(cluster: ThrowawayCluster, statement: str, database: str = "postgres") -> None:
    connection = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, database=database)
    try:
        await connection.execute(statement)
    finally:
        await connection.close()


def migrated_database(cluster: ThrowawayCluster) -> str:
    """A new database on the cluster with the app's schema; its SQLAlchemy URL."""
    name = f"contacts_{uuid.uuid4().hex[:8]}"
    asyncio.run(superuser_execute(cluster, f'CREATE DATABASE "{name}"'))
    url = cluster.url(name)
    upgrade_database(url)
    return url


@pytest.fixture
def database_url(cluster: ThrowawayCluster) -> str:
    """In this module, a database on the throwaway cluster (not conftest's shared-server one)."""
    return migrated_database(cluster)


# The restart under load


@contextmanager
def served_api(database_url: str, workdir: Path, log_path: Path) -> Iterator[str]:
    """`contacts-api serve --workers 2` on `database_url`; yields its base URL.

    Its output goes to a file rather than a pipe: thousands of requests would fill a pipe nobody
    reads, and the server would block writing its log.
    """
    port = free_port()
    env = server_env(
        DATABASE_URL=database_url,
        JWT_SECRET=TEST_JWT_SECRET,
        ENVIRONMENT="test",
        RATE_LIMIT_AUTH="0",
        RATE_LIMIT_LOGIN_FAILURES="0",
        ARGON2_TIME_COST="1",
        ARGON2_MEMORY_COST_KIB="64",
        ARGON2_PARALLELISM="1",
        DB_POOL_TIMEOUT_SECONDS="2",
        LOG_LEVEL="WARNING",  # no access lines: the warnings and errors are what this test reads
    )
    base_url = f"http://127.0.0.1:{port}"
    with log_path.open("wb") as log:
        server = subprocess.Popen(  # noqa: S603
            [*CLI, "serve", "--port", str(port), "--workers", str(SERVER_WORKERS)],
            cwd=workdir,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its workers share its process group, so clean-up finds them all
        )
    try:
        deadline = time.monotonic() + 30
        while True:
            if server.poll() is not None:
                raise AssertionError(f"the server exited early:\n{log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"the server did not answer in time:\n{log_path.read_text(errors='replace')}")
            time.sleep(0.2)
        yield base_url
    finally:
        server.terminate()
        with suppress(subprocess.TimeoutExpired):
            server.wait(timeout=20)
        with suppress(ProcessLookupError):
            os.killpg(server.pid, signal.SIGKILL)  # any worker left behind
        server.wait(timeout=5)


@dataclass(frozen=True)
class Answer:
    started: float  # time.monotonic() when the request was sent
    status: int  # 0: no HTTP answer at all
    retry_after: str | None
    email: str
    detail: str


@dataclass
class WriteLoad:
    """The answers to every write and health check sent while the database restarted."""

    writes: list[Answer] = field(default_factory=list)
    health: list[Answer] = field(default_factory=list)
    restarts: list[tuple[float, float]] = field(default_factory=list)  # (began, done), monotonic

    def count(self, answers: list[Answer]) -> dict[int, int]:
        return dict(sorted(collections.Counter(answer.status for answer in answers).items()))


async def send(
    client: httpx.AsyncClient,
    method: str,
    path: str,
    email: str = "",
    headers: dict[str, str] | None = None,
    body: dict[str, Any] | None = None,
) -> Answer:
    started = time.monotonic()
    try:
        response = await client.request(method, path, headers=headers, json=body)
    except httpx.HTTPError as exc:
        return Answer(started, 0, None, email, repr(exc))
    return Answer(started, response.status_code, response.headers.get("retry-after"), email, response.text[:300])


async def write_contacts(base_url: str, token: str, writer: int, stop: asyncio.Event, load: WriteLoad) -> None:
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        sequence = 0
        while not stop.is_set():
            email = f"writer{writer}-{sequence}@example.com"
            sequence += 1
            load.writes.append(await send(client, "POST", "/api/contacts", email, headers, contact_body(email=email)))


async def check_health(base_url: str, stop: asyncio.Event, load: WriteLoad) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=15) as client:
        while not stop.is_set():
            load.health.append(await send(client, "GET", "/health"))
            await asyncio.sleep(0.05)


async def restart_under_write_load(cluster: ThrowawayCluster, base_url: str, token: str) -> WriteLoad:
    load = WriteLoad()
    stop = asyncio.Event()
    clients = [
        asyncio.create_task(write_contacts(base_url, token, writer, stop, load)) for writer in range(CONCURRENT_WRITERS)
    ]
    clients.append(asyncio.create_task(check_health(base_url, stop, load)))
    try:
        await asyncio.sleep(1.0)  # the pools fill and the writes flow
        for _ in range(2):
            began = time.monotonic()
            await asyncio.to_thread(cluster.restart)  # returns once the server accepts connections again
            load.restarts.append((began, time.monotonic()))
            await asyncio.sleep(1.5)  # long enough to see the writes succeed again by themselves
    finally:
        stop.set()
        await asyncio.wait_for(asyncio.gather(*clients), timeout=30)
    return load


async def stored_emails(database_url: str) -> set[str]:
    url = make_url(database_url)
    connection = await asyncpg.connect(host=url.host, port=url.port, user=url.username, database=url.database)
    try:
        return {row["address"] for row in await connection.fetch("SELECT address FROM contact_emails")}
    finally:
        await connection.close()


async def postmaster_start_time(cluster: ThrowawayCluster) -> object:
    connection = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, database="postgres")
    try:
        return await connection.fetchval("SELECT pg_postmaster_start_time()")
    finally:
        await connection.close()


def sign_up_over_http(base_url: str) -> str:
    """A new account's access token."""
    email = f"writer-{uuid.uuid4().hex[:8]}@example.com"
    signup = httpx.post(f"{base_url}/api/auth/signup", json={"email": email, "password": PASSWORD}, timeout=15)
    assert signup.status_code == 201, signup.text
    login = httpx.post(f"{base_url}/api/auth/login", json={"email": email, "password": PASSWORD}, timeout=15)
    assert login.status_code == 200, login.text
    return str(login.json()["access_token"])


def test_a_postgresql_restart_under_write_load_answers_503_never_500_and_loses_no_write(
    cluster: ThrowawayCluster, database_url: str
) -> None:
    server_log = cluster.root / "api.log"
    started_before = asyncio.run(postmaster_start_time(cluster))
    with served_api(database_url, cluster.root, server_log) as base_url:
        token = sign_up_over_http(base_url)
        load = asyncio.run(restart_under_write_load(cluster, base_url, token))
    assert asyncio.run(postmaster_start_time(cluster)) != started_before, "the server was not restarted"

    log = server_log.read_text(errors="replace")
    summary = f"writes {load.count(load.writes)}, health {load.count(load.health)}\napi log:\n{log[-4000:]}"
    # Every answer is a success or a clean "try again", the health check included; no 500, and no
    # request left without an HTTP answer.
    unexpected = [answer for answer in load.writes if answer.status not in {201, 503}]
    assert not unexpected, f"{unexpected[:5]}\n{summary}"
    assert {answer.status for answer in load.health} <= {200, 503}, summary
    assert all(answer.retry_after for answer in load.writes if answer.status == 503), summary
    assert any(answer.status == 503 for answer in load.writes), f"the restarts went unnoticed\n{summary}"
    # The failures were logged as the database being unavailable, never as an unhandled error.
    assert "Traceback" not in log, summary
    assert "unhandled error" not in log, summary

    acknowledged = {answer.email for answer in load.writes if answer.status == 201}
    lost = acknowledged - asyncio.run(stored_emails(database_url))
    assert not lost, f"{len(lost)} acknowledged contacts are missing, e.g. {sorted(lost)[:5]}\n{summary}"

    # The service came back by itself: writes sent after the last restart succeed again.
    last_restart_done = load.restarts[-1][1]
    after_restart = [answer for answer in load.writes if answer.started > last_restart_done]
    assert any(answer.status == 201 for answer in after_restart), summary
    settled = [answer for answer in after_restart if answer.started > last_restart_done + 1.0]
    assert settled, summary
    assert all(answer.status == 201 for answer in settled), summary


# Each kind of failure on its own, through the app in-process


@asynccontextmanager
async def app_client(database_url: str) -> AsyncIterator[Client]:
    app = create_app(make_settings(database_url, db_pool_timeout_seconds=2))
    async with AsyncTestClient(app=app) as client:
        yield client


def assert_503_with_retry_after(response: httpx.Response) -> None:
    assert response.status_code == 503, response.text
    assert response.json() == {"status_code": 503, "detail": "The database is unavailable; try again shortly"}
    assert int(response.headers["retry-after"]) >= 1


async def connection_failure(database_url: str) -> BaseException:
    """The exception the app's own engine raises when it tries to reach the database."""
    engine = create_engine(make_settings(database_url, db_pool_timeout_seconds=2))
    try:
        await ping(engine)
    except Exception as exc:  # whatever the driver raised, to look at
        return exc
    finally:
        await engine.dispose()
    raise AssertionError("the database answered")


def innermost(exc: BaseException) -> BaseException:
    while exc.__cause__ is not None:
        exc = exc.__cause__
    return exc


@contextmanager
def not_accepting_connections(cluster: ThrowawayCluster) -> Iterator[None]:
    """The server up but refusing sessions with 57P03 (cannot_connect_now), as while it starts up.

    A standby without hot standby answers every connection that way for as long as it runs, so
    the window a real start-up leaves open for a few milliseconds stays open for the test.
    """
    standby_signal = cluster.data_dir / "standby.signal"
    cluster.stop()
    standby_signal.touch()
    owner = cluster.data_dir.stat()
    os.chown(standby_signal, owner.st_uid, owner.st_gid)
    try:
        cluster.start("-c hot_standby=off")
        yield
    finally:
        cluster.stop()
        standby_signal.unlink(missing_ok=True)
        cluster.start()


def assert_logged_as_unavailable(caplog: pytest.LogCaptureFixture, cause: str) -> None:
    """One WARNING line naming the cause, without a traceback; nothing logged as an error."""
    warnings = [record for record in caplog.records if record.getMessage().startswith("backend unavailable")]
    assert warnings, caplog.text
    assert all(record.levelname == "WARNING" and record.exc_info is None for record in warnings)
    assert any(cause in record.getMessage() for record in warnings), caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


async def test_a_server_still_starting_up_answers_503_on_every_route_and_in_the_auth_middleware(
    cluster: ThrowawayCluster, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_client(database_url) as client:
        user = await sign_up_and_log_in(client)
    with not_accepting_connections(cluster):
        # What the driver raises while the pool connects: asyncpg's CannotConnectNowError, which
        # SQLAlchemy wraps in a DBAPIError that is not an OperationalError.
        failure = await connection_failure(database_url)
        assert isinstance(innermost(failure), asyncpg.CannotConnectNowError), repr(failure)
        assert is_connection_failure(failure)
        with caplog.at_level(logging.WARNING):
            async with app_client(database_url) as client:
                login = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
                # A valid token: the auth middleware's session lookup is the first to need the database.
                listed = await client.get("/api/contacts", headers=user.headers)
                created = await client.post("/api/contacts", headers=user.headers, json=contact_body())
                health = await client.get("/health")
    for response in (login, listed, created):
        assert_503_with_retry_after(response)
    assert health.status_code == 503
    assert_logged_as_unavailable(caplog, "CannotConnectNowError")


async def test_a_role_out_of_connection_slots_gets_503s_not_500s(
    cluster: ThrowawayCluster, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    role = f"limited_{uuid.uuid4().hex[:8]}"
    await superuser_execute(cluster, f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    limited_url = make_url(database_url).set(username=role).render_as_string(hide_password=False)
    failure = await connection_failure(limited_url)
    assert isinstance(innermost(failure), asyncpg.TooManyConnectionsError), repr(failure)  # SQLSTATE 53300
    assert is_connection_failure(failure)
    with caplog.at_level(logging.WARNING):
        async with app_client(limited_url) as client:
            login = await client.post("/api/auth/login", json={"email": "a@example.com", "password": PASSWORD})
            health = await client.get("/health")
    assert_503_with_retry_after(login)
    assert health.status_code == 503
    assert_logged_as_unavailable(caplog, "TooManyConnectionsError")


@asynccontextmanager
async def contacts_locked(cluster: ThrowawayCluster, database_url: str) -> AsyncIterator[asyncpg.Connection]:
    """Hold an exclusive lock on the contacts table, so that the app's statements wait on it."""
    database = make_url(database_url).database
    blocker = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, database=database)
    try:
        transaction = blocker.transaction()
        await transaction.start()
        await blocker.execute("LOCK TABLE contacts IN ACCESS EXCLUSIVE MODE")
        yield blocker
    finally:
        blocker.terminate()  # the server rolls the transaction back; also fine if its backend is gone


async def backend_waiting_on_a_lock(cluster: ThrowawayCluster, database_url: str) -> int:
    """The pid of the app's backend once its statement waits on the lock."""
    database = make_url(database_url).database
    observer = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=SUPERUSER, database="postgres")
    try:
        for _ in range(100):
            pid = await observer.fetchval(
                "SELECT pid FROM pg_stat_activity WHERE datname = $1 AND wait_event_type = 'Lock'", database
            )
            if pid is not None:
                return int(pid)
            await asyncio.sleep(0.05)
    finally:
        await observer.close()
    raise AssertionError("the app's statement never waited on the lock")


@contextmanager
def in_another_thread(work: Coroutine[Any, Any, None]) -> Iterator[None]:
    """Run `work` on an event loop of its own, alongside the body: the test client blocks this
    thread's loop while it waits for the app's answer, so nothing else would run meanwhile."""
    with ThreadPoolExecutor(max_workers=1) as executor:
        done = executor.submit(asyncio.run, work)
        yield
        done.result(timeout=30)


async def terminate_once_waiting(cluster: ThrowawayCluster, database_url: str) -> None:
    waiting = await backend_waiting_on_a_lock(cluster, database_url)
    # What a fast shutdown does to every session: SQLSTATE 57P01, admin_shutdown.
    await superuser_execute(cluster, f"SELECT pg_terminate_backend({waiting})")


async def crash_once_waiting(cluster: ThrowawayCluster, database_url: str, backend_pid: int) -> None:
    await backend_waiting_on_a_lock(cluster, database_url)
    # A backend dying abruptly makes the server end every other session (crash_shutdown, 57P02,
    # which PostgreSQL sends as a warning before it closes the socket, so asyncpg reports the
    # connection lost mid-statement, 08003) and recover before it accepts connections again
    # (cannot_connect_now, 57P03).
    os.kill(backend_pid, signal.SIGKILL)


async def test_a_backend_terminated_mid_statement_answers_503_and_the_next_request_succeeds(
    cluster: ThrowawayCluster, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_client(database_url) as client:
        user = await sign_up_and_log_in(client)
        async with contacts_locked(cluster, database_url):
            with caplog.at_level(logging.WARNING), in_another_thread(terminate_once_waiting(cluster, database_url)):
                terminated = await client.get("/api/contacts", headers=user.headers)
        assert_503_with_retry_after(terminated)
        assert_logged_as_unavailable(caplog, "AdminShutdownError [57P01]")
        assert (await client.get("/api/contacts", headers=user.headers)).status_code == 200


async def test_a_crashed_backend_costs_503s_until_recovery_then_service_resumes(
    cluster: ThrowawayCluster, database_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    async with app_client(database_url) as client:
        user = await sign_up_and_log_in(client)
        async with contacts_locked(cluster, database_url) as blocker:
            crash = crash_once_waiting(cluster, database_url, blocker.get_server_pid())
            with caplog.at_level(logging.WARNING):
                with in_another_thread(crash):
                    crashed = await client.get("/api/contacts", headers=user.headers)
                answers = []
                deadline = time.monotonic() + 20
                while time.monotonic() < deadline:
                    answers.append(await client.get("/api/contacts", headers=user.headers))
                    if answers[-1].status_code != 503:
                        break
                    await asyncio.sleep(0.1)
    assert_503_with_retry_after(crashed)
    for answer in answers[:-1]:
        assert_503_with_retry_after(answer)
    assert answers[-1].status_code == 200, answers[-1].text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR], caplog.text


async def raw_driver_failure(
    cluster: ThrowawayCluster, database: str, user: str = SUPERUSER, statement: str = "SELECT 1"
) -> Exception:
    """What asyncpg itself raises, unwrapped, connecting as `user` and running `statement`."""
    try:
        connection = await asyncpg.connect(host="127.0.0.1", port=cluster.port, user=user, database=database)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()
    except Exception as exc:  # whatever the driver raised, to look at
        return exc
    raise AssertionError("the statement succeeded")


async def test_the_drivers_unwrapped_exceptions_answer_503_when_the_database_is_unavailable_and_500_otherwise(
    cluster: ThrowawayCluster, database_url: str
) -> None:
    # asyncpg's exceptions can reach the handlers without SQLAlchemy's wrapping (SQLAlchemy's
    # connect hooks query each new connection); these are real ones, raised by the driver.
    database = str(make_url(database_url).database)
    role = f"limited_{uuid.uuid4().hex[:8]}"
    await superuser_execute(cluster, f"CREATE ROLE {role} LOGIN CONNECTION LIMIT 0")
    failures: dict[str, Exception] = {
        "out-of-slots": await raw_driver_failure(cluster, database, user=role),
        "bad-statement": await raw_driver_failure(cluster, database, statement="SELECT * FROM no_such_table"),
    }
    with not_accepting_connections(cluster):
        failures["starting-up"] = await raw_driver_failure(cluster, database)
    assert isinstance(failures["out-of-slots"], asyncpg.TooManyConnectionsError)
    assert isinstance(failures["bad-statement"], asyncpg.UndefinedTableError)
    assert isinstance(failures["starting-up"], asyncpg.CannotConnectNowError)

    @get("/fail/{name:str}", sync_to_thread=False)
    def fail(name: str) -> None:
        raise failures[name]

    async with AsyncTestClient(app=Litestar([fail], exception_handlers=exception_handlers)) as client:
        assert_503_with_retry_after(await client.get("/fail/out-of-slots"))
        assert_503_with_retry_after(await client.get("/fail/starting-up"))
        bad_statement = await client.get("/fail/bad-statement")
    assert bad_statement.status_code == 500
    assert bad_statement.json() == {"status_code": 500, "detail": "Internal server error"}
    assert not is_connection_failure(failures["bad-statement"])


@pytest.fixture
def sqlite_file(tmp_path: Path) -> Path:
    path = tmp_path / "contacts.db"
    upgrade_database(f"sqlite+aiosqlite:///{path}")
    return path


async def test_a_locked_sqlite_database_answers_503_not_500(
    sqlite_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # aiosqlite's `timeout` is the statement timeout: how long a writer waits for SQLite's file lock.
    app = create_app(make_settings(f"sqlite+aiosqlite:///{sqlite_file}", db_statement_timeout_ms=200))
    async with AsyncTestClient(app=app) as client:
        writer = sqlite3.connect(sqlite_file)
        try:
            writer.execute("BEGIN EXCLUSIVE")  # as another process writing would
            with caplog.at_level(logging.WARNING):
                signup = await client.post("/api/auth/signup", json={"email": "a@example.com", "password": PASSWORD})
        finally:
            writer.close()
        assert_503_with_retry_after(signup)
        assert_logged_as_unavailable(caplog, "database is locked")
        retried = await client.post("/api/auth/signup", json={"email": "a@example.com", "password": PASSWORD})
        assert retried.status_code == 201, retried.text
