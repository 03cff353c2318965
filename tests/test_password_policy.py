"""Passwords to the letter of OWASP ASVS 5.0 V6: long ones work whole, common ones are refused,
and a failed login takes as long for an unknown email as for a wrong password. Hashing runs in a few
low-priority threads. Passwords are compared, counted and checked in their Unicode NFKC form (NIST
SP 800-63B §5.1.1.2): the same visible password typed on any keyboard is the same password."""

from __future__ import annotations

import asyncio
import gc
import os
import statistics
import sys
import threading
import time
import unicodedata

import argon2
import pytest
from litestar.testing import AsyncTestClient

from contacts_api.accounts.passwords import (
    COMMON_PASSWORDS_CHECKED,
    LOWEST_PRIORITY,
    HashingThreads,
    PasswordHasher,
    PasswordMatch,
    common_passwords,
    hashing_threads,
    normalized_password,
    password_problem,
    thread_niceness,
)
from contacts_api.app import create_app
from contacts_api.config import Settings
from tests.conftest import Client, make_settings, wipe

ACCENTED_PASSWORD = "Mañana-über-Café-2024"
COMPOSED = unicodedata.normalize("NFC", ACCENTED_PASSWORD)  # one code point per accented letter
DECOMPOSED = unicodedata.normalize("NFD", ACCENTED_PASSWORD)  # a letter, then a combining accent


def full_width(text: str) -> str:
    """`text` in the full-width forms East Asian input methods type (U+FF01-U+FF5E, U+3000 for a space)."""
    return "".join("\u3000" if character == " " else chr(ord(character) + 0xFEE0) for character in text)


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


def test_the_two_spellings_of_the_accented_password_differ_as_typed() -> None:
    # The tests below mean something only if the two spellings are different strings.
    assert COMPOSED != DECOMPOSED
    assert len(DECOMPOSED) > len(COMPOSED)


@pytest.mark.parametrize(
    ("typed", "normalized"),
    [
        pytest.param(DECOMPOSED, COMPOSED, id="decomposed accents"),
        pytest.param(full_width("pass word 1"), "pass word 1", id="full-width letters, digits and spaces"),
        pytest.param("ﬁﬂﬀﬃ", "fiflffffi", id="ligatures"),
    ],
)
def test_a_password_is_normalized_to_its_nfkc_form(typed: str, normalized: str) -> None:
    assert normalized_password(typed) == normalized


def test_password_length_is_counted_after_normalization() -> None:
    assert password_problem("ﬁﬂﬀﬃ") is None  # 4 characters typed, 9 once normalized
    assert password_problem("ﬀ" * 65) == "must be at most 128 characters long"  # 130 once normalized
    assert password_problem("a\u0301e\u0301i\u0301o\u0301") == "must be at least 8 characters long"  # 4


def test_a_common_password_typed_in_full_width_letters_is_a_common_password() -> None:
    assert password_problem(full_width("password1")) == "is one of the most common passwords; choose another"


async def test_a_hash_of_one_spelling_verifies_the_other() -> None:
    hasher = PasswordHasher(make_settings("sqlite+aiosqlite://"))
    try:
        password_hash = await hasher.hash(COMPOSED)
        assert await hasher.verify(password_hash, DECOMPOSED) is PasswordMatch.MATCH
    finally:
        hasher.threads.close()


async def test_a_hash_of_the_password_as_typed_before_normalization_matches_as_typed() -> None:
    hasher = PasswordHasher(make_settings("sqlite+aiosqlite://"))
    try:
        hash_as_typed = argon2.PasswordHasher().hash(DECOMPOSED)
        assert await hasher.verify(hash_as_typed, DECOMPOSED) is PasswordMatch.MATCH_AS_TYPED
    finally:
        hasher.threads.close()


async def test_a_wrong_password_does_not_match_a_hash_made_as_typed() -> None:
    hasher = PasswordHasher(make_settings("sqlite+aiosqlite://"))
    try:
        hash_as_typed = argon2.PasswordHasher().hash(DECOMPOSED)
        wrong = unicodedata.normalize("NFD", "Manana-uber-Cafe-2025")
        assert await hasher.verify(hash_as_typed, wrong) is PasswordMatch.MISMATCH
    finally:
        hasher.threads.close()


async def test_a_password_typed_decomposed_logs_in_to_an_account_made_composed(client: Client) -> None:
    await client.post("/api/auth/signup", json={"email": "nfc@example.com", "password": COMPOSED})
    response = await client.post("/api/auth/login", json={"email": "nfc@example.com", "password": DECOMPOSED})
    assert response.status_code == 200, response.text


async def test_a_password_typed_composed_logs_in_to_an_account_made_decomposed(client: Client) -> None:
    await client.post("/api/auth/signup", json={"email": "nfd@example.com", "password": DECOMPOSED})
    response = await client.post("/api/auth/login", json={"email": "nfd@example.com", "password": COMPOSED})
    assert response.status_code == 200, response.text


@pytest.mark.parametrize(
    "typed",
    [pytest.param(full_width("office file 2024"), id="full-width"), pytest.param("oﬃce ﬁle 2024", id="ligatures")],
)
async def test_a_compatibility_variant_of_the_password_logs_in(client: Client, typed: str) -> None:
    await client.post("/api/auth/signup", json={"email": "nfkc@example.com", "password": "office file 2024"})
    response = await client.post("/api/auth/login", json={"email": "nfkc@example.com", "password": typed})
    assert response.status_code == 200, response.text


async def test_a_different_accented_password_does_not_log_in(client: Client) -> None:
    await client.post("/api/auth/signup", json={"email": "nfc@example.com", "password": COMPOSED})
    unaccented = {"email": "nfc@example.com", "password": "Manana-uber-Cafe-2024"}
    response = await client.post("/api/auth/login", json=unaccented)
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
