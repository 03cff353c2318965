"""Import and export, measured against the running service (issue 14's targets).

- import: one `POST /api/contacts/import` of 10,000 generated vCard 3.0 cards into an empty book;
  the wall time of the request and contacts per second (target: an answer within 15 s);
- export: `GET /api/contacts/export` of the big book as vCard 4.0 and as CSV, read to the end;
  contacts per second (target: at least 10,000) and the server's peak memory growth while it
  streams (target: under 50 MB), the resident set of the server's whole process tree sampled
  every 20 ms from /proc (Linux).
"""

from __future__ import annotations

import os
import threading
import time
import uuid
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx
from rich.console import Console
from rich.table import Table

from benchmarks.errors import BenchmarkError

IMPORT_CONTACTS = 10_000
IMPORT_TARGET_SECONDS = 15.0
EXPORT_TARGET_PER_SECOND = 10_000
EXPORT_TARGET_GROWTH_MB = 50.0
SAMPLE_SECONDS = 0.02
PAGE_SIZE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


@dataclass(frozen=True)
class TransferMeasurement:
    key: str
    name: str
    contacts: int
    seconds: float
    contacts_per_second: float
    bytes: int
    peak_memory_growth_mb: float | None
    baseline_memory_mb: float | None  # the server tree's resident set when the run began
    target: str
    met: bool


def import_file(contacts: int) -> bytes:
    """`contacts` vCard 3.0 cards as a phone exports them: name, two emails, two phones, an
    address, an organization, a birthday, a note and a category each."""
    cards = []
    for n in range(contacts):
        cards.append(
            "BEGIN:VCARD\r\nVERSION:3.0\r\n"
            f"N:Person {n};Imported;;;\r\nFN:Imported Person {n}\r\n"
            f"EMAIL;TYPE=home:imported{n}@example.com\r\nEMAIL;TYPE=work:imported{n}@work.example.com\r\n"
            f"TEL;TYPE=cell:+1 555 01{n % 10000:04d}\r\n"
            f"TEL;TYPE=home:+44 20 7946 {n % 10000:04d}\r\n"
            "ADR;TYPE=home:;;1 Main Street;Springfield;IL;62701;USA\r\n"
            "ORG:Acme\r\nBDAY:1990-05-17\r\nNOTE:Imported for the benchmark\\, with a comma\r\n"
            "CATEGORIES:imported\r\nEND:VCARD\r\n"
        )
    return "".join(cards).encode()


def tree_rss_bytes(pid: int) -> int:
    """The resident set of `pid` and every descendant (Granian's workers), from /proc."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        try:
            total += int((Path("/proc") / str(current) / "statm").read_text().split()[1]) * PAGE_SIZE
        except OSError:
            continue
        stack.extend(children.get(current, []))
    return total


class PeakMemory:
    """Samples the server tree's resident set in a thread while a block runs."""

    def __init__(self, pid: int) -> None:
        self.pid = pid
        self.baseline = tree_rss_bytes(pid)
        self.peak = self.baseline
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(SAMPLE_SECONDS):
            self.peak = max(self.peak, tree_rss_bytes(self.pid))

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth_mb(self) -> float:
        return (self.peak - self.baseline) / 1_000_000


def sign_up(base_url: str, password: str) -> dict[str, str]:
    email = f"import-{uuid.uuid4().hex[:10]}@example.com"
    with httpx.Client(base_url=base_url, timeout=30) as client:
        signup = client.post("/api/auth/signup", json={"email": email, "password": password})
        login = client.post("/api/auth/login", json={"email": email, "password": password})
    if signup.status_code != 201 or login.status_code != 200:
        raise BenchmarkError(f"could not sign up the importing user: {signup.status_code} {login.status_code}")
    return {"Authorization": f"Bearer {login.json()['access_token']}"}


def measure_import(base_url: str, password: str) -> TransferMeasurement:
    headers = sign_up(base_url, password)
    body = import_file(IMPORT_CONTACTS)
    started = time.perf_counter()
    response = httpx.post(
        f"{base_url}/api/contacts/import",
        content=body,
        headers={**headers, "Content-Type": "text/vcard"},
        timeout=300,
    )
    seconds = time.perf_counter() - started
    if response.status_code != 200 or response.json()["created"] != IMPORT_CONTACTS:
        raise BenchmarkError(f"the import answered {response.status_code}: {response.text[:300]}")
    return TransferMeasurement(
        key="import_vcard",
        name=f"import {IMPORT_CONTACTS:,} vCards",
        contacts=IMPORT_CONTACTS,
        seconds=round(seconds, 3),
        contacts_per_second=round(IMPORT_CONTACTS / seconds),
        bytes=len(body),
        peak_memory_growth_mb=None,
        baseline_memory_mb=None,
        target=f"answer within {IMPORT_TARGET_SECONDS:.0f} s",
        met=seconds <= IMPORT_TARGET_SECONDS,
    )


def measure_export(base_url: str, token: str, server_pid: int, file_format: str, contacts: int) -> TransferMeasurement:
    received = 0
    with PeakMemory(server_pid) as memory:
        started = time.perf_counter()
        with httpx.stream(
            "GET",
            f"{base_url}/api/contacts/export",
            params={"format": file_format},
            headers={"Authorization": f"Bearer {token}"},
            timeout=600,
        ) as response:
            if response.status_code != 200:
                raise BenchmarkError(f"the export answered {response.status_code}")
            for chunk in response.iter_raw():
                received += len(chunk)
        seconds = time.perf_counter() - started
    rate = contacts / seconds
    return TransferMeasurement(
        key=f"export_{file_format}",
        name=f"export {contacts:,} contacts as {'vCard 4.0' if file_format == 'vcard' else 'CSV'}",
        contacts=contacts,
        seconds=round(seconds, 3),
        contacts_per_second=round(rate),
        bytes=received,
        peak_memory_growth_mb=round(memory.growth_mb, 1),
        baseline_memory_mb=round(memory.baseline / 1_000_000, 1),
        target=f"≥ {EXPORT_TARGET_PER_SECOND:,}/s, < {EXPORT_TARGET_GROWTH_MB:.0f} MB",
        met=rate >= EXPORT_TARGET_PER_SECOND and memory.growth_mb < EXPORT_TARGET_GROWTH_MB,
    )


def print_transfers(console: Console, measurements: list[TransferMeasurement]) -> None:
    table = Table(title="Import and export")
    for column in ("run", "contacts", "seconds", "contacts/s", "MB sent", "peak memory growth", "target", "met"):
        table.add_column(column)
    for m in measurements:
        growth = (
            ""
            if m.peak_memory_growth_mb is None
            else f"{m.peak_memory_growth_mb:.1f} MB (from {m.baseline_memory_mb:.0f} MB)"
        )
        table.add_row(
            m.name, f"{m.contacts:,}", f"{m.seconds:.2f}", f"{m.contacts_per_second:,.0f}",
            f"{m.bytes / 1e6:.1f}", growth, m.target, "yes" if m.met else "NO",
        )  # fmt: skip
    console.print(table)


def as_json(measurements: list[TransferMeasurement]) -> list[dict[str, Any]]:
    return [asdict(m) for m in measurements]
