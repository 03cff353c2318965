"""Abuse limits on the auth routes (OWASP ASVS 5.0 V6.3.1), on Litestar's rate-limit middleware and stores.

Two limits: requests per minute per client address on signup, login and refresh; and failed
logins per account per 15 minutes. Both live in a Litestar `Store`: in memory by default, in
Redis when REDIS_URL is set, so that every app process shares them.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
import msgspec
from litestar import Request
from litestar.exceptions import NotAuthorizedException, TooManyRequestsException
from litestar.middleware.rate_limit import RateLimitConfig
from litestar.stores.base import Store
from litestar.stores.memory import MemoryStore
from litestar.stores.redis import RedisStore

from contacts_api.config import Settings

RATE_LIMIT_STORE = "rate_limit"
AUTH_RATE_LIMITED = "auth_rate_limited"  # route opt: this handler counts against the auth limit
LOGIN_FAILURE_WINDOW_SECONDS = 15 * 60


def create_rate_limit_store(settings: Settings) -> Store:
    if settings.redis_url:
        return RedisStore.with_client(url=settings.redis_url, namespace="contacts-api")
    return MemoryStore()


def _is_auth_rate_limited(request: Request[Any, Any, Any]) -> bool:
    return bool(request.route_handler.opt.get(AUTH_RATE_LIMITED))


def auth_rate_limit(settings: Settings) -> RateLimitConfig | None:
    if settings.rate_limit_auth == 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_auth),
        check_throttle_handler=_is_auth_rate_limited,
        store=RATE_LIMIT_STORE,
    )


class _AttemptCount(msgspec.Struct):
    count: int
    window_ends: int


class LoginAttempt:
    def __init__(self) -> None:
        self.ok = False

    def succeeded(self) -> None:
        self.ok = True


class LoginFailureThrottle:
    """At most `limit` failed logins per account per window; past it, that account's logins get 429.

    Each login first reserves an attempt, under a lock, before any password is checked, so a burst
    of concurrent guesses cannot all slip through between a check and a count. A success clears
    the count; a wrong password keeps its attempt; any other failure (say, the database is down)
    gives it back. Keys are hashes of the email, so the store holds no address in clear (a hash
    of a guessable email can still be guessed). The lock is per process: processes sharing Redis
    each enforce the limit exactly, and a burst spread over several of them is bounded by the
    limit times the number of processes.
    """

    def __init__(self, store: Store, limit: int, window_seconds: int = LOGIN_FAILURE_WINDOW_SECONDS) -> None:
        self._store = store
        self._limit = limit
        self._window = window_seconds
        self._lock = anyio.Lock()

    @staticmethod
    def _key(email: str) -> str:
        return "login-failures:" + hashlib.sha256(email.encode()).hexdigest()

    @asynccontextmanager
    async def attempt(self, email: str) -> AsyncIterator[LoginAttempt]:
        attempt = LoginAttempt()
        if self._limit == 0:
            yield attempt
            return
        await self._reserve(email)
        try:
            yield attempt
        except NotAuthorizedException:
            raise  # a wrong password: the attempt stays counted
        except BaseException:
            await self._change(email, -1)
            raise
        if attempt.ok:
            await self._store.delete(self._key(email))
        else:
            await self._change(email, -1)

    async def _reserve(self, email: str) -> None:
        async with self._lock:
            counted = await self._read(email)
            if counted is not None and counted.count >= self._limit:
                retry_after = max(1, counted.window_ends - int(time.time()))
                raise TooManyRequestsException(
                    detail="Too many failed logins for this account; try again later",
                    headers={"Retry-After": str(retry_after)},
                )
            await self._write(email, counted, +1)

    async def _change(self, email: str, delta: int) -> None:
        async with self._lock:
            await self._write(email, await self._read(email), delta)

    async def _write(self, email: str, counted: _AttemptCount | None, delta: int) -> None:
        now = int(time.time())
        counted = counted or _AttemptCount(count=0, window_ends=now + self._window)
        counted.count = max(0, counted.count + delta)
        await self._store.set(
            self._key(email), msgspec.json.encode(counted), expires_in=max(1, counted.window_ends - now)
        )

    async def _read(self, email: str) -> _AttemptCount | None:
        raw = await self._store.get(self._key(email))
        return msgspec.json.decode(raw, type=_AttemptCount) if raw else None
