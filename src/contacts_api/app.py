"""The application factory: wires settings, database, domains and docs together."""

from __future__ import annotations

from advanced_alchemy.extensions.litestar import SQLAlchemyPlugin
from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, SecurityScheme, Tag

from contacts_api import __version__
from contacts_api.accounts.controllers import AuthController, UserController
from contacts_api.accounts.middleware import ACCOUNTS_STATE_KEY, jwt_auth_middleware
from contacts_api.accounts.services import AccountsConfig
from contacts_api.clock import CLOCK_STATE_KEY, Clock, utc_now
from contacts_api.config import Settings, load_settings
from contacts_api.contacts.controller import ContactController
from contacts_api.db import DB_CONFIG_STATE_KEY, alchemy_config, provide_db_session
from contacts_api.errors import exception_handlers
from contacts_api.health import health

API_DESCRIPTION = """\
Sign up, log in with JWTs and keep a private address book.

Authenticate with **Authorize** (OAuth2 password flow: your email as the username), or send
`Authorization: Bearer <access_token>` from `POST /api/auth/login`.
"""


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="contacts-api",
        version=__version__,
        description=API_DESCRIPTION,
        path="/schema",
        render_plugins=[ScalarRenderPlugin(), SwaggerRenderPlugin()],
        tags=[
            Tag(name="Auth", description="Sign up, log in, rotate and end sessions"),
            Tag(name="Users", description="The signed-in user's account"),
            Tag(name="Contacts", description="The signed-in user's address book"),
            Tag(name="Operations", description="Health"),
        ],
        components=Components(
            security_schemes={
                "OAuth2PasswordBearer": SecurityScheme(
                    type="oauth2",
                    description="Log in with your email as the username.",
                    flows=OAuthFlows(password=OAuthFlow(token_url="/api/auth/login", scopes={})),  # noqa: S106
                )
            }
        ),
    )


def create_app(settings: Settings | None = None, clock: Clock = utc_now) -> Litestar:
    """Build the app. `clock` says what "today" is for the address book (tests pin it); tokens and
    sessions always run on the real time, since PyJWT checks `exp` and `iat` against it."""
    settings = settings or load_settings()
    db_config = alchemy_config(settings)
    cors = CORSConfig(allow_origins=settings.cors_origin_list) if settings.cors_origin_list else None
    return Litestar(
        route_handlers=[health, AuthController, UserController, ContactController],
        plugins=[SQLAlchemyPlugin(config=db_config)],
        dependencies={"db_session": Provide(provide_db_session)},
        middleware=[jwt_auth_middleware()],
        exception_handlers=exception_handlers,
        openapi_config=openapi_config(),
        cors_config=cors,
        state=State(
            {
                DB_CONFIG_STATE_KEY: db_config,
                ACCOUNTS_STATE_KEY: AccountsConfig.from_settings(settings, utc_now),
                CLOCK_STATE_KEY: clock,
                "settings": settings,
            }
        ),
        logging_config=LoggingConfig(
            root={"level": settings.log_level, "handlers": ["queue_listener"]},
            log_exceptions="debug",
        ),
        debug=False,
    )
