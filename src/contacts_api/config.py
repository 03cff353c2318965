"""Settings, read once from the environment (and a `.env` file) and validated up front.

Every setting is an upper-case environment variable; `.env.example` lists them all with
their defaults. A bad value stops start-up with one line naming the variable.
"""

from __future__ import annotations

import email.utils
import ipaddress
import logging
import os
import secrets
import urllib.parse
from pathlib import Path
from typing import Annotated, Literal

import msgspec
import phonenumbers
from dotenv import dotenv_values
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

logger = logging.getLogger(__name__)

MIN_JWT_SECRET_BYTES = 32  # RFC 7518 §3.2: an HS256 key must be at least as long as the hash.

PositiveInt = Annotated[int, msgspec.Meta(ge=1)]
NonNegativeInt = Annotated[int, msgspec.Meta(ge=0)]


class SettingsError(ValueError):
    """A setting is missing or malformed; the message names the variable."""


class Settings(
    msgspec.Struct,
    kw_only=True,
    frozen=True,
    rename="upper",
    forbid_unknown_fields=False,
):
    environment: Literal["development", "production", "test"] = "development"
    database_url: str = "sqlite+aiosqlite:///contacts.db"
    # One event loop keeps few connections busy at once; requests beyond the pool wait their turn.
    # Overflow connections are closed again as soon as they are returned, so under steady load
    # they are opened and closed over and over (measured: slower than waiting). Hence none.
    db_pool_size: PositiveInt = 10
    db_max_overflow: NonNegativeInt = 0
    db_pool_timeout_seconds: Annotated[float, msgspec.Meta(gt=0)] = 5.0
    db_statement_timeout_ms: PositiveInt = 5000
    db_echo: bool = False

    jwt_secret: str = ""
    jwt_issuer: str = "contacts-api"
    jwt_audience: str = "contacts-api"
    jwt_leeway_seconds: Annotated[int, msgspec.Meta(ge=0, le=300)] = 10
    access_token_ttl_seconds: PositiveInt = 15 * 60
    refresh_token_ttl_seconds: PositiveInt = 7 * 24 * 3600
    session_max_age_seconds: PositiveInt = 30 * 24 * 3600
    session_retention_days: NonNegativeInt = 30

    # RFC 9106 §4 "second recommended option" (64 MiB, t=3, p=4); OWASP accepts anything stronger
    # than m=19 MiB/t=2/p=1. Tests lower these through the environment.
    argon2_time_cost: PositiveInt = 3
    argon2_memory_cost_kib: Annotated[int, msgspec.Meta(ge=8)] = 64 * 1024
    argon2_parallelism: PositiveInt = 4
    # Hashes computed at once per process; more wait their turn (memory: this times
    # ARGON2_MEMORY_COST_KIB). 0: as many as the cores can run side by side, see passwords.py.
    password_hashing_threads: Annotated[int, msgspec.Meta(ge=0, le=64)] = 0

    rate_limit_auth: NonNegativeInt = 30
    rate_limit_login_failures: NonNegativeInt = 10
    redis_url: str = ""

    max_body_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 64 * 1024
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_format: Literal["auto", "json", "console"] = "auto"
    cors_origins: str = ""
    # Proxies whose X-Forwarded-For / X-Forwarded-Proto are believed (comma-separated addresses
    # or networks, or "*"): the client address they give is the one rate limits count.
    forwarded_allow_ips: str = "127.0.0.1,::1"

    # Mail (see mail/): links in mails start with PUBLIC_URL, never with a request's Host.
    public_url: str = "http://127.0.0.1:8000"
    account_link_base_url: str = ""  # replaces {PUBLIC_URL}/account in links, for an operator's own pages
    smtp_url: str = ""  # smtp://user:pass@host:port, smtps://… or ?starttls=true; none: the log (not in production)
    smtp_timeout_seconds: Annotated[int, msgspec.Meta(ge=1, le=300)] = 10
    mail_from: str = "contacts-api <no-reply@localhost>"
    mail_retry_max_seconds: PositiveInt = 300
    # How often a process looks for mail queued by the others (its own wakes it at once).
    mail_poll_seconds: Annotated[float, msgspec.Meta(gt=0, le=3600)] = 5.0
    require_verified_email: bool = False
    rate_limit_mails: NonNegativeInt = 5  # mails per account per hour; 0: no limit
    # ISO 3166-1 alpha-2 region for phone numbers typed without a leading +: "US" reads
    # "(555) 010-0200" as +15550100200. Empty: only numbers with a + get an E.164 form.
    default_phone_region: str = ""
    # Imports (contacts/interchange/): a larger file is a 413, more records a 400.
    import_max_bytes: Annotated[int, msgspec.Meta(ge=1024)] = 5 * 1024 * 1024
    import_max_contacts: Annotated[int, msgspec.Meta(ge=1, le=1_000_000)] = 10_000
    # The changes feed (contacts/sync.py): tombstones are kept, and cursors honoured, this long.
    sync_tombstone_days: Annotated[int, msgspec.Meta(ge=1, le=3650)] = 30

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def cors_origin_list(self) -> list[str]:
        return [origin.strip() for origin in self.cors_origins.split(",") if origin.strip()]

    @property
    def smtp_server(self) -> SMTPServer | None:
        return parse_smtp_url(self.smtp_url, timeout_seconds=self.smtp_timeout_seconds) if self.smtp_url else None

    @property
    def account_link_base(self) -> str:
        """Where the links in mails point: `{PUBLIC_URL}/account` unless ACCOUNT_LINK_BASE_URL says."""
        return (self.account_link_base_url or f"{self.public_url}/account").rstrip("/")

    @property
    def json_logs(self) -> bool:
        if self.log_format == "auto":
            return self.environment == "production"
        return self.log_format == "json"


class SMTPServer(msgspec.Struct, frozen=True, kw_only=True):
    """SMTP_URL taken apart (see `parse_smtp_url`)."""

    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool  # smtps:// (RFC 8314)
    starttls: bool  # smtp://…?starttls=true (RFC 3207)
    timeout_seconds: int

    @property
    def description(self) -> str:
        """The server as people may read it: never the password."""
        user = f"{self.username}@" if self.username else ""
        suffix = "?starttls=true" if self.starttls else ""
        return f"{'smtps' if self.implicit_tls else 'smtp'}://{user}{self.host}:{self.port}{suffix}"


def parse_smtp_url(url: str, *, timeout_seconds: int) -> SMTPServer:
    """`smtp://user:pass@host:port`, `smtps://…` or `smtp://…?starttls=true`; user and password
    percent-encoded. Raises SettingsError naming what is wrong (never echoing the password)."""

    def problem(reason: str) -> SettingsError:
        return SettingsError(f"invalid setting SMTP_URL: {reason}")

    parsed = urllib.parse.urlsplit(url)
    if parsed.scheme not in ("smtp", "smtps"):
        raise problem("it must start with smtp:// or smtps://")
    if not parsed.hostname:
        raise problem("it names no host")
    try:
        port = parsed.port
    except ValueError:
        raise problem("its port is not a number from 0 to 65535") from None
    query = urllib.parse.parse_qs(parsed.query, keep_blank_values=True)
    if unknown := set(query) - {"starttls"}:
        raise problem(f"unknown parameter {sorted(unknown)[0]!r} (only starttls is known)")
    starttls_values = {value.lower() for value in query.get("starttls", ["false"])}
    if not starttls_values <= {"true", "false"} or len(starttls_values) != 1:
        raise problem("starttls must be true or false")
    implicit_tls = parsed.scheme == "smtps"
    starttls = starttls_values == {"true"}
    if implicit_tls and starttls:
        raise problem("smtps:// encrypts the connection already; starttls=true is for smtp://")
    return SMTPServer(
        host=parsed.hostname,
        port=port or (465 if implicit_tls else 25),
        username=urllib.parse.unquote(parsed.username) if parsed.username else None,
        password=urllib.parse.unquote(parsed.password) if parsed.password else None,
        implicit_tls=implicit_tls,
        starttls=starttls,
        timeout_seconds=timeout_seconds,
    )


def _check_base_url(name: str, value: str) -> None:
    parsed = urllib.parse.urlsplit(value)
    if parsed.scheme not in ("http", "https") or not parsed.netloc or parsed.query or parsed.fragment:
        raise SettingsError(
            f"invalid setting {name}: it must be an absolute http:// or https:// URL without query or fragment"
        )


def _check_mail_settings(settings: Settings) -> None:
    _check_base_url("PUBLIC_URL", settings.public_url)
    if settings.account_link_base_url:
        _check_base_url("ACCOUNT_LINK_BASE_URL", settings.account_link_base_url)
    _, sender = email.utils.parseaddr(settings.mail_from)
    if "@" not in sender:
        raise SettingsError("invalid setting MAIL_FROM: give an address, as in 'contacts-api <no-reply@example.com>'")
    if settings.smtp_url:
        parse_smtp_url(settings.smtp_url, timeout_seconds=settings.smtp_timeout_seconds)


def _field_env_names() -> set[str]:
    return {field.encode_name for field in msgspec.structs.fields(Settings)}


def load_settings(
    environ: dict[str, str] | None = None, env_file: Path | None = Path(".env"), *, for_serving: bool = True
) -> Settings:
    """Build settings from `.env` (if present) overlaid by the process environment.

    `for_serving=False` is for commands that sign no tokens (migrations, maintenance): they
    neither need nor warn about a missing JWT_SECRET.
    """
    names = _field_env_names()
    raw: dict[str, str] = {}
    if env_file is not None and env_file.is_file():
        raw.update({key: value for key, value in dotenv_values(env_file).items() if value is not None})
    source = os.environ if environ is None else environ
    raw.update({key: value for key, value in source.items() if key in names})
    raw = {key: value for key, value in raw.items() if key in names and value != ""}
    try:
        settings = msgspec.convert(raw, Settings, strict=False)
    except msgspec.ValidationError as exc:
        raise SettingsError(_describe(exc)) from None
    settings = msgspec.structs.replace(
        settings,
        public_url=settings.public_url.rstrip("/"),
        default_phone_region=settings.default_phone_region.strip().upper(),
    )
    _check_urls(settings)
    _check_phone_region(settings.default_phone_region)
    return _with_jwt_secret(settings) if for_serving else settings


SUPPORTED_DATABASES = ("sqlite+aiosqlite", "postgresql+asyncpg")


def _check_phone_region(region: str) -> None:
    if region and region not in phonenumbers.SUPPORTED_REGIONS:
        raise SettingsError(
            "invalid setting DEFAULT_PHONE_REGION: give an ISO 3166-1 alpha-2 region that has phone numbers,"
            " such as US, GB or DE, or leave it empty"
        )


def _check_urls(settings: Settings) -> None:
    try:
        driver = make_url(settings.database_url).drivername
    except ArgumentError:
        raise SettingsError("invalid setting DATABASE_URL: not a database URL") from None
    if driver not in SUPPORTED_DATABASES:
        raise SettingsError(
            f"invalid setting DATABASE_URL: {driver!r} is not supported; use "
            "sqlite+aiosqlite:///path.db or postgresql+asyncpg://user:password@host/database"
        )
    if settings.redis_url and not settings.redis_url.startswith(("redis://", "rediss://", "unix://")):
        raise SettingsError("invalid setting REDIS_URL: it must start with redis://, rediss:// or unix://")
    _check_trusted_proxies(settings.forwarded_allow_ips)
    _check_mail_settings(settings)


def _check_trusted_proxies(value: str) -> None:
    """A typo here would silently trust no proxy (or the wrong one): refuse it instead."""
    entries = [entry.strip() for entry in value.split(",")]
    if entries == ["*"]:
        return
    for entry in entries:
        try:
            ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"invalid setting FORWARDED_ALLOW_IPS: {entry!r} is not an address or network "
                "(give addresses or networks separated by commas, or * alone for any)"
            ) from None


def _describe(exc: msgspec.ValidationError) -> str:
    message = str(exc)
    head, _, where = message.partition(" - at `$.")
    if where:
        return f"invalid setting {where.rstrip('`')}: {head}"
    return f"invalid settings: {message}"


def _with_jwt_secret(settings: Settings) -> Settings:
    if settings.jwt_secret:
        if len(settings.jwt_secret.encode()) < MIN_JWT_SECRET_BYTES:
            raise SettingsError(
                f"invalid setting JWT_SECRET: it must be at least {MIN_JWT_SECRET_BYTES} bytes long (RFC 7518 §3.2)"
            )
        return settings
    if settings.environment == "production":
        raise SettingsError("invalid setting JWT_SECRET: it is required when ENVIRONMENT=production")
    logger.warning("JWT_SECRET is not set: using a random development secret; tokens will not survive a restart")
    return msgspec.structs.replace(settings, jwt_secret=secrets.token_urlsafe(48))
