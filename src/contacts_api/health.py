"""GET /health: is the service up, and can it reach its database?"""

from __future__ import annotations

import logging
from typing import Literal

import msgspec
from advanced_alchemy.extensions.litestar import SQLAlchemyAsyncConfig
from litestar import Response, get
from litestar.datastructures import State
from litestar.openapi.datastructures import ResponseSpec
from litestar.status_codes import HTTP_200_OK, HTTP_503_SERVICE_UNAVAILABLE

from contacts_api.db import DB_CONFIG_STATE_KEY, ping
from contacts_api.errors import RETRY_AFTER_SECONDS, describe_cause, is_connection_failure

logger = logging.getLogger(__name__)


class HealthStatus(msgspec.Struct):
    status: Literal["ok", "unavailable"]
    database: Literal["ok", "unavailable"]


@get(
    "/health",
    operation_id="health",
    tags=["Operations"],
    summary="Liveness and database reachability",
    responses={HTTP_503_SERVICE_UNAVAILABLE: ResponseSpec(HealthStatus, description="The database cannot be reached")},
)
async def health(state: State) -> Response[HealthStatus]:
    """`200` when a `SELECT 1` through the pool succeeds, `503` otherwise."""
    config: SQLAlchemyAsyncConfig = state[DB_CONFIG_STATE_KEY]
    try:
        await ping(config.get_engine())
    except Exception as exc:
        if not is_connection_failure(exc):
            raise
        logger.warning("health check: database unreachable (%s)", describe_cause(exc))
        return Response(
            HealthStatus("unavailable", "unavailable"),
            status_code=HTTP_503_SERVICE_UNAVAILABLE,
            headers={"Retry-After": RETRY_AFTER_SECONDS},
        )
    return Response(HealthStatus("ok", "ok"), status_code=HTTP_200_OK)
