"""/api/users/me: read, rename, change password, delete."""

from __future__ import annotations

from contacts_api.config import Settings
from tests.conftest import PASSWORD, ApiUser, Client, query_scalar, sign_up_and_log_in
from tests.contacts.conftest import contact_body
from tests.test_login import store_a_hash_made_before_normalization
from tests.test_password_policy import COMPOSED, DECOMPOSED, full_width

NEW_PASSWORD = "an even longer new passphrase"


async def test_me_returns_the_user_without_the_hash(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/users/me", headers=user.headers)
    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "email", "full_name", "email_verified", "created_at"}
    assert body["id"] == user.id
    assert "argon2" not in response.text


async def test_no_response_of_the_accounts_flow_contains_the_hash(client: Client, settings: Settings) -> None:
    responses = [await client.post("/api/auth/signup", json={"email": "h@example.com", "password": PASSWORD})]
    responses.append(await client.post("/api/auth/login", json={"email": "h@example.com", "password": PASSWORD}))
    headers = {"Authorization": f"Bearer {responses[-1].json()['access_token']}"}
    responses.append(await client.get("/api/users/me", headers=headers))
    responses.append(await client.patch("/api/users/me", headers=headers, json={"full_name": "H"}))
    stored_hash = await query_scalar(settings.database_url, "SELECT password_hash FROM users")
    for response in responses:
        assert stored_hash not in response.text
        assert "password_hash" not in response.text
        assert "$argon2" not in response.text


async def test_patch_me_changes_the_full_name(client: Client, user: ApiUser) -> None:
    response = await client.patch("/api/users/me", headers=user.headers, json={"full_name": "  Grace Hopper "})
    assert response.status_code == 200
    assert response.json()["full_name"] == "Grace Hopper"
    assert (await client.get("/api/users/me", headers=user.headers)).json()["full_name"] == "Grace Hopper"


async def test_patch_me_rejects_other_fields(client: Client, user: ApiUser) -> None:
    response = await client.patch("/api/users/me", headers=user.headers, json={"email": "x@example.com"})
    assert response.status_code == 400
    assert (await client.get("/api/users/me", headers=user.headers)).json()["email"] == user.email


async def test_change_password_then_log_in_with_the_new_one(client: Client, user: ApiUser) -> None:
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204
    old = await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})
    new = await client.post("/api/auth/login", json={"email": user.email, "password": NEW_PASSWORD})
    assert (old.status_code, new.status_code) == (401, 200)


async def test_change_password_revokes_every_other_session(client: Client, user: ApiUser) -> None:
    other = (await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})).json()
    await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
    )
    other_headers = {"Authorization": f"Bearer {other['access_token']}"}
    assert (await client.get("/api/users/me", headers=other_headers)).status_code == 401
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 200


async def test_change_password_with_a_wrong_current_password_is_401(client: Client, user: ApiUser) -> None:
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": "not my password", "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 401
    assert (await client.post("/api/auth/login", json={"email": user.email, "password": PASSWORD})).status_code == 200


async def test_change_password_to_an_invalid_one_is_400(client: Client, user: ApiUser) -> None:
    for bad in ["short", "password123", "x" * 129]:
        response = await client.put(
            "/api/users/me/password", headers=user.headers, json={"current_password": PASSWORD, "new_password": bad}
        )
        assert response.status_code == 400, bad
        assert response.json()["extra"][0]["key"] == "new_password"


async def test_delete_me_removes_user_sessions_and_contacts(client: Client, user: ApiUser, settings: Settings) -> None:
    created = await client.post(
        "/api/contacts",
        headers=user.headers,
        json=contact_body(),
    )
    assert created.status_code == 201
    response = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": PASSWORD})
    assert response.status_code == 204
    for table in ("users", "sessions", "contacts"):
        assert await query_scalar(settings.database_url, f"SELECT count(*) FROM {table}") == 0, table
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 401


async def test_delete_me_with_a_wrong_password_is_401_and_keeps_the_account(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    response = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": "wrong one"})
    assert response.status_code == 401
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 1


async def test_an_empty_patch_changes_nothing(client: Client, user: ApiUser) -> None:
    response = await client.patch("/api/users/me", headers=user.headers, json={})
    assert response.status_code == 200
    assert response.json()["full_name"] == "Test User"


async def test_a_password_change_racing_the_account_deletion_never_answers_500(client: Client, user: ApiUser) -> None:
    from tests.conftest import run_concurrently

    change, deletion = run_concurrently(
        client,
        lambda http: http.put(
            "/api/users/me/password",
            headers=user.headers,
            json={"current_password": PASSWORD, "new_password": NEW_PASSWORD},
        ),
        lambda http: http.request("DELETE", "/api/users/me", headers=user.headers, json={"password": PASSWORD}),
    )
    assert change.status_code in (204, 401, 409), change.text
    assert deletion.status_code in (204, 401, 409), deletion.text


async def test_change_password_accepts_the_current_password_typed_decomposed(client: Client) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": DECOMPOSED, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204, response.text


async def test_a_new_password_set_composed_logs_in_typed_decomposed(client: Client, user: ApiUser) -> None:
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": COMPOSED},
    )
    assert response.status_code == 204
    login = await client.post("/api/auth/login", json={"email": user.email, "password": DECOMPOSED})
    assert login.status_code == 200, login.text


async def test_change_password_to_a_common_password_typed_in_full_width_letters_is_400(
    client: Client, user: ApiUser
) -> None:
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": full_width("password1")},
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "new_password"


async def test_change_password_counts_the_new_password_after_normalization(client: Client, user: ApiUser) -> None:
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": PASSWORD, "new_password": "ﬀ" * 65},  # 130 characters once normalized
    )
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "new_password"


async def test_change_password_accepts_a_current_password_whose_hash_predates_normalization(
    client: Client, settings: Settings
) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    await store_a_hash_made_before_normalization(settings, user.email, DECOMPOSED)
    response = await client.put(
        "/api/users/me/password",
        headers=user.headers,
        json={"current_password": DECOMPOSED, "new_password": NEW_PASSWORD},
    )
    assert response.status_code == 204, response.text


async def test_delete_me_accepts_the_password_typed_decomposed(client: Client, settings: Settings) -> None:
    user = await sign_up_and_log_in(client, password=COMPOSED)
    response = await client.request("DELETE", "/api/users/me", headers=user.headers, json={"password": DECOMPOSED})
    assert response.status_code == 204, response.text
    assert await query_scalar(settings.database_url, "SELECT count(*) FROM users") == 0


async def test_patch_me_counts_the_full_name_in_its_stored_nfc_form(client: Client, user: ApiUser) -> None:
    response = await client.patch("/api/users/me", headers=user.headers, json={"full_name": "\u0958" * 200})
    assert response.status_code == 400
    assert response.json()["extra"][0]["key"] == "full_name"
    assert (await client.get("/api/users/me", headers=user.headers)).json()["full_name"] == "Test User"
