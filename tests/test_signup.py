"""POST /api/auth/signup"""

from __future__ import annotations

import unicodedata

from contacts_api.config import Settings
from tests.conftest import PASSWORD, Client, query_scalar, run_concurrently
from tests.test_password_policy import full_width


async def test_signup_returns_201_with_the_user(client: Client) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada Lovelace"}
    )
    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "email_verified", "created_at"}
    assert body["email"] == "ada@example.com"
    assert body["full_name"] == "Ada Lovelace"


async def test_signup_stores_the_email_lower_cased_and_trimmed(client: Client, settings: Settings) -> None:
    response = await client.post("/api/auth/signup", json={"email": "  Ada@Example.COM ", "password": PASSWORD})
    assert response.status_code == 201
    assert response.json()["email"] == "ada@example.com"
    assert await query_scalar(settings.database_url, "SELECT email FROM users") == "ada@example.com"


async def test_signup_without_full_name_gives_null(client: Client) -> None:
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
    assert response.status_code == 201
    assert response.json()["full_name"] is None


async def test_signup_stores_an_argon2id_hash_never_the_password(client: Client, settings: Settings) -> None:
    await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
    stored = await query_scalar(settings.database_url, "SELECT password_hash FROM users")
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


async def test_signup_with_a_taken_email_in_other_case_and_spaces_is_409(client: Client, settings: Settings) -> None:
    first = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD})
    assert first.status_code == 201
    again = await client.post("/api/auth/signup", json={"email": " ADA@example.com  ", "password": PASSWORD})
    assert again.status_code == 409
    assert again.json() == {"status_code": 409, "detail": "An account with this email already exists"}
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 1


async def test_concurrent_signups_with_one_email_give_one_201_and_409s(client: Client, settings: Settings) -> None:
    body = {"email": "race@example.com", "password": PASSWORD}
    responses = run_concurrently(client, *[lambda http: http.post("/api/auth/signup", json=body)] * 10)
    statuses = sorted(response.status_code for response in responses)
    assert statuses == [201] + [409] * 9
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 1


async def test_signup_rejects_a_password_shorter_than_8(client: Client) -> None:
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": "short7c"})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"


async def test_signup_accepts_passwords_of_8_and_128_characters(client: Client) -> None:
    for index, password in enumerate(["kq8#vLz1", "x" * 64 + "Y" * 64]):
        response = await client.post("/api/auth/signup", json={"email": f"u{index}@example.com", "password": password})
        assert response.status_code == 201, response.text


async def test_signup_rejects_a_password_longer_than_128(client: Client, settings: Settings) -> None:
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": "x" * 129})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_signup_rejects_a_common_password(client: Client) -> None:
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": "Password1"})
    assert response.status_code == 400
    assert "common" in response.json()["extra"][0]["message"]


async def test_signup_rejects_an_invalid_email(client: Client) -> None:
    for email in ["not-an-email", "a@", "@example.com", "a b@example.com", "a..b@example.com", ".a@example.com",
                  "a@-example.com", "a@example.c0m", "é@example.com"]:  # fmt: skip
        response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert response.status_code == 400, email
        assert response.json()["extra"][0]["key"] == "email"
        assert "regex" not in response.json()["extra"][0]["message"], email  # words, not a pattern


async def test_signup_accepts_ordinary_addresses_of_every_shape(client: Client) -> None:
    for email in [
        "john.ronald.reuel.tolkien.jr@example.com",
        "o'brien+tag@mail.example.co.uk",
        "x@xn--bcher-kva.ch",
    ]:
        response = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
        assert response.status_code == 201, (email, response.text)


async def test_signup_rejects_unknown_fields(client: Client) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD, "is_admin": True}
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "is_admin"


async def test_signup_rejects_missing_fields_and_wrong_types(client: Client) -> None:
    missing = await client.post("/api/auth/signup", json={"email": "ada@example.com"})
    assert missing.status_code == 400
    assert "password" in missing.text
    wrong_type = await client.post("/api/auth/signup", json={"email": 42, "password": PASSWORD})
    assert wrong_type.status_code == 400
    assert wrong_type.json()["extra"][0]["key"] == "email"


async def test_signup_rejects_malformed_json(client: Client) -> None:
    response = await client.post(
        "/api/auth/signup", content=b'{"email": "ada@', headers={"Content-Type": "application/json"}
    )
    assert response.status_code == 400
    assert response.json()["status_code"] == 400


async def test_signup_rejects_a_nul_character(client: Client, settings: Settings) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "ada@example.com", "password": PASSWORD, "full_name": "Ada\u0000"}
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "full_name"
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_signup_keeps_unicode_names_unchanged(client: Client) -> None:
    name = "Zoë Ǆemal 🦊 שלום"
    response = await client.post(
        "/api/auth/signup", json={"email": "zoe@example.com", "password": PASSWORD, "full_name": name}
    )
    assert response.status_code == 201
    assert response.json()["full_name"] == name


async def test_an_email_with_an_internationalised_domain_is_stored_as_typed_and_can_log_in(client: Client) -> None:
    email = "ada@xn--bcher-kva.example.com"  # bücher.example.com, in the ASCII form clients send
    signup = await client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert signup.status_code == 201
    assert signup.json()["email"] == email
    assert (await client.post("/api/auth/login", json={"email": email, "password": PASSWORD})).status_code == 200
    again = await client.post("/api/auth/signup", json={"email": email.upper(), "password": PASSWORD})
    assert again.status_code == 409


async def test_signup_rejects_a_common_password_typed_in_full_width_letters(client: Client) -> None:
    response = await client.post(
        "/api/auth/signup", json={"email": "ada@example.com", "password": full_width("password1")}
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"
    assert "common" in response.json()["extra"][0]["message"]


async def test_signup_counts_ligatures_as_the_letters_they_stand_for(client: Client) -> None:
    password = "ﬁﬂﬀﬃ"  # 4 characters as typed, "fiflffffi" (9) once normalized
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": password})
    assert response.status_code == 201, response.text


async def test_signup_rejects_a_password_that_normalizes_to_more_than_128_characters(
    client: Client, settings: Settings
) -> None:
    password = "ﬀ" * 65  # 65 characters as typed, 130 once normalized
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": password})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_signup_rejects_a_password_that_normalizes_to_fewer_than_8_characters(client: Client) -> None:
    password = unicodedata.normalize("NFD", "áéíó")  # 8 characters as typed, 4 once normalized
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": password})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "password"


async def test_signup_accepts_128_accented_letters_typed_decomposed(client: Client) -> None:
    password = unicodedata.normalize("NFD", "é" * 128)  # 256 characters as typed, 128 once normalized
    response = await client.post("/api/auth/signup", json={"email": "ada@example.com", "password": password})
    assert response.status_code == 201, response.text


async def test_signup_counts_the_full_name_in_its_stored_nfc_form(client: Client) -> None:
    # U+0958 becomes two characters in NFC: 200 of them would no longer fit 200 characters.
    body = {"email": "nfc@example.com", "password": "a fine long passphrase", "full_name": "\u0958" * 200}
    response = await client.post("/api/auth/signup", json=body)
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "full_name"
