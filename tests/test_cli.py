"""The `contacts-api` command, run as users run it."""

from __future__ import annotations

import asyncio
import datetime
import os
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from alembic.script import ScriptDirectory
from click.testing import CliRunner
from sqlalchemy import make_url

from contacts_api.cli import main
from contacts_api.db import alembic_config
from tests.conftest import TEST_JWT_SECRET, admin_execute, query_scalar
from tests.live_server import CLI, free_port, live_server, server_env


@pytest.fixture
def fresh_postgresql_url(postgresql_url: str) -> Iterator[str]:
    name = f"contacts_cli_{uuid.uuid4().hex[:8]}"
    admin_url = make_url(postgresql_url).set(database="postgres").render_as_string(hide_password=False)
    asyncio.run(admin_execute(admin_url, f'CREATE DATABASE "{name}"'))
    yield make_url(postgresql_url).set(database=name).render_as_string(hide_password=False)
    asyncio.run(admin_execute(admin_url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


def serve_and_check(cwd: Path, env: dict[str, str]) -> None:
    with live_server(cwd, env) as base_url:
        health = httpx.get(f"{base_url}/health", timeout=5)
        assert health.status_code == 200
        assert health.json() == {"status": "ok", "database": "ok"}
        assert httpx.get(f"{base_url}/schema/swagger", timeout=5).status_code == 200
        assert httpx.get(f"{base_url}/schema/openapi.json", timeout=5).status_code == 200
        signup = httpx.post(
            f"{base_url}/api/auth/signup", json={"email": "cli@example.com", "password": "a fine long passphrase"}
        )
        assert signup.status_code == 201
        unknown_method = httpx.request("FOO", f"{base_url}/api/contacts")  # through the real HTTP server
        assert (unknown_method.status_code, unknown_method.json()["status_code"]) == (405, 405)


def test_help_lists_every_command() -> None:
    result = CliRunner().invoke(main, ["--help"])
    assert result.exit_code == 0
    for command in ("serve", "db", "users", "seed", "sessions", "mail"):
        assert command in result.output
    db_help = CliRunner().invoke(main, ["db", "--help"]).output
    for command in ("upgrade", "downgrade", "revision"):
        assert command in db_help


def test_serve_in_an_empty_folder_uses_a_migrated_sqlite_file(tmp_path: Path) -> None:
    serve_and_check(tmp_path, server_env())
    assert (tmp_path / "contacts.db").is_file()


def test_db_upgrade_then_serve_on_a_new_postgresql_database(tmp_path: Path, fresh_postgresql_url: str) -> None:
    env = server_env(DATABASE_URL=fresh_postgresql_url, JWT_SECRET=TEST_JWT_SECRET)
    for _ in range(2):  # running it twice is harmless
        result = subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
        assert result.returncode == 0, result.stderr.decode()
    serve_and_check(tmp_path, env)


def test_db_downgrade_goes_back_one_step(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'down.db'}"
    env = server_env(DATABASE_URL=url)
    subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=tmp_path, check=True, capture_output=True)  # noqa: S603
    result = subprocess.run([*CLI, "db", "downgrade"], env=env, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr.decode()
    head = ScriptDirectory.from_config(alembic_config(url)).get_revision("head")
    assert asyncio.run(query_scalar(url, "SELECT version_num FROM alembic_version")) == head.down_revision


def test_a_bad_setting_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    env = server_env(ACCESS_TOKEN_TTL_SECONDS="soon")
    result = subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
    assert result.returncode == 1
    errors = result.stderr.decode().strip().splitlines()
    assert errors == ["Error: invalid setting ACCESS_TOKEN_TTL_SECONDS: Expected `int`, got `str`"]


def test_an_unreachable_database_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    env = server_env(DATABASE_URL="postgresql+asyncpg://postgres@127.0.0.1:9/none")
    result = subprocess.run([*CLI, "db", "upgrade"], env=env, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
    assert result.returncode == 1
    assert "Traceback" not in result.stderr.decode()
    assert result.stderr.decode().startswith("Error: database error")


async def test_sessions_purge_deletes_only_long_ended_sessions(tmp_path: Path) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'purge.db'}"
    from contacts_api.db import upgrade_database

    await asyncio.to_thread(upgrade_database, url)
    from sqlalchemy import text
    from sqlalchemy.ext.asyncio import create_async_engine

    engine = create_async_engine(url)
    now = datetime.datetime.now(datetime.UTC)
    long_ago, recently, later = (
        now - datetime.timedelta(days=90),
        now - datetime.timedelta(days=1),
        now + datetime.timedelta(days=5),
    )
    async with engine.begin() as connection:
        await connection.execute(
            text(
                "INSERT INTO users (id, email, password_hash, created_at, updated_at) "
                "VALUES (:id, 'p@example.com', 'x', :t, :t)"
            ),
            {"id": uuid.uuid4().hex, "t": now},
        )
        user_id = (await connection.execute(text("SELECT id FROM users"))).scalar()
        rows = [
            ("revoked long ago", long_ago, later, long_ago),
            ("expired long ago", long_ago, long_ago, None),
            ("revoked recently", recently, later, recently),
            ("alive", later, later, None),
        ]
        for _label, idle, absolute, revoked in rows:
            await connection.execute(
                text(
                    "INSERT INTO sessions (id, user_id, refresh_jti, last_refreshed_at, last_used_at, idle_expires_at, "
                    "absolute_expires_at, revoked_at, created_at, updated_at) "
                    "VALUES (:id, :user_id, :jti, :now, :now, :idle, :absolute, :revoked, :now, :now)"
                ),
                {
                    "id": uuid.uuid4().hex,
                    "user_id": user_id,
                    "jti": uuid.uuid4().hex,
                    "now": now,
                    "idle": idle,
                    "absolute": absolute,
                    "revoked": revoked,
                },
            )
    await engine.dispose()
    result = await asyncio.to_thread(
        subprocess.run,
        [*CLI, "sessions", "purge"],
        env=server_env(DATABASE_URL=url),
        cwd=tmp_path,
        capture_output=True,
        check=False,
    )
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().strip() == "deleted 2 ended session(s)"
    assert await query_scalar(url, "SELECT count(*) FROM sessions") == 2


def test_users_create_prompts_for_the_password_and_stores_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'users.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    result = CliRunner().invoke(
        main, ["users", "create", "--email", " Ada@Example.com "], input="a fine long passphrase\n" * 2
    )
    assert result.exit_code == 0, result.output
    assert "created user ada@example.com" in result.output
    assert "a fine long passphrase" not in result.output  # not echoed
    stored = asyncio.run(query_scalar(url, "SELECT password_hash FROM users WHERE email = 'ada@example.com'"))
    assert stored.startswith("$argon2id$")


def test_users_create_refuses_a_taken_email_and_a_weak_password_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'users.db'}")
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    args = ["users", "create", "--email", "ada@example.com", "--password", "a fine long passphrase"]
    assert CliRunner().invoke(main, args).exit_code == 0
    taken = CliRunner().invoke(main, args)
    assert (taken.exit_code, taken.output.strip()) == (1, "Error: An account with this email already exists")
    weak = CliRunner().invoke(main, ["users", "create", "--email", "b@example.com", "--password", "password"])
    assert weak.exit_code == 1
    assert "common" in weak.output
    assert len(weak.output.strip().splitlines()) == 1


def test_seed_creates_users_with_contacts(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    result = CliRunner().invoke(main, ["seed", "--users", "3", "--contacts", "7"])
    assert result.exit_code == 0, result.output
    assert asyncio.run(query_scalar(url, "SELECT count(*) FROM users")) == 3
    assert asyncio.run(query_scalar(url, "SELECT count(*) FROM contacts")) == 21


def test_db_revision_autogenerate_writes_an_empty_migration_when_models_match(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import shutil

    from contacts_api import db

    migrations = tmp_path / "migrations"
    shutil.copytree(db.MIGRATIONS_DIR, migrations, ignore=shutil.ignore_patterns("__pycache__"))
    monkeypatch.setattr(db, "MIGRATIONS_DIR", migrations)
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'rev.db'}")
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    result = CliRunner().invoke(main, ["db", "revision", "--autogenerate", "-m", "nothing changed"])
    assert result.exit_code == 0, result.output
    [new] = [path for path in (migrations / "versions").glob("*.py") if "nothing_changed" in path.name]
    text = new.read_text()
    assert "def upgrade() -> None:\n    pass" in text.replace(
        "# ### commands auto generated by Alembic - please adjust! ###\n    ", ""
    )


def test_seed_can_run_again(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'seed.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    for _ in range(2):
        assert CliRunner().invoke(main, ["seed", "--users", "2", "--contacts", "1"]).exit_code == 0
    assert asyncio.run(query_scalar(url, "SELECT count(*) FROM users")) == 4


def test_serve_logs_json_lines_in_production_format(tmp_path: Path) -> None:
    import json
    import subprocess

    from tests.live_server import free_port

    port = free_port()
    env = server_env(LOG_FORMAT="json", JWT_SECRET=TEST_JWT_SECRET)
    process = subprocess.Popen(  # noqa: S603
        [*CLI, "serve", "--port", str(port)], cwd=tmp_path, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    try:
        for _ in range(150):
            try:
                response = httpx.get(f"http://127.0.0.1:{port}/health?secret=1", timeout=2)
                break
            except httpx.TransportError:
                time.sleep(0.2)
    finally:
        process.terminate()
        output = process.communicate(timeout=20)[0].decode()
    records = [json.loads(line) for line in output.splitlines() if line.strip()]  # every line is JSON
    [access] = [r for r in records if r.get("logger") == "contacts_api.access"]
    assert access["request_id"] == response.headers["x-request-id"]
    assert (access["method"], access["path"], access["status"]) == ("GET", "/health", 200)
    assert "secret" not in json.dumps(records)


def test_the_served_app_runs_with_a_tuned_garbage_collector(tmp_path: Path) -> None:
    # In a process of its own: freezing the collector would change this test process.
    script = (
        "import gc, os, sys\n"
        "from contacts_api.server import APP_FACTORY_VARIABLE, build_served_app\n"
        "os.environ[APP_FACTORY_VARIABLE] = 'contacts_api.app:create_app'\n"
        "app = build_served_app()\n"
        "print(type(app.app).__name__, gc.get_threshold()[0], gc.get_freeze_count() > 1000)\n"
    )
    env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'gc.db'}")
    result = subprocess.run([sys.executable, "-c", script], env=env, cwd=tmp_path, capture_output=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stderr.decode()
    assert result.stdout.decode().split() == ["Litestar", "5000", "True"]


def test_serve_counts_rate_limits_per_client_address_given_by_a_trusted_proxy(tmp_path: Path) -> None:
    # The test client connects from 127.0.0.1, a trusted proxy by default: X-Forwarded-For names
    # the client, and each client has its own limit.
    env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'proxy.db'}", RATE_LIMIT_AUTH="2")
    body = {"email": "nobody@example.com", "password": "not the password"}
    with live_server(tmp_path, env) as base_url:

        def log_in_from(client_address: str) -> int:
            headers = {"X-Forwarded-For": client_address}
            return httpx.post(f"{base_url}/api/auth/login", json=body, headers=headers, timeout=10).status_code

        assert [log_in_from("203.0.113.7") for _ in range(3)] == [401, 401, 429]
        assert log_in_from("198.51.100.4") == 401


def serve_beside_a_listener(tmp_path: Path, address: str) -> tuple[int, subprocess.CompletedProcess[bytes]]:
    """`serve` on 127.0.0.1 and the port of a socket listening on `address`."""
    with socket.socket() as taken:
        taken.bind((address, 0))
        taken.listen()
        port = int(taken.getsockname()[1])
        env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'port.db'}")
        result = subprocess.run(  # noqa: S603
            [*CLI, "serve", "--port", str(port)], env=env, cwd=tmp_path, capture_output=True, check=False, timeout=30
        )
    return port, result


def test_serve_on_a_taken_port_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    port, result = serve_beside_a_listener(tmp_path, "127.0.0.1")
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines()[-1] == f"Error: 127.0.0.1:{port} is already in use"


def test_serve_on_a_port_a_wildcard_address_listens_on_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    port, result = serve_beside_a_listener(tmp_path, "0.0.0.0")  # noqa: S104 - every interface, 127.0.0.1 among them
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines()[-1] == f"Error: 127.0.0.1:{port} is already in use"


def test_serve_on_the_port_of_a_running_server_is_one_line_and_exit_code_1(tmp_path: Path) -> None:
    # The server listens with SO_REUSEPORT: without the check, a second one would share its port.
    env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'port.db'}")
    with live_server(tmp_path, env) as base_url:
        port = base_url.rsplit(":", 1)[1]
        result = subprocess.run(  # noqa: S603
            [*CLI, "serve", "--port", port], env=env, cwd=tmp_path, capture_output=True, check=False, timeout=30
        )
    assert result.returncode == 1
    assert result.stderr.decode().strip().splitlines()[-1] == f"Error: 127.0.0.1:{port} is already in use"


def test_serve_starts_again_at_once_on_the_port_it_just_closed_connections_on(tmp_path: Path) -> None:
    env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'restart.db'}")
    port = free_port()
    with live_server(tmp_path, env, port=port):
        for _ in range(20):
            assert get_health_over_http_1_0(port).startswith(b"HTTP/1.0 200 ")
    assert connections_in_time_wait(port) > 0  # what a restart under traffic leaves behind
    with live_server(tmp_path, env, port=port) as base_url:
        health = httpx.get(f"{base_url}/health", timeout=5)
        assert (health.status_code, health.json()) == (200, {"status": "ok", "database": "ok"})


def get_health_over_http_1_0(port: int) -> bytes:
    """The whole answer to GET /health on a connection of its own. HTTP/1.0 without keep-alive:
    the server closes the connection first, so its end of it stays in TIME_WAIT."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        connection.sendall(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    return answer


def connections_in_time_wait(port: int) -> int:
    """How many TCP connections with `port` as their local end are in TIME_WAIT (Linux's tables)."""
    time_wait = "06"
    count = 0
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for row in Path(table).read_text().splitlines()[1:]:
            local_address, state = row.split()[1], row.split()[3]
            count += int(local_address.rsplit(":", 1)[1], 16) == port and state == time_wait
    return count


def test_serve_replaces_a_worker_that_dies(tmp_path: Path) -> None:
    env = server_env(DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path / 'respawn.db'}")
    with live_server(tmp_path, env) as base_url:
        worker = worker_serving(base_url)
        os.kill(worker, signal.SIGKILL)
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base_url}/health", timeout=2).status_code == 200 and worker_serving(base_url) != worker:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        pytest.fail("no worker answered again after one was killed")


def worker_serving(base_url: str) -> int:
    """The process id of the worker that holds the server's port (the one answering requests)."""
    port = base_url.rsplit(":", 1)[1]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        command = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        if b"serve" in command and port.encode() in command and has_child_parent(int(pid)):
            return int(pid)
    raise AssertionError("no worker process found")


def has_child_parent(pid: int) -> bool:
    """Whether the process was started by another `serve` process, as Granian's workers are."""
    parent = int(Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[1])
    return b"serve" in Path(f"/proc/{parent}/cmdline").read_bytes()
