"""Schemathesis hooks: authenticate as a real client would, by signing up and logging in.

Loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS; CONTACTS_API_URL names the server.
"""

from __future__ import annotations

import datetime
import os
import uuid
from typing import Any

import requests
import schemathesis

BASE_URL = os.environ["CONTACTS_API_URL"]
CREDENTIALS = {"email": f"fuzzer-{uuid.uuid4().hex[:10]}@example.com", "password": "fuzzing passphrase 2026"}


@schemathesis.auth()
class SignUpAndLogIn:
    """One account for the whole run; a 401 (after the fuzzer logs itself out) logs in again."""

    signed_up = False

    def get(self, case: Any, context: Any) -> str:
        if not SignUpAndLogIn.signed_up:
            requests.post(f"{BASE_URL}/api/auth/signup", json=CREDENTIALS, timeout=10)
            SignUpAndLogIn.signed_up = True
        response = requests.post(f"{BASE_URL}/api/auth/login", json=CREDENTIALS, timeout=10)
        response.raise_for_status()
        return str(response.json()["access_token"])

    def set(self, case: Any, data: str, context: Any) -> None:
        case.headers = case.headers or {}
        case.headers["Authorization"] = f"Bearer {data}"


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: dict[str, Any]) -> None:
    """Let well-formed password changes through: the fuzzer cannot guess its own password.

    Positive cases of PUT /api/users/me/password get the real password as both current and new
    one, so the route is exercised past its 401 and the account keeps working. (DELETE
    /api/users/me stays at 401: deleting the fuzzer's account mid-run would end its scenarios.)
    """
    meta = getattr(case, "meta", None)
    positive = meta is not None and meta.generation.mode.is_positive
    if positive and case.operation.label == "PUT /api/users/me/password" and isinstance(case.body, dict):
        case.body = {**case.body, "current_password": CREDENTIALS["password"], "new_password": CREDENTIALS["password"]}
    if positive and case.operation.label in CONTACT_WRITES and isinstance(case.body, dict):
        case.body = within_the_worded_rules(case.body)


CONTACT_WRITES = {"POST /api/contacts", "PUT /api/contacts/{contact_id}", "PATCH /api/contacts/{contact_id}"}


def within_the_worded_rules(body: dict[str, Any]) -> dict[str, Any]:
    """A positive contact body, kept within the two rules the document states in words rather
    than in its schema (the contacts issue asks for the birthday as a plain pattern plus words):
    a birthday is a real date, not in the future (`2023-02-30` matches the pattern), and one
    address is not given twice in one contact (compared trimmed and lower-cased)."""
    body = dict(body)
    birthday = body.get("birthday")
    if isinstance(birthday, str) and not is_a_real_past_birthday(birthday):
        body["birthday"] = "--05-17"
    emails = body.get("emails")
    if isinstance(emails, list):
        seen: set[str] = set()
        unique = []
        for entry in emails:
            address = entry.get("value", "").strip().lower() if isinstance(entry, dict) else None
            if address not in seen:
                unique.append(entry)
            seen.add(address)  # type: ignore[arg-type]
        body["emails"] = unique
    return body


def is_a_real_past_birthday(birthday: str) -> bool:
    try:
        if birthday.startswith("--"):
            datetime.date(2000, int(birthday[2:4]), int(birthday[5:7]))
            return True
        day = datetime.date.fromisoformat(birthday)
    except ValueError:
        return False
    return datetime.date(1000, 1, 1) <= day <= datetime.datetime.now(datetime.UTC).date()
