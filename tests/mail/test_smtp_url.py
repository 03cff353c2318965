"""SMTP_URL: how `parse_smtp_url` takes it apart, what it refuses, and that the password it may
carry shows neither in the server's description nor in any error."""

from __future__ import annotations

import pytest

from contacts_api.config import SettingsError, load_settings, parse_smtp_url

SECRET = "Sup3r:s/cret@pass"
ENCODED_SECRET = "Sup3r%3As%2Fcret%40pass"


def test_smtp_gives_host_and_port_without_encryption() -> None:
    server = parse_smtp_url("smtp://mail.example.com:2525", timeout_seconds=7)
    assert (server.host, server.port, server.timeout_seconds) == ("mail.example.com", 2525, 7)
    assert (server.implicit_tls, server.starttls) == (False, False)
    assert (server.username, server.password) == (None, None)


def test_smtp_without_a_port_uses_25() -> None:
    assert parse_smtp_url("smtp://mail.example.com", timeout_seconds=10).port == 25


def test_smtps_means_implicit_tls_on_port_465_by_default() -> None:
    server = parse_smtp_url("smtps://mail.example.com", timeout_seconds=10)
    assert (server.port, server.implicit_tls, server.starttls) == (465, True, False)
    assert server.description == "smtps://mail.example.com:465"


def test_starttls_true_asks_for_starttls_on_plain_smtp() -> None:
    server = parse_smtp_url("smtp://mail.example.com:587?starttls=true", timeout_seconds=10)
    assert (server.port, server.implicit_tls, server.starttls) == (587, False, True)
    assert server.description == "smtp://mail.example.com:587?starttls=true"


def test_starttls_false_is_the_same_as_leaving_it_out() -> None:
    assert not parse_smtp_url("smtp://mail.example.com?starttls=FALSE", timeout_seconds=10).starttls


def test_user_and_password_are_percent_decoded() -> None:
    server = parse_smtp_url(f"smtp://ada%40example.com:{ENCODED_SECRET}@mail.example.com:587", timeout_seconds=10)
    assert (server.username, server.password) == ("ada@example.com", SECRET)


def test_the_description_names_the_user_but_never_the_password() -> None:
    server = parse_smtp_url(f"smtp://ada:{ENCODED_SECRET}@mail.example.com:587", timeout_seconds=10)
    assert server.description == "smtp://ada@mail.example.com:587"
    assert "Sup3r" not in server.description


@pytest.mark.parametrize(
    ("url", "reason"),
    [
        ("http://mail.example.com", "it must start with smtp:// or smtps://"),
        ("mail.example.com:25", "it must start with smtp:// or smtps://"),
        ("smtp://", "it names no host"),
        ("smtp://mail.example.com:port", "its port is not a number from 0 to 65535"),
        ("smtp://mail.example.com:70000", "its port is not a number from 0 to 65535"),
        ("smtp://mail.example.com?tls=true", "unknown parameter 'tls' (only starttls is known)"),
        ("smtp://mail.example.com?starttls=yes", "starttls must be true or false"),
        ("smtp://mail.example.com?starttls=true&starttls=false", "starttls must be true or false"),
        (
            "smtps://mail.example.com?starttls=true",
            "smtps:// encrypts the connection already; starttls=true is for smtp://",
        ),
    ],
)
def test_a_bad_url_is_refused_with_its_reason(url: str, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_smtp_url(url, timeout_seconds=10)
    assert str(caught.value) == f"invalid setting SMTP_URL: {reason}"


@pytest.mark.parametrize(
    "url",
    [
        f"smtp://ada:{ENCODED_SECRET}@mail.example.com?verbose=1",
        f"smtp://ada:{ENCODED_SECRET}@mail.example.com:99999",
        f"smtps://ada:{ENCODED_SECRET}@mail.example.com?starttls=true",
        "smtp://ada:Sup3r-unencoded/pass@mail.example.com",  # the "/" ends the host part early
    ],
)
def test_an_error_never_echoes_the_password(url: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_smtp_url(url, timeout_seconds=10)
    assert "Sup3r" not in str(caught.value)
    assert str(caught.value).startswith("invalid setting SMTP_URL: ")


def test_a_bad_smtp_url_stops_start_up_naming_the_setting() -> None:
    environ = {"SMTP_URL": f"smtp://ada:{ENCODED_SECRET}@mail.example.com?tls=1"}
    with pytest.raises(SettingsError) as caught:
        load_settings(environ, env_file=None, for_serving=False)
    assert str(caught.value) == "invalid setting SMTP_URL: unknown parameter 'tls' (only starttls is known)"


def test_the_settings_parse_the_smtp_url_with_smtp_timeout_seconds() -> None:
    environ = {"SMTP_URL": "smtp://mail.example.com:2525", "SMTP_TIMEOUT_SECONDS": "3"}
    server = load_settings(environ, env_file=None, for_serving=False).smtp_server
    assert server is not None
    assert (server.host, server.port, server.timeout_seconds) == ("mail.example.com", 2525, 3)


def test_no_smtp_url_means_no_smtp_server() -> None:
    assert load_settings({}, env_file=None, for_serving=False).smtp_server is None
