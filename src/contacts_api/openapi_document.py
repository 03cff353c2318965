"""Editing the OpenAPI document Litestar generates, for what it cannot say by itself: the
domains call these after the app is built (contacts.controller.document_contacts). Core: it
knows no domain, and no domain needs the docs pages (docs.py) to use it."""

from __future__ import annotations

import dataclasses
from typing import Any

from litestar.openapi.spec import OpenAPI, Reference, Schema


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


def use_schema_instead(openapi: OpenAPI, generated: str, name: str) -> None:
    """Drop the component `generated` and point every reference to it at the component `name`.

    For a nested DTO answer (a contact inside a ContactChange) Litestar generates its own copy of
    a schema the document already has under a plain name, without the edits that name received.
    """
    schemas = openapi.components.schemas or {}
    if schemas.pop(generated, None) is not None:
        _replace_references(openapi, f"#/components/schemas/{generated}", f"#/components/schemas/{name}", set())
