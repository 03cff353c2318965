"""Measure contacts-api's throughput and latency against a real server process.

    uv run python benchmarks/bench.py                       # a temporary SQLite file
    uv run python benchmarks/bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench

The PostgreSQL database must exist and be migrated (`contacts-api db upgrade`). Every loop is
bounded by --requests; the server is stopped at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable

import httpx

PASSWORD = "benchmark passphrase 2026"  # noqa: S105 (a throwaway benchmark account)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def wait_for(base_url: str, process: subprocess.Popen[bytes]) -> None:
    async with httpx.AsyncClient() as http:
        for _ in range(150):
            if process.poll() is not None:
                raise SystemExit("the server exited before answering")
            try:
                if (await http.get(f"{base_url}/health")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            await asyncio.sleep(0.2)
    raise SystemExit("the server did not become healthy")


async def measure(
    name: str, total: int, concurrency: int, call: Callable[[int], Awaitable[httpx.Response]], expected: int
) -> None:
    latencies: list[float] = []
    failures = 0
    queue = iter(range(total))

    async def worker() -> None:
        nonlocal failures
        for index in queue:
            started = time.perf_counter()
            response = await call(index)
            latencies.append(time.perf_counter() - started)
            failures += response.status_code != expected

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    quantiles = statistics.quantiles(latencies, n=100)
    print(
        f"{name:<22} {total / elapsed:>8.1f} req/s   p50 {quantiles[49] * 1000:>7.1f} ms   "
        f"p95 {quantiles[94] * 1000:>7.1f} ms   failures {failures}"
    )


async def run(base_url: str, requests: int, concurrency: int) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=30) as http:
        email = f"bench-{uuid.uuid4().hex[:8]}@example.com"
        await http.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        tokens = (await http.post("/api/auth/login", json={"email": email, "password": PASSWORD})).json()
        auth = {"Authorization": f"Bearer {tokens['access_token']}"}

        def contact(index: int) -> dict[str, str]:
            return {
                "first_name": f"First{index}",
                "last_name": f"Last{index % 97}",
                "email": f"c{index}-{uuid.uuid4().hex[:6]}@example.com",
                "phone": "+1 555 010 0200",
                "birthday": f"19{50 + index % 50}-{1 + index % 12:02d}-{1 + index % 28:02d}",
            }

        print(f"{requests} requests per operation, {concurrency} at a time, against {base_url}")
        await measure(
            "create contact",
            requests,
            concurrency,
            lambda i: http.post("/api/contacts", json=contact(i), headers=auth),
            201,
        )
        await measure(
            "list (page of 20)",
            requests,
            concurrency,
            lambda i: http.get("/api/contacts", params={"offset": i % 50}, headers=auth),
            200,
        )
        await measure(
            "search q=",
            requests,
            concurrency,
            lambda i: http.get("/api/contacts", params={"q": f"last{i % 97}"}, headers=auth),
            200,
        )
        await measure(
            "birthdays (30 days)",
            requests,
            concurrency,
            lambda i: http.get("/api/contacts/birthdays", params={"days": 30}, headers=auth),
            200,
        )
        await measure("me", requests, concurrency, lambda i: http.get("/api/users/me", headers=auth), 200)
        logins = max(10, requests // 10)  # argon2 at production cost: deliberately slow
        await measure(
            "login (argon2id)",
            logins,
            concurrency,
            lambda i: http.post("/api/auth/login", json={"email": email, "password": PASSWORD}),
            200,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default="")
    parser.add_argument("--requests", type=int, default=300)
    parser.add_argument("--concurrency", type=int, default=10)
    parser.add_argument("--workers", type=int, default=1)
    args = parser.parse_args()

    port = free_port()
    workdir = tempfile.mkdtemp(prefix="contacts-bench-")
    env = {**os.environ, "RATE_LIMIT_AUTH": "0", "RATE_LIMIT_LOGIN_FAILURES": "0", "LOG_LEVEL": "WARNING"}
    if args.database_url:
        env["DATABASE_URL"] = args.database_url
    command = [sys.executable, "-m", "contacts_api.cli", "serve", "--port", str(port), "--workers", str(args.workers)]
    server = subprocess.Popen(command, cwd=workdir, env=env)  # noqa: S603
    base_url = f"http://127.0.0.1:{port}"
    try:
        asyncio.run(wait_for(base_url, server))
        asyncio.run(run(base_url, args.requests, args.concurrency))
    finally:
        server.terminate()
        server.wait(timeout=20)


if __name__ == "__main__":
    main()
