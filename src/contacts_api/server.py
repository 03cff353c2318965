"""How the API runs as a long-lived server process: Granian with the production settings, behind
trusted proxies' X-Forwarded-* headers, and the garbage collector tuned for that process.

Granian, chosen by measurement (see README, Performance): its HTTP layer is Rust, so a request
costs less of the one Python core than under uvicorn (h11), and, unlike uvicorn's httptools
parser, it hands any method to the app, which answers an unknown one with the JSON 405.

The benchmark's baseline apps run through here too, so that they are served exactly as the API is.
"""

from __future__ import annotations

import errno
import gc
import importlib
import os
import socket
import sys
from pathlib import Path
from typing import Any

from granian import Granian
from granian.constants import HTTPModes, Interfaces, Loops
from granian.log import LogLevels
from uvicorn.middleware.proxy_headers import ProxyHeadersMiddleware
from watchfiles import PythonFilter

from contacts_api.config import load_settings

# The server imports the app factory by name in each worker process; the factory below builds the
# app this variable names ("module:function"), then prepares that process.
APP_FACTORY_VARIABLE = "CONTACTS_API_APP_FACTORY"
PACKAGE_DIR = Path(__file__).resolve().parent
# How long a worker may take to finish its requests when told to stop, before it is killed.
WORKER_STOP_SECONDS = 10


class PortUnavailableError(Exception):
    """The address to listen on is taken or cannot be used; the message says which."""


def run_server(
    app_factory: str,
    *,
    host: str,
    port: int,
    workers: int = 1,
    reload: bool = False,
    log_config: dict[str, Any] | None = None,
    log_level: str = "info",
) -> None:
    """Serve the app built by `app_factory` ("module:function") with the production settings."""
    ensure_port_free(host, port)
    os.environ[APP_FACTORY_VARIABLE] = app_factory
    Granian(
        f"{__name__}:build_served_app",
        factory=True,
        address=host,
        port=port,
        interface=Interfaces.ASGI,
        # HTTP/1.1, and HTTP/2 for clients that know to speak it in cleartext. Measured: serving
        # HTTP/1.1 alone is about a tenth slower in Granian 2.8.
        http=HTTPModes.auto,
        workers=workers,
        # A worker that dies is replaced; the others keep serving meanwhile.
        respawn_failed_workers=True,
        workers_kill_timeout=WORKER_STOP_SECONDS,
        loop=Loops.uvloop,
        websockets=False,
        # Only code changes restart the server, not the SQLite file written next to it.
        reload=reload,
        reload_paths=[PACKAGE_DIR],
        reload_filter=PythonFilter,
        log_dictconfig=log_config,
        log_level=LogLevels(log_level.lower()),
        # The app writes its own access line (middleware.py), without query strings.
        log_access=False,
    ).serve()


def ensure_port_free(host: str, port: int) -> None:
    """Fail at once when something listens on the address. Granian listens with SO_REUSEPORT, so a
    second server on the same port would start and silently share the traffic with the first.

    The probe binds as Granian does (the address family of `host`, SO_REUSEADDR) but without
    SO_REUSEPORT: it fails where a socket listens on the port, or on a wildcard address covering
    it, whichever process holds it (and where Granian's own bind would fail anyway), but not over
    the connections a server that has just stopped left in TIME_WAIT, which Granian's bind passes
    over too. Without SO_REUSEADDR, a restart under traffic was refused for up to a minute.
    """
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as probe:
        # On Windows SO_REUSEADDR means more: a socket with it may bind over a live listener.
        if sys.platform != "win32":
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            reason = "is already in use" if exc.errno == errno.EADDRINUSE else f"cannot be used ({exc.strerror})"
            raise PortUnavailableError(f"{host}:{port} {reason}") from None


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
