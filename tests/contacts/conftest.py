"""Helpers for the contacts tests."""

from __future__ import annotations

from typing import Any

from tests.conftest import ApiUser, Client


def contact_body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "first_name": "Ada",
        "last_name": "Lovelace",
        "email": "ada@example.com",
        "phone": "+44 20 7946 0958",
        "birthday": "1990-12-10",
        "notes": "Met at the Analytical Engine meetup",
    }
    body.update(overrides)
    return body


async def create_contact(client: Client, owner: ApiUser, **overrides: Any) -> dict[str, Any]:
    response = await client.post("/api/contacts", headers=owner.headers, json=contact_body(**overrides))
    assert response.status_code == 201, response.text
    return dict(response.json())
