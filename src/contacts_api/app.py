"""The application factory: wires settings, database, domains and docs together."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide

from contacts_api.accounts.controllers import AuthController, UserController
from contacts_api.accounts.middleware import jwt_auth_middleware
from contacts_api.accounts.services import ACCOUNTS_STATE_KEY, AccountsConfig
from contacts_api.accounts.throttling import RATE_LIMIT_STORE, auth_rate_limit, create_rate_limit_store
from contacts_api.clock import CLOCK_STATE_KEY, Clock, utc_now
from contacts_api.config import Settings, load_settings
from contacts_api.contacts.controller import ContactController, document_contacts
from contacts_api.db import DB_CONFIG_STATE_KEY, alchemy_config, provide_db_session
from contacts_api.docs import ClosedStructSchemaPlugin, docs_assets_router, openapi_config
from contacts_api.errors import exception_handlers
from contacts_api.health import health
from contacts_api.middleware import (
    head_as_get,
    json_not_found_under_docs,
    request_log_middleware,
    security_headers_middleware,
)


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Litestar:
    """Build the app. `clock` says what "today" is for the address book (tests pin it); tokens and
    sessions always run on the real time, since PyJWT checks `exp` and `iat` against it."""
    settings = settings or load_settings()
    db_config = alchemy_config(settings)
    rate_limit_store = create_rate_limit_store(settings)
    rate_limit = auth_rate_limit(settings)
    accounts = AccountsConfig.from_settings(settings, utc_now, rate_limit_store)
    cors = CORSConfig(allow_origins=settings.cors_origin_list) if settings.cors_origin_list else None
    app = Litestar(
        route_handlers=[health, docs_assets_router(), AuthController, UserController, ContactController],
        plugins=[SQLAlchemyPlugin(config=db_config), ClosedStructSchemaPlugin()],
        dependencies={"db_session": Provide(provide_db_session)},
        middleware=[*([rate_limit.middleware] if rate_limit else []), jwt_auth_middleware()],
        stores={RATE_LIMIT_STORE: rate_limit_store},
        request_max_body_size=settings.max_body_bytes,
        exception_handlers=exception_handlers,
        openapi_config=openapi_config(),
        cors_config=cors,
        on_shutdown=[accounts.passwords.threads.close],
        state=State(
            {
                DB_CONFIG_STATE_KEY: db_config,
                ACCOUNTS_STATE_KEY: accounts,
                CLOCK_STATE_KEY: clock,
            }
        ),
        # Logging is set up by whoever runs the app (`contacts-api serve` hands Granian logs.py's
        # config), not here: building an app must not rewire the process's logging.
        logging_config=None,
        debug=False,
    )
    # Outside Litestar's exception handling, so that every answer, including a 401 raised by
    # middleware and a 404 or 405 from the router, gets the headers, the request id and a log line.
    app.asgi_handler = request_log_middleware(
        security_headers_middleware(head_as_get(json_not_found_under_docs(app.asgi_handler)))
    )
    document_contacts(app.openapi_schema, clock().date())
    return app
