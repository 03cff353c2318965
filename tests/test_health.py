"""GET /health"""

from __future__ import annotations

from litestar.testing import AsyncTestClient

from contacts_api.app import create_app
from tests.conftest import Client, make_settings


async def test_health_is_ok_with_the_database_up(client: Client) -> None:
    response = await client.get("/health")
    assert response.status_code == 200
    assert response.json() == {"status": "ok", "database": "ok"}


async def test_health_is_503_with_the_database_gone() -> None:
    # Nothing listens on port 9: the connection is refused at once.
    app = create_app(make_settings("postgresql+asyncpg://postgres@127.0.0.1:9/none", db_pool_timeout_seconds=2))
    async with AsyncTestClient(app=app) as client:
        response = await client.get("/health")
        assert response.status_code == 503
        assert response.json() == {"status": "unavailable", "database": "unavailable"}
