"""`contacts-api contacts import` and `contacts-api contacts export`, run as an operator runs them."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
import vobject  # type: ignore[import-untyped]
from click.testing import CliRunner

from contacts_api.cli import main
from tests.conftest import query_scalar
from tests.interchange.conftest import FIXTURES, vcard

OWNER = "owner@example.com"


@pytest.fixture
def database_url(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    """A migrated SQLite file with one account, OWNER, whose book is empty."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'book.db'}"
    monkeypatch.setenv("DATABASE_URL", url)
    CliRunner().invoke(main, ["db", "upgrade"], catch_exceptions=False)
    created = CliRunner().invoke(main, ["users", "create", "--email", OWNER, "--password", "a fine long passphrase"])
    assert created.exit_code == 0, created.output
    return url


def contact_count(url: str) -> int:
    return int(asyncio.run(query_scalar(url, "SELECT count(*) FROM contacts")))


def write_cards(path: Path, count: int) -> Path:
    path.write_text("".join(vcard(f"FN:Person {n}", f"EMAIL:person{n}@example.com") for n in range(count)))
    return path


def test_import_stores_the_file_and_prints_the_counts(database_url: str) -> None:
    result = CliRunner().invoke(
        main, ["contacts", "import", "--user", OWNER, str(FIXTURES / "apple-addressbook-sap-latin1.vcf")]
    )
    assert result.exit_code == 0, result.output
    assert result.output.strip().endswith("30 created, 0 updated, 0 skipped, 0 failed (were stored)")
    assert contact_count(database_url) == 30


def test_import_dry_run_reports_and_stores_nothing(database_url: str, tmp_path: Path) -> None:
    cards = write_cards(tmp_path / "cards.vcf", 3)
    result = CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, "--dry-run", str(cards)])
    assert result.exit_code == 0, result.output
    assert "3 created, 0 updated, 0 skipped, 0 failed (would be stored — dry run)" in result.output
    assert contact_count(database_url) == 0


def test_import_names_each_skipped_duplicate_and_writes_the_report_as_json(database_url: str, tmp_path: Path) -> None:
    cards = write_cards(tmp_path / "cards.vcf", 2)
    assert CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, str(cards)]).exit_code == 0
    report_path = tmp_path / "report.json"
    result = CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, "--report", str(report_path), str(cards)])
    assert result.exit_code == 0, result.output
    assert "record 0 skipped: Person 0:" in result.output
    report = json.loads(report_path.read_text())
    assert (report["created"], report["skipped"]) == (0, 2)
    assert [item["status"] for item in report["items"]] == ["skipped", "skipped"]
    assert contact_count(database_url) == 2


def test_import_on_duplicate_update_changes_the_existing_contact(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "first.vcf").write_text(vcard("FN:Ada", "EMAIL:ada@example.com"))
    (tmp_path / "second.vcf").write_text(vcard("FN:Ada", "EMAIL:ada@example.com", "TITLE:Analyst"))
    CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, str(tmp_path / "first.vcf")])
    result = CliRunner().invoke(
        main, ["contacts", "import", "--user", OWNER, "--on-duplicate", "update", str(tmp_path / "second.vcf")]
    )
    assert "0 created, 1 updated" in result.output
    assert asyncio.run(query_scalar(database_url, "SELECT job_title FROM contacts")) == "Analyst"


def test_import_of_a_file_that_holds_no_contacts_is_one_line_and_exit_code_1(database_url: str, tmp_path: Path) -> None:
    (tmp_path / "notes.txt").write_text("just some notes\nnothing more\n")
    result = CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, str(tmp_path / "notes.txt")])
    assert result.exit_code == 1
    assert result.output.startswith("Error: ")
    assert len(result.output.strip().splitlines()) == 1
    assert contact_count(database_url) == 0


def test_import_for_an_unknown_account_is_one_line_and_exit_code_1(database_url: str, tmp_path: Path) -> None:
    cards = write_cards(tmp_path / "cards.vcf", 1)
    result = CliRunner().invoke(main, ["contacts", "import", "--user", "nobody@example.com", str(cards)])
    assert (result.exit_code, result.output.strip()) == (1, "Error: no account has the email nobody@example.com")
    assert contact_count(database_url) == 0


def test_export_writes_every_contact_as_vcard_4_to_the_output_file(database_url: str, tmp_path: Path) -> None:
    CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, str(write_cards(tmp_path / "in.vcf", 3))])
    out = tmp_path / "out.vcf"
    result = CliRunner().invoke(main, ["contacts", "export", "--user", OWNER, "-o", str(out)])
    assert result.exit_code == 0, result.output
    cards = list(vobject.readComponents(out.read_text()))
    assert sorted(card.fn.value for card in cards) == ["Person 0", "Person 1", "Person 2"]
    assert {card.version.value for card in cards} == {"4.0"}


def test_export_as_csv_to_stdout_is_the_header_and_one_row_per_contact_only(database_url: str, tmp_path: Path) -> None:
    CliRunner().invoke(main, ["contacts", "import", "--user", OWNER, str(write_cards(tmp_path / "in.vcf", 2))])
    result = CliRunner().invoke(main, ["contacts", "export", "--user", OWNER, "--format", "csv"])
    assert result.exit_code == 0
    lines = result.stdout.splitlines()
    assert lines[0].startswith("First Name,")
    assert len(lines) == 3  # the progress bar and the count go to stderr, not into the file
    assert "exported 2 contact(s)" in result.stderr


def test_export_from_a_database_without_the_tables_is_one_line_and_exit_code_1(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DATABASE_URL", f"sqlite+aiosqlite:///{tmp_path / 'never-migrated.db'}")
    result = CliRunner().invoke(main, ["contacts", "export", "--user", OWNER])
    assert result.exit_code == 1
    assert result.output.startswith("Error: database error: ")
    assert len(result.output.strip().splitlines()) == 1
