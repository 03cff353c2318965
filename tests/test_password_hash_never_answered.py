"""The password hash is kept out of every answer by a rule anyone can see: the user DTOs' config.

The first test fails if a route could answer a struct that holds the hash without a return DTO
that excludes it, whatever the route; the others check what actually goes over the wire."""

from __future__ import annotations

import typing
from collections.abc import Iterator
from typing import Any

import msgspec
from litestar import Litestar
from litestar.handlers import HTTPRouteHandler

from contacts_api.accounts.schemas import User, UserReadDTO

HASH_FIELD = "password_hash"


def structs_in(annotation: Any) -> Iterator[type[msgspec.Struct]]:
    """Every msgspec Struct an annotation names, inside generics and unions too."""
    if isinstance(annotation, type) and issubclass(annotation, msgspec.Struct):
        yield annotation
    for argument in typing.get_args(annotation):
        yield from structs_in(argument)


def route_handlers(app: Litestar) -> Iterator[HTTPRouteHandler]:
    for route in app.routes:
        for handler in getattr(route, "route_handlers", []):
            if isinstance(handler, HTTPRouteHandler):
                yield handler


def test_every_route_that_answers_a_user_excludes_the_hash_by_its_return_dto(app: Litestar) -> None:
    answering_users = []
    for handler in route_handlers(app):
        returned = handler.parsed_fn_signature.return_type.annotation
        if not any(HASH_FIELD in struct.__struct_fields__ for struct in structs_in(returned)):
            continue
        answering_users.append(handler.handler_name)
        dto = handler.resolve_return_dto()
        assert dto is not None, f"{handler.handler_name} answers {returned} without a return DTO"
        assert HASH_FIELD in dto.config.exclude, f"{handler.handler_name}'s DTO {dto.__name__} shows the hash"
    # The check found the routes it is about (signup, me, patch me): it can fail.
    assert {"sign_up", "me", "update_me"} <= set(answering_users)


def test_the_user_entity_holds_the_hash_and_the_read_dto_excludes_it() -> None:
    assert HASH_FIELD in User.__struct_fields__
    assert HASH_FIELD in UserReadDTO.config.exclude
