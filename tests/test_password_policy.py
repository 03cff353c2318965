"""Passwords to the letter of OWASP ASVS 5.0 V6: long ones work whole, common ones are refused,
and a failed login takes as long for an unknown email as for a wrong password. Hashing runs in a few
low-priority threads."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import threading
import time

import pytest
from litestar.testing import AsyncTestClient

from contacts_api.accounts.passwords import (
    COMMON_PASSWORDS_CHECKED,
    LOWEST_PRIORITY,
    HashingThreads,
    common_passwords,
    hashing_threads,
    password_problem,
    thread_niceness,
)
from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import Client, make_settings, wipe


def test_the_common_password_list_holds_thousands_from_the_top() -> None:
    listed = common_passwords()
    assert len(listed) == COMMON_PASSWORDS_CHECKED >= 5000
    for password in ["password", "123456789", "qwertyuiop", "iloveyou", "football"]:
        assert password in listed
        assert password_problem(password) is not None


def test_an_uncommon_password_of_allowed_length_passes() -> None:
    assert password_problem("violet staple orbit 42") is None


async def test_a_long_password_is_used_whole_never_truncated(client: Client) -> None:
    password = "p" * 100 + "-tail"  # past bcrypt's 72 bytes; argon2 has no such limit
    await client.post("/api/auth/signup", json={"email": "long@example.com", "password": password})
    prefix_only = await client.post("/api/auth/login", json={"email": "long@example.com", "password": "p" * 100})
    whole = await client.post("/api/auth/login", json={"email": "long@example.com", "password": password})
    assert (prefix_only.status_code, whole.status_code) == (401, 200)


async def test_unicode_passwords_work(client: Client) -> None:
    password = "пароль-密码-🔑-ﬁ"
    await client.post("/api/auth/signup", json={"email": "u@example.com", "password": password})
    response = await client.post("/api/auth/login", json={"email": "u@example.com", "password": password})
    assert response.status_code == 200


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
async def test_unknown_email_and_wrong_password_take_about_the_same_time(settings: Settings) -> None:
    # Moderate argon2 cost, so that hashing, not noise, dominates each attempt.
    app = create_app(make_settings(settings.database_url, argon2_time_cost=2, argon2_memory_cost_kib=16384))
    async with AsyncTestClient(app=app) as client:
        await client.post("/api/auth/signup", json={"email": "known@example.com", "password": "the real passphrase"})

        async def median_seconds(email: str) -> float:
            durations = []
            for _ in range(9):
                started = time.perf_counter()
                response = await client.post("/api/auth/login", json={"email": email, "password": "not the password"})
                durations.append(time.perf_counter() - started)
                assert response.status_code == 401
            return statistics.median(durations)

        await median_seconds("nobody@example.com")  # warm-up, makes the dummy hash
        gc.disable()  # a collection mid-measurement would be noise
        try:
            unknown = await median_seconds("nobody@example.com")
            wrong = await median_seconds("known@example.com")
        finally:
            gc.enable()
    await wipe(settings.database_url)
    # Without the dummy hash an unknown email would answer some 20 times faster.
    assert 0.6 < unknown / wrong < 1.6, (unknown, wrong)


@pytest.mark.skipif(sys.platform != "linux", reason="per-thread priorities are a Linux feature")
async def test_password_hashing_runs_at_the_lowest_cpu_priority() -> None:
    threads = HashingThreads(1)
    before = thread_niceness()
    try:
        assert await threads.run(thread_niceness) == LOWEST_PRIORITY
        assert thread_niceness() == before  # the event loop's thread keeps its priority
    finally:
        threads.close()


async def test_password_hashing_threads_start_again_after_a_shutdown() -> None:
    # An app may be started, shut down and started again (each test client does so).
    threads = HashingThreads(1)
    assert await threads.run(sum, [1, 2]) == 3
    threads.close()
    assert await threads.run(sum, [3, 4]) == 7
    threads.close()


async def test_password_hashing_runs_at_most_the_configured_number_of_hashes_at_once() -> None:
    threads = HashingThreads(2)
    running, most = 0, 0
    lock = threading.Lock()

    def hash_for_a_while() -> None:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
        time.sleep(0.05)
        with lock:
            running -= 1

    try:
        await asyncio.gather(*(threads.run(hash_for_a_while) for _ in range(6)))
    finally:
        threads.close()
    assert most == 2


def test_by_default_as_many_hashes_run_at_once_as_the_cores_hold() -> None:
    cores = os.cpu_count() or 1
    assert hashing_threads(make_settings("sqlite+aiosqlite://", argon2_parallelism=4)) == max(1, cores // 4)
    assert hashing_threads(make_settings("sqlite+aiosqlite://", argon2_parallelism=cores * 2)) == 1
    assert hashing_threads(make_settings("sqlite+aiosqlite://", password_hashing_threads=3)) == 3
