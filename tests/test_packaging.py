"""A built wheel is self-sufficient: installed elsewhere, it migrates and serves (as in Docker)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import httpx

from tests.live_server import live_server, server_env

PROJECT = Path(__file__).parents[1]


def run(*command: str | Path, cwd: Path = PROJECT) -> str:
    result = subprocess.run([str(part) for part in command], cwd=cwd, capture_output=True, text=True, check=False)  # noqa: S603
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


def test_the_wheel_carries_the_migrations_and_serves(tmp_path: Path) -> None:
    run("uv", "build", "--wheel", "--out-dir", tmp_path / "dist")
    [wheel] = (tmp_path / "dist").glob("*.whl")
    run("uv", "venv", "--quiet", tmp_path / "venv")
    python = tmp_path / "venv" / "bin" / "python"
    run("uv", "pip", "install", "--quiet", "--python", python, wheel)
    workdir = tmp_path / "elsewhere"
    workdir.mkdir()
    contacts_api = tmp_path / "venv" / "bin" / "contacts-api"
    assert "database is at head" in run(contacts_api, "db", "upgrade", cwd=workdir)
    with live_server(workdir, server_env(), command=[contacts_api]) as base_url:
        assert httpx.get(f"{base_url}/health").json() == {"status": "ok", "database": "ok"}
        # The vendored docs assets are in the wheel too.
        assert httpx.get(f"{base_url}/schema/assets/swagger-ui/swagger-ui.css").status_code == 200
