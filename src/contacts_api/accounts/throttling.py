"""Abuse limits on the auth routes (OWASP ASVS 5.0 V6.3.1), on Litestar's rate-limit middleware and stores.

Two limits: requests per minute per client address on signup, login and refresh; and failed
logins per account per 15 minutes. Both live in a Litestar `Store`: in memory by default, in
Redis when REDIS_URL is set, so that every app process shares them.
"""

from __future__ import annotations

import hashlib
import time
from typing import Any

import msgspec
from litestar import Request
from litestar.exceptions import TooManyRequestsException
from litestar.middleware.rate_limit import CacheObject, RateLimitConfig, RateLimitMiddleware
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


class RetryAfterRateLimitMiddleware(RateLimitMiddleware):
    """Litestar's limiter, plus the `Retry-After` header a 429 should carry (RFC 6585 §4)."""

    def create_response_headers(self, cache_object: CacheObject) -> dict[str, str]:
        headers = super().create_response_headers(cache_object)
        if len(cache_object.history) >= self.max_requests:
            headers["Retry-After"] = str(max(1, cache_object.reset - int(time.time())))
        return headers


def _is_auth_rate_limited(request: Request[Any, Any, Any]) -> bool:
    return bool(request.route_handler.opt.get(AUTH_RATE_LIMITED))


def auth_rate_limit(settings: Settings) -> RateLimitConfig | None:
    if settings.rate_limit_auth == 0:
        return None
    return RateLimitConfig(
        rate_limit=("minute", settings.rate_limit_auth),
        check_throttle_handler=_is_auth_rate_limited,
        middleware_class=RetryAfterRateLimitMiddleware,
        store=RATE_LIMIT_STORE,
    )


class _FailureCount(msgspec.Struct):
    count: int
    window_ends: int


class LoginFailureThrottle:
    """Counts failed logins per account; past the limit, that account's logins answer 429.

    The key is a hash of the email, so the store never holds addresses. Read-then-write is not
    atomic across processes: a burst may get a few attempts past the limit, never unlimited ones.
    """

    def __init__(self, store: Store, limit: int, window_seconds: int = LOGIN_FAILURE_WINDOW_SECONDS) -> None:
        self._store = store
        self._limit = limit
        self._window = window_seconds

    @staticmethod
    def _key(email: str) -> str:
        return "login-failures:" + hashlib.sha256(email.encode()).hexdigest()

    async def check(self, email: str) -> None:
        if self._limit == 0:
            return
        failures = await self._read(email)
        if failures is not None and failures.count >= self._limit:
            retry_after = max(1, failures.window_ends - int(time.time()))
            raise TooManyRequestsException(
                detail="Too many failed logins for this account; try again later",
                headers={"Retry-After": str(retry_after)},
            )

    async def record_failure(self, email: str) -> None:
        if self._limit == 0:
            return
        now = int(time.time())
        failures = await self._read(email) or _FailureCount(count=0, window_ends=now + self._window)
        failures.count += 1
        await self._store.set(
            self._key(email), msgspec.json.encode(failures), expires_in=max(1, failures.window_ends - now)
        )

    async def reset(self, email: str) -> None:
        if self._limit:
            await self._store.delete(self._key(email))

    async def _read(self, email: str) -> _FailureCount | None:
        raw = await self._store.get(self._key(email))
        return msgspec.json.decode(raw, type=_FailureCount) if raw else None
