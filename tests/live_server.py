"""`contacts-api serve` in a child process, for the tests that need a real server and port."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import httpx

CLI = [sys.executable, "-m", "contacts_api.cli"]
# Settings a test server must not inherit from the developer's shell.
INHERITED_SETTINGS_DROPPED = {"DATABASE_URL", "JWT_SECRET", "ENVIRONMENT", "REDIS_URL"}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def server_env(**settings: str) -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if key not in INHERITED_SETTINGS_DROPPED}
    env.update(settings)
    return env


@contextmanager
def live_server(
    cwd: Path, env: dict[str, str], *, command: Sequence[str | Path] = CLI, timeout: float = 30, port: int | None = None
) -> Iterator[str]:
    """Start `command serve` (on `port`, or a free one), wait until /health answers, yield its base
    URL, stop it."""
    port = port or free_port()
    process = subprocess.Popen(  # noqa: S603
        [*command, "serve", "--port", str(port)], cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT
    )
    base_url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while True:
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise AssertionError(f"the server exited early:\n{output}")
            try:
                httpx.get(f"{base_url}/health", timeout=2)
                break
            except httpx.TransportError:
                if time.monotonic() > deadline:
                    raise AssertionError("the server did not answer in time") from None
                time.sleep(0.2)
        yield base_url
    finally:
        process.terminate()
        process.wait(timeout=20)
