"""The application factory: wires settings, database, domains and docs together."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar, Router
from litestar.config.cors import CORSConfig
from litestar.contrib.jinja import JinjaTemplateEngine
from litestar.datastructures import State
from litestar.di import Provide
from litestar.exceptions import MethodNotAllowedException
from litestar.template.config import TemplateConfig

from contacts_api.accounts.controllers import AuthController, UserController
from contacts_api.accounts.middleware import jwt_auth_middleware
from contacts_api.accounts.pages import ACCOUNT_PAGE_TEMPLATES, AccountPagesController
from contacts_api.accounts.services import ACCOUNTS_STATE_KEY, AccountsConfig
from contacts_api.accounts.throttling import RATE_LIMIT_STORE, auth_rate_limit, create_rate_limit_store
from contacts_api.clock import CLOCK_STATE_KEY, Clock, utc_now
from contacts_api.config import Settings, load_settings
from contacts_api.contacts.controller import ContactController, document_contacts
from contacts_api.contacts.interchange.controller import (
    IMPORT_LIMITS_STATE_KEY,
    AddressBookTransferController,
    document_transfer,
)
from contacts_api.contacts.service import CONTACT_RULES_STATE_KEY, ContactRules
from contacts_api.db import DB_CONFIG_STATE_KEY, alchemy_config, provide_db_session
from contacts_api.docs import ClosedStructSchemaPlugin, docs_assets_router, openapi_config
from contacts_api.errors import exception_handlers
from contacts_api.health import health
from contacts_api.mail.worker import build_mailer
from contacts_api.middleware import (
    add_security_headers,
    answer_options_with_every_method,
    drain_unread_request_body,
    head_as_get,
    json_not_found_under_docs,
    method_not_allowed,
    request_log_middleware,
)

CORS_EXPOSED_HEADERS = ("ETag", "Location", "Retry-After", "X-Request-ID")


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Litestar:
    """Build the app. `clock` says what "now" is for the address book and for mailed tokens (tests
    move it); JWTs and sessions always run on the real time, since PyJWT checks `exp` and `iat`
    against it, and so does the mail outbox."""
    settings = settings or load_settings()
    db_config = alchemy_config(settings)
    rate_limit_store = create_rate_limit_store(settings)
    rate_limit = auth_rate_limit(settings)
    mailer = build_mailer(settings)
    accounts = AccountsConfig.from_settings(settings, utc_now, rate_limit_store, mailer, token_clock=clock)
    # Scripts in a browser read only the response headers CORS exposes (Fetch standard): a sync
    # client needs ETag (also on a 412), a creating one Location, one backing off Retry-After.
    cors = (
        CORSConfig(allow_origins=settings.cors_origin_list, expose_headers=list(CORS_EXPOSED_HEADERS))
        if settings.cors_origin_list
        else None
    )
    app = Litestar(
        route_handlers=[
            health,
            docs_assets_router(),
            AuthController,
            UserController,
            AccountPagesController,
            ContactController,
            # Imports take files up to IMPORT_MAX_BYTES; every other route keeps MAX_BODY_BYTES.
            Router(
                path="/",
                route_handlers=[AddressBookTransferController],
                request_max_body_size=settings.import_max_bytes,
            ),
        ],
        template_config=TemplateConfig(directory=ACCOUNT_PAGE_TEMPLATES, engine=JinjaTemplateEngine),
        plugins=[SQLAlchemyPlugin(config=db_config), ClosedStructSchemaPlugin()],
        dependencies={"db_session": Provide(provide_db_session)},
        middleware=[*([rate_limit.middleware] if rate_limit else []), jwt_auth_middleware()],
        stores={RATE_LIMIT_STORE: rate_limit_store},
        request_max_body_size=settings.max_body_bytes,
        exception_handlers={**exception_handlers, MethodNotAllowedException: method_not_allowed},
        before_request=answer_options_with_every_method,
        before_send=[json_not_found_under_docs, add_security_headers],
        openapi_config=openapi_config(),
        cors_config=cors,
        on_shutdown=[accounts.passwords.threads.close],
        # Delivers the outbox in the background for as long as the app serves.
        lifespan=[mailer.lifespan],
        state=State(
            {
                DB_CONFIG_STATE_KEY: db_config,
                ACCOUNTS_STATE_KEY: accounts,
                CLOCK_STATE_KEY: clock,
                CONTACT_RULES_STATE_KEY: ContactRules(
                    default_phone_region=settings.default_phone_region,
                    tombstone_days=settings.sync_tombstone_days,
                ),
                IMPORT_LIMITS_STATE_KEY: settings.import_max_contacts,
            }
        ),
        # Logging is set up by whoever runs the app (`contacts-api serve` hands Granian logs.py's
        # config), not here: building an app must not rewire the process's logging.
        logging_config=None,
        debug=False,
    )
    # What Litestar's hooks cannot do (middleware.py says why each): ASGI wrappers around its own
    # handler. Outermost, the body drain sees every answer start, whichever layer sends it; the
    # access log times every request, the router's 404 and 405 included; HEAD becomes GET before
    # routing.
    app.asgi_handler = drain_unread_request_body(request_log_middleware(head_as_get(app.asgi_handler)))
    document_contacts(app.openapi_schema)
    document_transfer(app.openapi_schema)
    return app
