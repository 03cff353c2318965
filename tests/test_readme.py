"""The README's curl session works verbatim against `contacts-api serve` (only the port differs)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.test_cli import free_port, wait_until_healthy

README = Path(__file__).parents[1] / "README.md"


def curl_session() -> str:
    text = README.read_text()
    block = re.search(r"A session with curl.*?```sh\n(.*?)```", text, re.DOTALL)
    assert block, "the README lost its curl session"
    return block.group(1)


def test_the_readme_opens_with_the_two_commands() -> None:
    commands = re.findall(r"^uv run [^\n#]+", README.read_text().split("\n\n## ")[0], re.MULTILINE)
    assert [command.strip() for command in commands] == ["uv run contacts-api serve", "uv run pytest"]


def test_the_curl_session_runs_against_a_fresh_server(tmp_path: Path) -> None:
    missing = [tool for tool in ("curl", "jq") if not shutil.which(tool)]
    if missing:
        if in_ci():
            pytest.fail(f"{missing} not installed")
        pytest.skip(f"{missing} not installed")
    port = free_port()
    env = {key: value for key, value in os.environ.items() if key not in {"DATABASE_URL", "JWT_SECRET"}}
    server = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "contacts_api.cli", "serve", "--port", str(port)],
        cwd=tmp_path,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_healthy(port, server)
        script = curl_session().replace("API=http://127.0.0.1:8000", f"API=http://127.0.0.1:{port}")
        run = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        server.terminate()
        server.wait(timeout=20)
    assert run.returncode == 0, run.stderr
    lines = run.stdout.strip().splitlines()
    assert '"email":"ada@example.com"' in lines[0]  # signup
    assert '"last_name":"Hopper"' in lines[1]  # create
    assert '"total":1' in lines[2]  # list
    assert '"next_birthday"' in lines[3] or lines[3] == "[]"  # birthdays (Grace's is 9 December)
    assert lines[-1] == "204"  # logout
