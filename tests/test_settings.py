"""Settings come from the environment and .env, and a bad one stops start-up with a clear line."""

from __future__ import annotations

import logging
from pathlib import Path

import msgspec
import pytest

from contacts_api.config import Settings, SettingsError, load_settings

GOOD_SECRET = "s" * 32


def test_defaults_need_no_environment_at_all(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        settings = load_settings(environ={}, env_file=None)
    assert settings.database_url == "sqlite+aiosqlite:///contacts.db"
    assert settings.access_token_ttl_seconds == 900
    assert settings.refresh_token_ttl_seconds == 7 * 24 * 3600
    assert len(settings.jwt_secret) >= 32  # generated for development…
    assert "JWT_SECRET is not set" in caplog.text  # …with a warning
    assert settings.jwt_secret not in caplog.text


def test_environment_variables_are_read_and_converted() -> None:
    settings = load_settings(
        environ={
            "JWT_SECRET": GOOD_SECRET,
            "ACCESS_TOKEN_TTL_SECONDS": "60",
            "CORS_ORIGINS": "https://a.example, https://b.example",
        },
        env_file=None,
    )
    assert settings.access_token_ttl_seconds == 60
    assert settings.cors_origin_list == ["https://a.example", "https://b.example"]


def test_a_dotenv_file_is_read_and_the_environment_wins(tmp_path: Path) -> None:
    env_file = tmp_path / ".env"
    env_file.write_text(f"JWT_SECRET={GOOD_SECRET}\nLOG_LEVEL=DEBUG\nACCESS_TOKEN_TTL_SECONDS=120\n")
    settings = load_settings(environ={"ACCESS_TOKEN_TTL_SECONDS": "30"}, env_file=env_file)
    assert (settings.log_level, settings.access_token_ttl_seconds) == ("DEBUG", 30)


@pytest.mark.parametrize(
    ("variable", "value"),
    [
        ("ACCESS_TOKEN_TTL_SECONDS", "soon"),
        ("ACCESS_TOKEN_TTL_SECONDS", "0"),
        ("LOG_LEVEL", "LOUD"),
        ("ENVIRONMENT", "staging"),
        ("ARGON2_MEMORY_COST_KIB", "-5"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1, proxy.internal"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.1, *"),
        ("FORWARDED_ALLOW_IPS", "10.0.0.300"),
    ],
)
def test_a_bad_value_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"invalid setting {variable}"):
        load_settings(environ={"JWT_SECRET": GOOD_SECRET, variable: value}, env_file=None)


def test_a_jwt_secret_shorter_than_32_bytes_is_refused() -> None:
    with pytest.raises(SettingsError, match=r"JWT_SECRET.*32 bytes"):
        load_settings(environ={"JWT_SECRET": "too-short"}, env_file=None)


def test_production_requires_a_jwt_secret() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        load_settings(environ={"ENVIRONMENT": "production"}, env_file=None)


def test_env_example_lists_every_setting_with_its_default() -> None:
    lines = (Path(__file__).parents[1] / ".env.example").read_text().splitlines()
    listed = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    expected = {
        field.encode_name: str(field.default).lower() if isinstance(field.default, bool) else str(field.default)
        for field in msgspec.structs.fields(Settings)
    }
    assert listed == expected


@pytest.mark.parametrize(
    ("variable", "value"),
    [("DATABASE_URL", "postgresql://postgres@localhost/contacts"), ("DATABASE_URL", "sqlite:///contacts.db"),
     ("DATABASE_URL", "nonsense"), ("REDIS_URL", "127.0.0.1:6379")],
)  # fmt: skip
def test_an_unsupported_url_names_the_variable(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=f"invalid setting {variable}"):
        load_settings(environ={"JWT_SECRET": GOOD_SECRET, variable: value}, env_file=None)


@pytest.mark.parametrize("value", ["*", "10.0.0.1", "10.0.0.0/8, ::1", "127.0.0.1,::1,192.168.1.0/24"])
def test_trusted_proxies_are_addresses_networks_or_any(value: str) -> None:
    environ = {"JWT_SECRET": GOOD_SECRET, "FORWARDED_ALLOW_IPS": value}
    assert load_settings(environ=environ, env_file=None).forwarded_allow_ips == value


def test_default_phone_region_is_empty_unless_set() -> None:
    assert load_settings(environ={"JWT_SECRET": GOOD_SECRET}, env_file=None).default_phone_region == ""


@pytest.mark.parametrize(("value", "stored"), [("gb", "GB"), ("US", "US"), (" de ", "DE")])
def test_default_phone_region_is_an_upper_cased_region_code(value: str, stored: str) -> None:
    environ = {"JWT_SECRET": GOOD_SECRET, "DEFAULT_PHONE_REGION": value}
    assert load_settings(environ=environ, env_file=None).default_phone_region == stored


@pytest.mark.parametrize("value", ["XX", "USA", "ZZ", "1"])
def test_default_phone_region_without_phone_numbers_is_refused(value: str) -> None:
    with pytest.raises(SettingsError, match="invalid setting DEFAULT_PHONE_REGION"):
        load_settings(environ={"JWT_SECRET": GOOD_SECRET, "DEFAULT_PHONE_REGION": value}, env_file=None)
