"""advanced-alchemy's config registry (see db.alchemy_config): a process may build any number of apps."""

from __future__ import annotations

from pathlib import Path

from contacts_api.db import alchemy_config
from tests.conftest import make_settings


def test_a_process_can_build_more_configs_than_the_recursion_limit(tmp_path: Path) -> None:
    settings = make_settings(f"sqlite+aiosqlite:///{tmp_path / 'many.db'}")
    keys = {alchemy_config(settings).session_scope_key for _ in range(1500)}
    assert len(keys) == 1500
