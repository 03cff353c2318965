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
