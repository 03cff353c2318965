"""Password hashing (argon2id) and the password policy.

A password is counted, checked, hashed and verified in its Unicode NFKC form
(`normalized_password`, NIST SP 800-63B §5.1.1.2), so the same visible password typed on any
keyboard or input method is the same password. Hashes made before that rule, from the password as
typed, still verify, and are replaced on the next login.

Hashing costs tens of milliseconds of CPU by design, so every hash and verify runs in a worker
thread at the lowest CPU priority: the event loop keeps serving other requests meanwhile, and a
flood of logins takes only the CPU time that requests leave idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import enum
import functools
import os
import secrets
import sys
import threading
import unicodedata
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from argon2 import PasswordHasher as Argon2Hasher
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from zxcvbn.frequency_lists import FREQUENCY_LISTS

from contacts_api.config import Settings

MIN_PASSWORD_LENGTH = 8
MAX_PASSWORD_LENGTH = 128
COMMON_PASSWORDS_CHECKED = 10_000
LOWEST_PRIORITY = 19  # the highest nice value
T = TypeVar("T")


@functools.cache
def common_passwords() -> frozenset[str]:
    """The most used passwords, most frequent first in zxcvbn's maintained list (from leaks)."""
    ranked: list[str] = FREQUENCY_LISTS["passwords"]
    return frozenset(ranked[:COMMON_PASSWORDS_CHECKED])


def normalized_password(password: str) -> str:
    """The form a password is counted, checked, hashed and verified in: Unicode NFKC, as NIST
    SP 800-63B §5.1.1.2 asks.

    A composed "ñ" and an "n" followed by a combining tilde, a full-width A (U+FF21) and an "A",
    a ligature "ﬀ" and "ff" are each one password, whichever a keyboard or input method sends.
    """
    return unicodedata.normalize("NFKC", password)


def password_problem(password: str) -> str | None:
    """Why a new password is refused (OWASP ASVS 5.0 V6.2), or None when it is acceptable.

    Length counts the characters of the normalized form (NIST SP 800-63B §5.1.1.2), never
    truncates, and any character is allowed; the common-password list is checked in that form too,
    so a common password typed in full-width letters is still refused.
    """
    normalized = normalized_password(password)
    if len(normalized) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(normalized) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    if normalized.lower() in common_passwords():
        return "is one of the most common passwords; choose another"
    return None


class PasswordMatch(enum.Enum):
    """How a password compared with a stored hash."""

    MISMATCH = "mismatch"
    MATCH = "match"
    # Only the password as typed matched, not its normalized form: the hash was made before
    # passwords were normalized, and should be replaced by a hash of the normalized form.
    MATCH_AS_TYPED = "match as typed"


def thread_niceness() -> int:
    """The calling thread's nice value (Linux keeps one per thread)."""
    return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())


def _lower_thread_priority() -> None:
    # On Linux, PRIO_PROCESS with a thread id renices that thread alone, and the threads argon2
    # starts for its parallelism inherit it. Elsewhere it would renice the whole process: skip.
    if sys.platform != "linux":
        return
    # A sandbox may forbid it: then hash at normal priority rather than not at all.
    with contextlib.suppress(OSError):
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), LOWEST_PRIORITY)


class HashingThreads:
    """The worker threads password hashes run on: at most `count` hashes at once, which also
    bounds their memory (each takes ARGON2_MEMORY_COST_KIB), at the lowest CPU priority.

    Started on first use and stopped by `close()` (at app shutdown); used again, they start anew.
    """

    def __init__(self, count: int) -> None:
        self._count = count
        self._executor: ThreadPoolExecutor | None = None

    async def run(self, func: Callable[..., T], *args: object) -> T:
        if self._executor is None:
            self._executor = ThreadPoolExecutor(self._count, "password-hashing", initializer=_lower_thread_priority)
        return await asyncio.get_running_loop().run_in_executor(self._executor, func, *args)

    def close(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=False, cancel_futures=True)
            self._executor = None


def hashing_threads(settings: Settings) -> int:
    """How many hashes to compute at once: PASSWORD_HASHING_THREADS, or by default as many as
    the cores hold side by side, each hash taking ARGON2_PARALLELISM of them, and at least one.

    More would not add logins per second, only memory and latency: on 2 cores, a second
    concurrent hash (p=4) gave 20 % more logins per second but twice the p99 of other requests
    during a login flood (see benchmarks/).
    """
    if settings.password_hashing_threads:
        return settings.password_hashing_threads
    return max(1, (os.cpu_count() or 1) // settings.argon2_parallelism)


class PasswordHasher:
    def __init__(self, settings: Settings) -> None:
        self._hasher = Argon2Hasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_cost_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        self.threads = HashingThreads(hashing_threads(settings))
        self._dummy_hash: str | None = None

    async def hash(self, password: str) -> str:
        """An argon2id hash (RFC 9106) of the password's NFKC form (NIST SP 800-63B §5.1.1.2)."""
        return await self.threads.run(self._hasher.hash, normalized_password(password))

    async def verify(self, password_hash: str, password: str) -> PasswordMatch:
        """Compare the password's NFKC form (NIST SP 800-63B §5.1.1.2) with the hash, and, if that
        fails and the password as typed differs from it, the password as typed: a hash made
        before passwords were normalized must not lock its account out."""
        return await self.threads.run(self._verify_sync, password_hash, password)

    async def verify_against_nothing(self, password: str) -> None:
        """Spend the same time as a real verify, for an account that does not exist.

        Without it, "unknown email" answers measurably faster than "wrong password" and leaks
        which emails are registered. The dummy hash never matches, so a password that NFKC
        changes is compared twice here, as it is against a real account's hash.
        """
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify_sync(self, password_hash: str, password: str) -> PasswordMatch:
        # Both comparisons run in one worker-thread job: a login waits for a free thread once.
        normalized = normalized_password(password)
        if self._matches(password_hash, normalized):
            return PasswordMatch.MATCH
        if password != normalized and self._matches(password_hash, password):
            return PasswordMatch.MATCH_AS_TYPED
        return PasswordMatch.MISMATCH

    def _matches(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
