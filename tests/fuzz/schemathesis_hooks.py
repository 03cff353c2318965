"""Schemathesis hooks: authenticate as a real client would, by signing up and logging in.

Loaded by the schemathesis CLI through SCHEMATHESIS_HOOKS; CONTACTS_API_URL names the server.
"""

from __future__ import annotations

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
