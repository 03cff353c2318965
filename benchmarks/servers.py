"""Server processes under test: the ceilings and the service, each started the same way."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx
import msgspec

from benchmarks.errors import BenchmarkError
from contacts_api.config import Settings

HOST = "127.0.0.1"
PROJECT_ROOT = Path(__file__).resolve().parents[1]
STARTUP_TIMEOUT_SECONDS = 30.0
POLL_INTERVAL_SECONDS = 0.1
STOP_TIMEOUT_SECONDS = 20.0
LOG_TAIL_CHARACTERS = 2000


@dataclass(frozen=True)
class ServerSpec:
    """A command that takes --host, --port and --workers, and the environment it runs in."""

    name: str
    command: list[str]
    env: dict[str, str]
    workers: int

    def argv(self, port: int) -> list[str]:
        return [*self.command, "--host", HOST, "--port", str(port), "--workers", str(self.workers)]


def clean_environment() -> dict[str, str]:
    """This process's environment minus every contacts-api setting the developer's shell may hold."""
    setting_names = {field.encode_name for field in msgspec.structs.fields(Settings)}
    return {
        key: value for key, value in os.environ.items() if key not in setting_names and not key.startswith("BENCH_")
    }


def service_spec(
    *, database_url: str, jwt_secret: str, workers: int, checkout: Path | None = None, name: str = "the service"
) -> ServerSpec:
    """The service as `contacts-api serve` runs it; from another checkout's own virtual environment
    (`uv sync` done there) when `checkout` is given, for a side-by-side comparison."""
    env = clean_environment() | {
        "DATABASE_URL": database_url,
        "JWT_SECRET": jwt_secret,
        # As in production: JSON logs with one access line per request (into the server's log file).
        "ENVIRONMENT": "production",
        # A login flood from one address would otherwise be answered 429 after 30 requests.
        "RATE_LIMIT_AUTH": "0",
        "RATE_LIMIT_LOGIN_FAILURES": "0",
    }
    python = sys.executable if checkout is None else str(checkout / ".venv" / "bin" / "python")
    return ServerSpec(name, [python, "-m", "contacts_api.cli", "serve"], env, workers)


def ceiling_spec(ceiling: str, *, workers: int, extra_env: dict[str, str] | None = None) -> ServerSpec:
    # The servers run from a scratch directory; the worker processes must still import benchmarks.
    python_path = os.pathsep.join(filter(None, [str(PROJECT_ROOT), os.environ.get("PYTHONPATH", "")]))
    env = clean_environment() | {"PYTHONPATH": python_path} | (extra_env or {})
    return ServerSpec(f"the {ceiling} ceiling", [sys.executable, "-m", "benchmarks.ceilings", ceiling], env, workers)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def log_tail(path: Path) -> str:
    text = path.read_text(errors="replace") if path.exists() else ""
    return text[-LOG_TAIL_CHARACTERS:].strip() or "(no output)"


def wait_until_healthy(spec: ServerSpec, base_url: str, process: subprocess.Popen[bytes], log_path: Path) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    last_answer = "no answer"
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise BenchmarkError(
                f"{spec.name} exited with status {process.returncode} before answering GET /health:\n"
                f"{log_tail(log_path)}"
            )
        try:
            response = httpx.get(f"{base_url}/health", timeout=2)
        except httpx.TransportError as exc:
            last_answer = type(exc).__name__
        else:
            if response.status_code == 200:
                return
            last_answer = f"{response.status_code} {response.text[:200]}"
        time.sleep(POLL_INTERVAL_SECONDS)
    raise BenchmarkError(
        f"{spec.name} did not answer GET /health with 200 within {STARTUP_TIMEOUT_SECONDS:.0f} s "
        f"(last: {last_answer}):\n{log_tail(log_path)}"
    )


def stop(process: subprocess.Popen[bytes]) -> None:
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=STOP_TIMEOUT_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


@contextmanager
def running_server(spec: ServerSpec, workdir: Path) -> Iterator[str]:
    """Start the server in `workdir` (so no stray .env is read), yield its base URL once healthy,
    and stop it however the block ends. Its output goes to a log file quoted on failure."""
    with running_server_process(spec, workdir) as (base_url, _):
        yield base_url


@contextmanager
def running_server_process(spec: ServerSpec, workdir: Path) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """running_server, also yielding the server's process (whose tree a memory probe reads)."""
    port = free_port()
    log_path = workdir / f"{spec.name.replace(' ', '-')}.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 (our own interpreter and arguments)
            spec.argv(port), cwd=workdir, env=spec.env, stdout=log, stderr=subprocess.STDOUT
        )
        try:
            base_url = f"http://{HOST}:{port}"
            wait_until_healthy(spec, base_url, process, log_path)
            yield base_url, process
        finally:
            stop(process)
