"""Access tokens as the API checks them: forged, expired, wrong audience, wrong kind…"""

from __future__ import annotations

import asyncio
import base64
import datetime
import json
import math
from typing import Any

import jwt
import pytest

from contacts_api.config import Settings
from tests.conftest import TEST_JWT_SECRET, ApiUser, Client


def claims_of(token: str) -> dict[str, Any]:
    return dict(jwt.decode(token, options={"verify_signature": False}))


def forge(claims: dict[str, Any], *, secret: str = TEST_JWT_SECRET, typ: str = "at+jwt") -> str:
    return jwt.encode(claims, secret, algorithm="HS256", headers={"typ": typ})


async def assert_rejected(client: Client, token: str) -> None:
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
    assert 'error="invalid_token"' in response.headers["www-authenticate"]
    assert response.json()["status_code"] == 401


async def test_a_valid_access_token_reaches_me(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/users/me", headers=user.headers)
    assert response.status_code == 200
    assert response.json()["email"] == user.email


async def test_no_token_is_401_with_a_bearer_challenge(client: Client) -> None:
    response = await client.get("/api/users/me")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == 'Bearer realm="contacts-api"'


async def test_a_non_bearer_scheme_is_401(client: Client, user: ApiUser) -> None:
    response = await client.get("/api/users/me", headers={"Authorization": f"Basic {user.access_token}"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_garbage_token_is_401(client: Client) -> None:
    await assert_rejected(client, "not.a.jwt")


async def test_forged_signature_is_401(client: Client, user: ApiUser) -> None:
    await assert_rejected(client, forge(claims_of(user.access_token), secret="another-secret-of-at-least-32-bytes!!"))


async def test_alg_none_is_401(client: Client, user: ApiUser) -> None:
    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    unsigned = f"{b64({'alg': 'none', 'typ': 'at+jwt'})}.{b64(claims_of(user.access_token))}."
    await assert_rejected(client, unsigned)


async def test_expired_token_is_401(client: Client, user: ApiUser) -> None:
    claims = claims_of(user.access_token)
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    claims.update(iat=now - 3600, exp=now - 600)
    await assert_rejected(client, forge(claims))


async def test_token_issued_in_the_future_is_401(client: Client, user: ApiUser) -> None:
    claims = claims_of(user.access_token)
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    claims.update(iat=now + 3600, exp=now + 7200)
    await assert_rejected(client, forge(claims))


async def test_small_clock_skew_is_tolerated(client: Client, user: ApiUser) -> None:
    claims = claims_of(user.access_token)
    claims["iat"] += 5  # another host's clock a few seconds ahead
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {forge(claims)}"})
    assert response.status_code == 200


@pytest.mark.parametrize(("claim", "value"), [("aud", "someone-else"), ("iss", "someone-else")])
async def test_wrong_audience_or_issuer_is_401(client: Client, user: ApiUser, claim: str, value: str) -> None:
    claims = claims_of(user.access_token)
    claims[claim] = value
    await assert_rejected(client, forge(claims))


@pytest.mark.parametrize("missing", ["sub", "iat", "exp", "jti", "iss", "aud", "sid", "token_use"])
async def test_a_token_missing_a_required_claim_is_401(client: Client, user: ApiUser, missing: str) -> None:
    claims = claims_of(user.access_token)
    del claims[missing]
    await assert_rejected(client, forge(claims))


async def test_a_refresh_token_is_not_an_access_token(client: Client, user: ApiUser) -> None:
    await assert_rejected(client, user.refresh_token)


async def test_a_refresh_token_relabelled_as_access_is_still_refused(client: Client, user: ApiUser) -> None:
    # Right claims, wrong header: PyJWT ignores `typ`, so the API must check it itself.
    claims = claims_of(user.refresh_token)
    claims["token_use"] = "access"
    await assert_rejected(client, forge(claims, typ="refresh+jwt"))


async def test_an_access_token_is_not_a_refresh_token(client: Client, user: ApiUser) -> None:
    response = await client.post("/api/auth/refresh", json={"refresh_token": user.access_token})
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")


async def test_a_jku_header_is_ignored(client: Client, user: ApiUser) -> None:
    # The key is always our own secret: a token naming a key set of its own is checked against
    # that secret all the same. Signed with it, the header changes nothing…
    claims = claims_of(user.access_token)
    jku = {"typ": "at+jwt", "jku": "https://attacker.invalid/jwks.json", "x5u": "https://attacker.invalid/x5"}
    ours = jwt.encode(claims, TEST_JWT_SECRET, algorithm="HS256", headers=jku)
    assert (await client.get("/api/users/me", headers={"Authorization": f"Bearer {ours}"})).status_code == 200
    # …and signed with the key it points to, it is refused.
    await assert_rejected(client, jwt.encode(claims, "attacker-secret-of-at-least-32-bytes!!", "HS256", headers=jku))


async def test_an_access_token_accepted_before_is_refused_once_it_expires(
    client: Client, user: ApiUser, settings: Settings
) -> None:
    # Verified tokens are remembered (TokenCodec): the memory must not outlive `exp` + leeway.
    claims = claims_of(user.access_token)
    now = int(datetime.datetime.now(datetime.UTC).timestamp())
    # Accepted for 1 to 2 more seconds (`now` is truncated), whatever the sub-second part.
    claims.update(iat=now - 600, exp=now - settings.jwt_leeway_seconds + 2)
    token = forge(claims)
    response = await client.get("/api/users/me", headers={"Authorization": f"Bearer {token}"})
    assert response.status_code == 200
    await asyncio.sleep(3.1)
    await assert_rejected(client, token)


async def test_an_access_token_stops_working_at_logout_although_it_was_accepted_before(
    client: Client, user: ApiUser
) -> None:
    assert (await client.get("/api/users/me", headers=user.headers)).status_code == 200
    assert (await client.post("/api/auth/logout", headers=user.headers)).status_code == 204
    await assert_rejected(client, user.access_token)


YEAR_2100 = 4_102_444_800  # a time well in range, so that only the type of the claim is wrong
YEAR_2023 = 1_700_000_000

# Claims of the wrong type or out of range, each in a token signed with the server's own secret:
# only the claims the service signs, in the types and ranges it signs them, are trusted.
CLAIMS_OUT_OF_TYPE_OR_RANGE = [
    pytest.param("exp", 10**400, id="exp of 10**400"),
    pytest.param("exp", 1e308, id="exp of 1e308 as a float"),
    pytest.param("exp", math.inf, id="exp of infinity"),
    pytest.param("exp", str(YEAR_2100), id="exp as a string"),
    pytest.param("iat", 10**400, id="iat of 10**400"),
    pytest.param("iat", str(YEAR_2023), id="iat as a string"),
    pytest.param("iat", -1, id="iat before 1970"),
    pytest.param("nbf", 10**400, id="nbf of 10**400"),
    pytest.param("nbf", [0], id="nbf as a list"),
    pytest.param("sub", "not-a-uuid", id="sub not a uuid"),
    pytest.param("sid", 12345, id="sid as a number"),
    pytest.param("jti", ["a", "list"], id="jti a list"),
]


@pytest.mark.parametrize(("claim", "value"), CLAIMS_OUT_OF_TYPE_OR_RANGE)
async def test_a_signed_access_token_with_a_claim_out_of_type_or_range_is_401(
    client: Client, user: ApiUser, claim: str, value: Any
) -> None:
    claims = claims_of(user.access_token)
    claims[claim] = value
    await assert_rejected(client, forge(claims))


@pytest.mark.parametrize(("claim", "value"), CLAIMS_OUT_OF_TYPE_OR_RANGE)
async def test_a_signed_refresh_token_with_a_claim_out_of_type_or_range_is_401(
    client: Client, user: ApiUser, claim: str, value: Any
) -> None:
    claims = claims_of(user.refresh_token)
    claims[claim] = value
    response = await client.post("/api/auth/refresh", json={"refresh_token": forge(claims, typ="refresh+jwt")})
    assert response.status_code == 401, response.text
    assert response.headers["www-authenticate"].startswith("Bearer")
