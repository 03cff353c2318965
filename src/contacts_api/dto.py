"""Litestar's `MsgspecDTO`, made to keep every rule an entity's fields declare.

The adapter module for what this project knows of Litestar's DTO internals (tests/test_dto_adapter.py
checks each assumption, so an upgrade that changes one fails a test instead of changing answers):

- Litestar rebuilds a constrained field's type for the DTO's transfer struct as
  `Annotated[<type without metadata>, Meta(...)]`. For an optional field
  (`Annotated[str, Meta(max_length=…)] | None`) that is `Annotated[str | None, Meta(...)]`,
  which msgspec refuses ("Can only set `pattern` on a str type"), so no DTO could be built.
- With `partial=True` it drops `min_length` and `max_length` from every field, so a PATCH
  would accept a 5,000-character name that a create refuses.
- It encodes what a route's `before_request` hook returns with the route's return DTO as well.
- It decodes JSON bodies in msgspec's lax mode (`strict=False`): `"favorite": 0` or `"true"`
  would pass for a boolean. `EntityDTO.decode_bytes` first decodes the body strictly into the
  same transfer struct (the backend's `annotation`), so a wrong type is the usual 400.
- A partial view makes the fields of nested Structs optional too, and builds the Struct without
  the missing ones (a TypeError): with `field_types` it hands the entries over as sent instead.
- A field of a nested Struct that is optional (`contact: Contact | None`) is named, in
  `DTOConfig.exclude`, through the union member's index: `contact.0.owner_id`
  (`excluded_in_optional`), and is kept out only with `max_nested_depth` reaching it.

`EntityDTO` (for request bodies) hands Litestar each scalar field with constraints as the entity
declares it (the original annotation, metadata in place) and tells it not to rebuild the
constraints; the transfer struct then checks exactly what the entity declares, in every view,
partial or not. `EntityReadDTO` (for answers) hands it the bare types instead, every field
required: an answer states what is stored, and rules for input do not belong in its schema.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from collections.abc import Generator
from typing import Annotated, Any, ClassVar, Generic, TypeVar

import msgspec
from litestar import Response
from litestar.dto import MsgspecDTO
from litestar.dto.data_structures import DTOFieldDefinition
from litestar.serialization import decode_json
from litestar.types import Empty

T = TypeVar("T", bound=msgspec.Struct)


def excluded_in_optional(field: str, names: typing.Iterable[str]) -> set[str]:
    """The `DTOConfig.exclude` paths of `names` inside the optional nested Struct `field`
    (`field: Inner | None`): Litestar names a union's members by their index."""
    return {f"{field}.0.{name}" for name in names}


def declares_constraints(annotation: Any) -> bool:
    """Whether `annotation` is a scalar type (or a union of scalars and None) carrying msgspec
    `Meta` constraints: the fields `EntityDTO` passes through as declared."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        return any(isinstance(item, msgspec.Meta) for item in annotation.__metadata__) and _is_scalar(
            annotation.__origin__
        )
    if origin in (typing.Union, types.UnionType):
        args = typing.get_args(annotation)
        return any(declares_constraints(arg) for arg in args) and all(
            arg is type(None) or declares_constraints(arg) or _is_scalar(arg) for arg in args
        )
    return False


def without_constraints(annotation: Any) -> Any:
    """The type of a constrained scalar annotation, its `Meta` removed (`str | None` for
    `Annotated[str, Meta(...)] | None`)."""
    origin = typing.get_origin(annotation)
    if origin is Annotated:
        # Only what documents the field stays: its description, title and examples.
        documented = [
            msgspec.Meta(description=meta.description, title=meta.title, examples=meta.examples)
            for meta in annotation.__metadata__
            if isinstance(meta, msgspec.Meta) and (meta.description or meta.title or meta.examples)
        ]
        return Annotated[annotation.__origin__, *documented] if documented else annotation.__origin__
    if origin in (typing.Union, types.UnionType):
        return typing.Union[tuple(without_constraints(arg) for arg in typing.get_args(annotation))]  # noqa: UP007
    return annotation


def _is_scalar(annotation: Any) -> bool:
    return isinstance(annotation, type) and not issubclass(annotation, msgspec.Struct | list | dict | tuple | set)


class EntityDTO(MsgspecDTO[T], Generic[T]):
    """A `MsgspecDTO` whose transfer structs check each field's declared constraints."""

    keeps_constraints: ClassVar[bool] = True
    # Fields whose type this view declares itself instead of the entity's: for lists of Structs
    # (a contact's emails). Litestar's partial views make every field of a nested Struct optional
    # and then build the Struct without the missing ones (a TypeError, a 500, for a PATCH entry
    # without its required field); given the list type here, Litestar hands the entries over as
    # the client sent them, for the service to check whole (validation.converted_fields).
    field_types: ClassVar[dict[str, Any]] = {}
    # Fields of a whole (non-partial) view that are left out of `DTOData.as_builtins()` when the
    # body does not send them, instead of taking their default: for rules about which fields a
    # body sent (a contact's `email` or `emails`, never both).
    unset_when_absent: ClassVar[frozenset[str]] = frozenset()

    def decode_bytes(self, value: bytes) -> Any:
        """Litestar's decoding, after a strict one that refuses what lax mode would coerce. Only
        JSON bodies reach a DTO here (the routes' bodies are JSON; others are a 415 before)."""
        backend = self._dto_backends[self.asgi_connection.route_handler.handler_id]["data_backend"]
        decode_json(value, target_type=backend.annotation, strict=True)
        return super().decode_bytes(value)

    @classmethod
    def generate_field_definitions(cls, model_type: type[msgspec.Struct]) -> Generator[DTOFieldDefinition, None, None]:
        declared = typing.get_type_hints(model_type, include_extras=True)
        for definition in super().generate_field_definitions(model_type):
            annotation = declared.get(definition.name)
            if definition.name in cls.field_types:
                definition = dataclasses.replace(
                    definition,
                    annotation=cls.field_types[definition.name],
                    origin=None,
                    args=(),
                    inner_types=(),
                    kwarg_definition=None,
                    passthrough_constraints=False,
                )
            elif annotation is not None and declares_constraints(annotation):
                # A plain (non-union, non-generic) field whose type is the declared annotation:
                # Litestar copies it into the transfer struct unchanged.
                definition = dataclasses.replace(
                    definition,
                    annotation=annotation if cls.keeps_constraints else without_constraints(annotation),
                    origin=None,
                    args=(),
                    inner_types=(),
                    kwarg_definition=None,
                    passthrough_constraints=False,
                )
            if definition.name in cls.unset_when_absent:
                definition = dataclasses.replace(
                    definition,
                    annotation=definition.annotation | msgspec.UnsetType,
                    default=msgspec.UNSET,
                    default_factory=None,
                )
            if not cls.keeps_constraints:
                definition = dataclasses.replace(definition, default=Empty, default_factory=None)
            yield definition


class EntityReadDTO(EntityDTO[T], Generic[T]):
    """A `MsgspecDTO` for answers: every field is present, typed as stored, with no input rules.

    A Litestar `Response` whose content is not the model passes through unencoded: Litestar
    applies a route's return DTO to whatever its `before_request` hook answers too, and the
    account pages' hook answers a form post with a finished HTML page (accounts/pages.py)."""

    keeps_constraints = False

    def data_to_encodable_type(self, data: Any) -> Any:
        # A Response of the model (`Response[Contact]`, for its headers) is encoded as Litestar
        # encodes any wrapper of it; any other Response (a page, a vCard, a 304) is the answer.
        if isinstance(data, Response) and not isinstance(data.content, self.model_type):
            return data
        return super().data_to_encodable_type(data)
