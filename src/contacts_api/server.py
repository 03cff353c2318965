"""How the API runs as a long-lived server process: Granian with the production settings, behind
trusted proxies' X-Forwarded-* headers, and the garbage collector tuned for that process.

Granian, chosen by measurement (see README, Performance): its HTTP layer is Rust, so a request
costs less of the one Python core than under uvicorn (h11), and, unlike uvicorn's httptools
parser, it hands any method to the app, which answers an unknown one with the JSON 405.

The benchmark's baseline apps run through here too, so that they are served exactly as the API is.
"""

from __future__ import annotations

import gc
import importlib
import os
from typing import Any

from granian import Granian
from granian.constants import Interfaces, Loops
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware

from contacts_api.config import load_settings

# The server imports the app factory by name in each worker process; the factory below builds the
# app this variable names ("module:function"), then prepares that process.
APP_FACTORY_VARIABLE = "CONTACTS_API_APP_FACTORY"


def run_server(
    app_factory: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    reload: bool = False,
    log_config: dict[str, Any] | None = None,
) -> None:
    """Serve the app built by `app_factory` ("module:function") with the production settings."""
    os.environ[APP_FACTORY_VARIABLE] = app_factory
    Granian(
        f"{__name__}:build_served_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        workers=workers,
        loop=Loops.uvloop,
        websockets=False,
        reload=reload,
        log_dictconfig=log_config,
        # The app writes its own access line (middleware.py), without query strings.
        log_access=False,
    ).serve()


def build_served_app() -> Any:
    module_name, _, function_name = os.environ[APP_FACTORY_VARIABLE].partition(":")
    app = getattr(importlib.import_module(module_name), function_name)()
    tune_garbage_collector()
    trusted_proxies = load_settings(for_serving=False).forwarded_allow_ips
    return ProxyHeadersMiddleware(app, trusted_hosts=trusted_proxies)


def tune_garbage_collector() -> None:
    """Collect less often, and never walk the objects that live as long as the process.

    Python's defaults collect the youngest objects every 700 allocations, and a request makes
    thousands (SQLAlchemy, Litestar, msgspec), so collections ran several times per request; the
    full ones also walked every long-lived object (routes, mappers, the OpenAPI document). Frozen
    after start-up, those are skipped. Measured with the benchmark: about 15 % more requests per
    second and half the p99 latency. Only for a server process: the tests build many apps.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(5_000, 20, 50)
