"""Running wrk with the scripts in lua/ and reading the one result line they print."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, field
from pathlib import Path

import msgspec

from benchmarks.errors import BenchmarkError

LUA_DIR = Path(__file__).resolve().parent / "lua"
RESULT_MARKER = "BENCH_RESULT "
# wrk's own per-request timeout: a slower answer is counted as a timeout error, not a latency.
REQUEST_TIMEOUT_SECONDS = 10
# How long past its --duration a wrk process may take before it is considered hung.
EXIT_GRACE_SECONDS = 30


class WrkError(BenchmarkError):
    """wrk failed, or its output does not hold a well-formed result line."""


class SocketErrors(msgspec.Struct, frozen=True):
    connect: int
    read: int
    write: int
    timeout: int

    @property
    def total(self) -> int:
        return self.connect + self.read + self.write + self.timeout


class WrkResult(msgspec.Struct, frozen=True):
    threads: int
    requests: int
    responses_counted: int
    duration_us: int
    requests_per_second: float
    latency_p50_us: int
    latency_p99_us: int
    non_2xx: int
    socket_errors: SocketErrors

    @property
    def errors(self) -> int:
        return self.non_2xx + self.socket_errors.total


def parse_wrk_output(stdout: str) -> WrkResult:
    lines = [line for line in stdout.splitlines() if line.startswith(RESULT_MARKER)]
    if not lines:
        raise WrkError("wrk printed no result line; did the Lua script load?")
    try:
        result = msgspec.json.decode(lines[-1].removeprefix(RESULT_MARKER), type=WrkResult)
    except msgspec.DecodeError as exc:
        raise WrkError(f"wrk's result line is malformed ({exc}): {lines[-1]!r}") from None
    # wrk calls response() once per completed request; a shortfall means a thread's counters
    # were not summed, and the status counts would be understated.
    if result.responses_counted != result.requests:
        raise WrkError(f"the Lua counters saw {result.responses_counted} responses but wrk completed {result.requests}")
    return result


def find_wrk() -> str:
    path = shutil.which("wrk")
    if path is None:
        raise BenchmarkError("wrk is not installed (apt-get install wrk)")
    return path


@dataclass(frozen=True)
class WrkLoad:
    """One wrk invocation: a script from lua/ against a URL, with its settings in `script_env`."""

    url: str
    script: str
    connections: int
    duration_seconds: int
    script_env: dict[str, str] = field(default_factory=dict)

    def command(self, wrk_path: str) -> list[str]:
        return [
            wrk_path,
            "-t1",
            f"-c{self.connections}",
            f"-d{self.duration_seconds}s",
            "--timeout",
            f"{REQUEST_TIMEOUT_SECONDS}s",
            "--latency",
            "-s",
            str(LUA_DIR / self.script),
            self.url,
        ]

    def env(self) -> dict[str, str]:
        inherited = {key: value for key, value in os.environ.items() if not key.startswith("BENCH_")}
        return {**inherited, **self.script_env}


def run_wrk(wrk_path: str, load: WrkLoad) -> WrkResult:
    try:
        completed = subprocess.run(  # noqa: S603 (a fixed executable and arguments we built)
            load.command(wrk_path),
            env=load.env(),
            capture_output=True,
            text=True,
            timeout=load.duration_seconds + EXIT_GRACE_SECONDS,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise WrkError(f"wrk did not finish within {load.duration_seconds + EXIT_GRACE_SECONDS} s") from None
    return _result_of(completed.returncode, completed.stdout, completed.stderr)


def start_wrk(wrk_path: str, load: WrkLoad) -> subprocess.Popen[str]:
    """Start wrk in the background, for load that runs alongside a measured run."""
    return subprocess.Popen(  # noqa: S603 (a fixed executable and arguments we built)
        load.command(wrk_path),
        env=load.env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def finish_wrk(process: subprocess.Popen[str], load: WrkLoad) -> WrkResult:
    try:
        stdout, stderr = process.communicate(timeout=load.duration_seconds + EXIT_GRACE_SECONDS)
    except subprocess.TimeoutExpired:
        process.kill()
        process.communicate()
        raise WrkError(f"background wrk did not finish within {load.duration_seconds + EXIT_GRACE_SECONDS} s") from None
    return _result_of(process.returncode, stdout, stderr)


def stop_wrk(process: subprocess.Popen[str]) -> None:
    """Stop a background wrk that is no longer wanted (another run failed)."""
    if process.poll() is None:
        process.kill()
    process.communicate()


def _result_of(returncode: int, stdout: str, stderr: str) -> WrkResult:
    if returncode != 0:
        raise WrkError(f"wrk exited with status {returncode}: {(stderr or stdout).strip()[-500:]}")
    try:
        return parse_wrk_output(stdout)
    except WrkError as exc:
        # A Lua error does not stop wrk: it reports it on stderr and runs without the script.
        raise WrkError(f"{exc}\nwrk's stderr: {stderr.strip()[-500:]}") from None
