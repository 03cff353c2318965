"""The OpenAPI document and the two docs pages, Scalar (/schema) and Swagger UI (/schema/swagger).

Their JavaScript and CSS are served by this app from `docs_assets/` (see its README), so the
pages work offline and under a `'self'`-only Content-Security-Policy.
"""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

# Litestar's own Struct schema plugin, extended below; these modules are private, so a Litestar
# upgrade may move them (tests/test_openapi.py checks the result).
from litestar._openapi.schema_generation import SchemaCreator
from litestar._openapi.schema_generation.plugins.struct import StructSchemaPlugin
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import ScalarRenderPlugin, SwaggerRenderPlugin
from litestar.openapi.spec import Components, OAuthFlow, OAuthFlows, OpenAPI, Reference, Schema, SecurityScheme, Tag
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


def name_response_schema(
    openapi: OpenAPI, path: str, method: str, name: str, descriptions: dict[str, str] | None = None
) -> None:
    """Make the JSON schema of one operation's success answer the component `name`.

    Litestar names the schema of a generic answer (a DTO's `OffsetPagination[…]`) after the
    transfer struct's module path ("OffsetPagination_litestar.dto._backend.ContactRead_"), or
    inlines it, depending on which pagination class the annotation resolves to: no client should
    see either. `descriptions` documents the schema's properties.
    """
    components = openapi.components
    operation = getattr((openapi.paths or {})[path], method.lower())
    response = next(iter(operation.responses.values()))
    media = response.content["application/json"]
    schema = media.schema
    if components.schemas is None:
        components.schemas = {}
    if isinstance(schema, Reference):
        old = schema.ref.rsplit("/", 1)[-1]
        schema = components.schemas.pop(old)
        _replace_references(openapi, f"#/components/schemas/{old}", f"#/components/schemas/{name}", set())
    schema.title = name
    for prop, text in (descriptions or {}).items():
        target = (schema.properties or {})[prop]
        if isinstance(target, Schema):
            target.description = text
    components.schemas[name] = schema
    media.schema = Reference(ref=f"#/components/schemas/{name}")


def rename_schemas(openapi: OpenAPI, new: str, duplicates: str, keep: str | None = None) -> None:
    """Rename the component `keep` (by default the first whose name fully matches the regex
    `duplicates`) to `new`, and point every reference to a component matching `duplicates` (the
    same shape, generated per route) at it instead."""
    schemas = openapi.components.schemas or {}
    keep = keep or next((name for name in schemas if re.fullmatch(duplicates, name)), None)
    if keep is None or keep not in schemas:
        return
    for old in [name for name in schemas if re.fullmatch(duplicates, name)]:
        _replace_references(openapi, f"#/components/schemas/{old}", f"#/components/schemas/{new}", set())
        kept = schemas.pop(old)
        if old == keep:
            if isinstance(kept, Schema):
                kept.title = new
            schemas[new] = kept


def _replace_references(node: Any, old: str, new: str, seen: set[int]) -> None:
    if id(node) in seen:
        return
    seen.add(id(node))
    if isinstance(node, Reference) and node.ref == old:
        node.ref = new
    elif isinstance(node, dict):
        for value in node.values():
            _replace_references(value, old, new, seen)
    elif isinstance(node, list | tuple):
        for value in node:
            _replace_references(value, old, new, seen)
    elif dataclasses.is_dataclass(node) and not isinstance(node, type):
        for field in dataclasses.fields(node):
            _replace_references(getattr(node, field.name), old, new, seen)
