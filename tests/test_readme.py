"""The README's curl session works verbatim against `contacts-api serve` (only the port differs)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import in_ci
from tests.live_server import live_server, server_env

README = Path(__file__).parents[1] / "README.md"


def readme_block(heading: str) -> str:
    """The first `sh` block after `heading` (a regex) in the README."""
    block = re.search(heading + r".*?```sh\n(.*?)```", README.read_text(), re.DOTALL)
    assert block, f"the README lost its session after {heading!r}"
    return block.group(1)


def run_session(script: str, tmp_path: Path, cwd: Path | None = None) -> list[str]:
    """Run a README session verbatim (only the port differs) against a fresh `contacts-api
    serve`, in `cwd` (where the files it writes land); its output lines."""
    missing = [tool for tool in ("curl", "jq") if not shutil.which(tool)]
    if missing:
        if in_ci():
            pytest.fail(f"{missing} not installed")
        pytest.skip(f"{missing} not installed")
    with live_server(tmp_path, server_env()) as base_url:
        run = subprocess.run(  # noqa: S603
            ["bash", "-euo", "pipefail", "-c", script.replace("API=http://127.0.0.1:8000", f"API={base_url}")],  # noqa: S607
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            cwd=cwd or tmp_path,
        )
    assert run.returncode == 0, run.stderr
    return run.stdout.strip().splitlines()


def test_the_readme_opens_with_the_two_commands() -> None:
    commands = re.findall(r"^uv run [^\n#]+", README.read_text().split("\n\n## ")[0], re.MULTILINE)
    assert [command.strip() for command in commands] == ["uv run contacts-api serve", "uv run pytest"]


def test_the_curl_session_runs_against_a_fresh_server(tmp_path: Path) -> None:
    lines = run_session(readme_block("A session with curl"), tmp_path)
    assert '"email":"ada@example.com"' in lines[0]  # signup
    assert '"last_name":"Hopper"' in lines[1]  # create, a version 2 body
    assert '"e164":"+15550100200"' in lines[1]
    assert '"birthday":"--07-14"' in lines[2]  # a contact without the year of its birthday
    assert '"total":1' in lines[3]  # q=hop
    assert '"total":1' in lines[4]
    assert "Hopper" in lines[4]
    assert '"total":1' in lines[5]  # tag=work&favorite=true: "Work", compared case-insensitively
    assert json.loads(lines[6]) == [
        {"name": "compilers", "count": 1},
        {"name": "family", "count": 1},
        {"name": "Work", "count": 1},
    ]
    assert '"next_birthday"' in lines[7]
    assert "Sam" in lines[7]
    assert '"age":null' in lines[7]
    assert lines[-1] == "204"  # logout


def test_the_import_and_export_session_runs_against_a_fresh_server(tmp_path: Path) -> None:
    work = tmp_path / "work"
    work.mkdir()  # the files the session writes (phone.vcf, contacts.vcf, compilers.csv) land here
    dry_run, first, again, *card = run_session(readme_block("### Moving an address book in and out"), tmp_path, work)
    assert json.loads(dry_run)["dry_run"] is True
    assert [item["status"] for item in json.loads(dry_run)["items"]] == ["created", "created"]
    report = json.loads(first)
    assert (report["created"], report["items"][0]["dropped"]) == (2, ["PHOTO"])
    assert json.loads(again)["skipped"] == 2
    exported = (work / "contacts.vcf").read_text()
    assert exported.count("BEGIN:VCARD") == 2
    assert "BDAY:--1209" in exported  # the year-less birthday stays year-less
    csv_rows = (work / "compilers.csv").read_text().splitlines()
    assert csv_rows[0].startswith("First Name,Middle Name,Last Name")
    assert len(csv_rows) == 2  # the tag filter: Grace only
    assert card[0] == "BEGIN:VCARD"
    assert "item1.X-ABLabel:Lab" in card


def test_the_sync_session_runs_against_a_fresh_server(tmp_path: Path) -> None:
    first_sync, refused, changed, not_modified, deleted, last = run_session(
        readme_block("### Syncing a client"), tmp_path
    )
    assert json.loads(first_sync) == [False, ["Grace"]]
    assert refused == "412"
    assert json.loads(changed) == [[False, "from the phone"]]
    assert (not_modified, deleted) == ("304", "204")
    assert [(change["deleted"], change["contact"]) for change in json.loads(last)] == [(True, None)]
