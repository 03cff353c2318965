"""The OpenAPI document and the two docs pages, Scalar (/schema) and Swagger UI (/schema/swagger).

Their JavaScript and CSS are served by this app from `docs_assets/` (see its README), so the
pages work offline and under a `'self'`-only Content-Security-Policy.
"""

from __future__ import annotations

from pathlib import Path

# Litestar's own Struct schema plugin, extended below; these modules are private, so a Litestar
# upgrade may move them (tests/test_openapi.py checks the result).
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, Schema, SecurityScheme, Tag
from litestar.router import Router
from litestar.static_files import create_static_files_router
from litestar.typing import FieldDefinition

from contacts_api import __version__

ASSETS_DIR = Path(__file__).parent / "docs_assets"
ASSETS_PATH = "/schema/assets"
FAVICON = "<link rel='icon' href='data:,'>"  # no icon rather than one fetched from a CDN

API_DESCRIPTION = """\
Sign up, log in with JWTs and keep a private address book.

Authenticate with **Authorize** (OAuth2 password flow: your email as the username), or send
`Authorization: Bearer <access_token>` from `POST /api/auth/login`. Every error is JSON:
`{"status_code", "detail", "extra"?}`, where `extra` names the offending field of a `400`.
"""


class ClosedStructSchemaPlugin(StructSchemaPlugin):
    """Litestar's Struct schemas, plus `additionalProperties: false` where the Struct forbids
    unknown fields: the document then says what the server enforces (a 400 for an extra field)."""

    def to_openapi_schema(self, field_definition: FieldDefinition, schema_creator: SchemaCreator) -> Schema:
        schema = super().to_openapi_schema(field_definition, schema_creator)
        if field_definition.type_.__struct_config__.forbid_unknown_fields:
            schema.additional_properties = False
        return schema


def docs_assets_router() -> Router:
    return create_static_files_router(
        path=ASSETS_PATH, directories=[ASSETS_DIR], include_in_schema=False, opt={"exclude_from_auth": True}
    )


def openapi_config() -> OpenAPIConfig:
    return OpenAPIConfig(
        title="contacts-api",
        version=__version__,
        description=API_DESCRIPTION,
        path="/schema",
        render_plugins=[
            ScalarRenderPlugin(
                path=["/", "/scalar"],
                js_url=f"{ASSETS_PATH}/scalar/standalone.js",
                css_url=f"{ASSETS_PATH}/scalar/scalar.css",
                favicon=FAVICON,
                # Offline by design: the system fonts instead of Scalar's web fonts, and none of
                # its hosted extras (AI agent, MCP generator, deploy links).
                options={
                    "withDefaultFonts": False,
                    "agent": {"disabled": True},
                    "mcp": {"disabled": True},
                    "hideClientButton": True,
                    "showDeveloperTools": "never",
                },
            ),
            SwaggerRenderPlugin(
                js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-bundle.js",
                css_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui.css",
                standalone_preset_js_url=f"{ASSETS_PATH}/swagger-ui/swagger-ui-standalone-preset.js",
                favicon=FAVICON,
            ),
        ],
        tags=[
            Tag(name="Auth", description="Sign up, log in, rotate and end sessions"),
            Tag(name="Users", description="The signed-in user's account"),
            Tag(name="Contacts", description="The signed-in user's address book"),
            Tag(
                name="Import and export",
                description="The address book in and out as vCard (2.1, 3.0, 4.0) or contacts CSV files",
            ),
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
