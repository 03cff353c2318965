"""The OpenAPI document describes every route, how to authenticate, and what can go wrong."""

from __future__ import annotations

from typing import Any

import pytest
from openapi_spec_validator import validate

from tests.conftest import Client


@pytest.fixture
async def schema(client: Client) -> dict[str, Any]:
    response = await client.get("/schema/openapi.json")
    assert response.status_code == 200
    return dict(response.json())


def operations(schema: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [
        (method.upper(), path, operation)
        for path, item in schema["paths"].items()
        for method, operation in item.items()
        if method in {"get", "post", "put", "patch", "delete"}
    ]


async def test_the_schema_declares_the_oauth2_password_flow(schema: dict[str, Any]) -> None:
    assert schema["openapi"].startswith("3.1")
    scheme = schema["components"]["securitySchemes"]["OAuth2PasswordBearer"]
    assert scheme["type"] == "oauth2"
    assert scheme["flows"]["password"]["tokenUrl"] == "/api/auth/login"


async def test_every_operation_has_an_id_a_tag_and_a_summary(schema: dict[str, Any]) -> None:
    ids = [operation["operationId"] for _, _, operation in operations(schema)]
    assert len(ids) == len(set(ids))
    for method, path, operation in operations(schema):
        assert operation.get("tags"), (method, path)
        assert operation.get("summary"), (method, path)


async def test_every_contract_route_is_documented(schema: dict[str, Any]) -> None:
    documented = {(method, path) for method, path, _ in operations(schema)}
    assert documented >= {
        ("POST", "/api/auth/signup"), ("POST", "/api/auth/login"), ("POST", "/api/auth/refresh"),
        ("POST", "/api/auth/logout"), ("GET", "/api/users/me"), ("PATCH", "/api/users/me"),
        ("PUT", "/api/users/me/password"), ("DELETE", "/api/users/me"), ("POST", "/api/contacts"),
        ("GET", "/api/contacts"), ("GET", "/api/contacts/{contact_id}"), ("PUT", "/api/contacts/{contact_id}"),
        ("PATCH", "/api/contacts/{contact_id}"), ("DELETE", "/api/contacts/{contact_id}"),
        ("GET", "/api/contacts/birthdays"), ("GET", "/health"),
        ("POST", "/api/auth/verify-email"), ("POST", "/api/users/me/verification-email"),
        ("POST", "/api/auth/password-reset"), ("POST", "/api/auth/password-reset/confirm"),
        ("POST", "/api/users/me/email"), ("POST", "/api/auth/confirm-email-change"),
        ("GET", "/api/users/me/sessions"), ("DELETE", "/api/users/me/sessions/{session_id}"),
        ("DELETE", "/api/users/me/sessions"),
    }  # fmt: skip


async def test_protected_routes_require_the_bearer_scheme_and_document_401(schema: dict[str, Any]) -> None:
    public = {("POST", "/api/auth/signup"), ("POST", "/api/auth/login"), ("POST", "/api/auth/refresh"),
              ("GET", "/health"), ("POST", "/api/auth/verify-email"), ("POST", "/api/auth/password-reset"),
              ("POST", "/api/auth/password-reset/confirm"), ("POST", "/api/auth/confirm-email-change")}  # fmt: skip
    for method, path, operation in operations(schema):
        if (method, path) in public:
            assert not operation.get("security"), (method, path)
            continue
        assert operation.get("security") == [{"OAuth2PasswordBearer": []}], (method, path)
        assert "401" in operation["responses"], (method, path)


async def test_contact_routes_document_their_errors(schema: dict[str, Any]) -> None:
    item = schema["paths"]["/api/contacts/{contact_id}"]
    for method in ("get", "put", "patch", "delete"):
        assert "404" in item[method]["responses"], method
    for method in ("put", "patch"):
        assert {"400", "409"} <= set(item[method]["responses"]), method
    assert {"400", "409"} <= set(schema["paths"]["/api/contacts"]["post"]["responses"])


async def test_list_parameters_carry_their_bounds(schema: dict[str, Any]) -> None:
    parameters = {p["name"]: p for p in schema["paths"]["/api/contacts"]["get"]["parameters"]}
    assert {"q", "first_name", "last_name", "email", "limit", "offset"} <= set(parameters)
    assert (parameters["limit"]["schema"]["minimum"], parameters["limit"]["schema"]["maximum"]) == (1, 100)
    days = next(p for p in schema["paths"]["/api/contacts/birthdays"]["get"]["parameters"] if p["name"] == "days")
    assert (days["schema"]["minimum"], days["schema"]["maximum"]) == (1, 366)


async def test_login_documents_both_json_and_the_oauth2_form(schema: dict[str, Any]) -> None:
    content = schema["paths"]["/api/auth/login"]["post"]["requestBody"]["content"]
    assert set(content) == {"application/json", "application/x-www-form-urlencoded"}


async def test_no_schema_exposes_a_password_hash(schema: dict[str, Any]) -> None:
    assert "password_hash" not in str(schema)


async def test_every_operation_documents_the_answers_it_can_give_besides_success(schema: dict[str, Any]) -> None:
    for method, path, operation in operations(schema):
        responses = set(operation["responses"])
        assert "503" in responses, (method, path)  # the database may be down
        if "requestBody" in operation:
            assert {"400", "413"} <= responses, (method, path)
    for path in ("/api/auth/signup", "/api/auth/login", "/api/auth/refresh"):
        assert "429" in schema["paths"][path]["post"]["responses"], path


async def test_request_bodies_forbid_unknown_fields_as_the_server_does(schema: dict[str, Any]) -> None:
    components = schema["components"]["schemas"]
    for name in ("Signup", "RefreshRequest", "ContactWrite", "ContactPatch", "PasswordChange", "AccountDeletion"):
        assert components[name]["additionalProperties"] is False, name


async def test_conditional_requests_are_documented(schema: dict[str, Any]) -> None:
    item = schema["paths"]["/api/contacts/{contact_id}"]
    headers = {
        method: {p["name"] for p in item[method].get("parameters", []) if p["in"] == "header"} for method in item
    }
    assert "If-None-Match" in headers["get"]
    assert {"304", "200"} <= set(item["get"]["responses"])
    assert "content" not in item["get"]["responses"]["304"]
    for method in ("put", "patch", "delete"):
        assert "If-Match" in headers[method], method
        assert "ETag" in item[method]["responses"]["412"]["headers"], method
    for method, path in (("get", "/api/contacts/{contact_id}"), ("put", "/api/contacts/{contact_id}"),
                         ("patch", "/api/contacts/{contact_id}"), ("post", "/api/contacts")):  # fmt: skip
        success = next(r for code, r in schema["paths"][path][method]["responses"].items() if code.startswith("2"))
        assert "ETag" in success["headers"], (method, path)
        assert success["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/ContactRead"}


async def test_the_changes_feed_is_documented_with_plain_schema_names(schema: dict[str, Any]) -> None:
    answer = schema["paths"]["/api/contacts/changes"]["get"]["responses"]["200"]["content"]["application/json"]
    assert answer["schema"] == {"$ref": "#/components/schemas/ContactChangesPage"}
    components = schema["components"]["schemas"]
    assert set(components["ContactChangesPage"]["properties"]) == {"changes", "cursor", "has_more"}
    assert components["ContactChange"]["properties"]["contact"]["oneOf"] == [
        {"$ref": "#/components/schemas/ContactRead"}, {"type": "null"}
    ]  # fmt: skip
    assert {"410", "400"} <= set(schema["paths"]["/api/contacts/changes"]["get"]["responses"])
    assert not [name for name in components if "_" in name or "." in name]


async def test_the_document_is_valid_openapi_3_1(schema: dict[str, Any]) -> None:
    # What strict client generators check first: a header without a schema, say, fails here.
    validate(schema)
