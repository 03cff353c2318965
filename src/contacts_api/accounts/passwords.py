"""Password hashing (argon2id) and the password policy.

Hashing costs tens of milliseconds of CPU by design, so every hash and verify runs in a worker
thread at the lowest CPU priority: the event loop keeps serving other requests meanwhile, and a
flood of logins takes only the CPU time that requests leave idle.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import os
import secrets
import sys
import threading
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


def password_problem(password: str) -> str | None:
    """Why a new password is refused (OWASP ASVS 5.0 V6.2), or None when it is acceptable.

    Length counts characters, never truncates, and any character is allowed.
    """
    if len(password) < MIN_PASSWORD_LENGTH:
        return f"must be at least {MIN_PASSWORD_LENGTH} characters long"
    if len(password) > MAX_PASSWORD_LENGTH:
        return f"must be at most {MAX_PASSWORD_LENGTH} characters long"
    if password.lower() in common_passwords():
        return "is one of the most common passwords; choose another"
    return None


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
        return await self.threads.run(self._hasher.hash, password)

    async def verify(self, password_hash: str, password: str) -> bool:
        return await self.threads.run(self._verify_sync, password_hash, password)

    async def verify_against_nothing(self, password: str) -> None:
        """Spend the same time as a real verify, for an account that does not exist.

        Without it, "unknown email" answers measurably faster than "wrong password" and leaks
        which emails are registered.
        """
        if self._dummy_hash is None:
            self._dummy_hash = await self.hash(secrets.token_urlsafe(16))
        await self.verify(self._dummy_hash, password)

    def needs_rehash(self, password_hash: str) -> bool:
        return self._hasher.check_needs_rehash(password_hash)

    def _verify_sync(self, password_hash: str, password: str) -> bool:
        try:
            return self._hasher.verify(password_hash, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False
