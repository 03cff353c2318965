"""What contacts_api/dto.py assumes of Litestar's DTO layer, one test per assumption: when an
upgrade changes one of them, a test here fails, not an answer of the API."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
import pytest
from litestar import Litestar, post
from litestar.dto import DTOConfig, DTOData, MsgspecDTO
from litestar.testing import TestClient

from contacts_api.dto import EntityDTO, EntityReadDTO, declares_constraints, without_constraints

Short = Annotated[str, msgspec.Meta(min_length=2, max_length=5, description="2 to 5 characters")]


class Thing(msgspec.Struct, kw_only=True):
    name: Short
    nickname: Short | None = None
    created_at: datetime.datetime


def app_taking(dto: type[MsgspecDTO[Thing]]) -> Litestar:
    @post("/things", dto=dto, return_dto=None, status_code=200)
    async def take(data: DTOData[Thing]) -> dict[str, Any]:
        return dict(data.as_builtins())

    return Litestar([take])


def served(dto: type[MsgspecDTO[Thing]]) -> TestClient[Litestar]:
    return TestClient(app_taking(dto))


class PlainPartial(MsgspecDTO[Thing]):
    config = DTOConfig(include={"name"}, partial=True)


class PlainOptional(MsgspecDTO[Thing]):
    config = DTOConfig(include={"nickname"})


class EntityPartial(EntityDTO[Thing]):
    config = DTOConfig(exclude={"created_at"}, partial=True, forbid_unknown_fields=True)


class EntityRead(EntityReadDTO[Thing]):
    config = DTOConfig()


def test_litestar_still_drops_length_limits_from_partial_dtos() -> None:
    # The reason EntityDTO passes constraints through itself. If this fails, Litestar keeps them
    # now, and EntityDTO's work-around may go.
    with served(PlainPartial) as client:
        assert client.post("/things", json={"name": "far too long"}).status_code == 200


def test_litestar_still_cannot_build_a_dto_with_an_optional_constrained_field() -> None:
    # The other reason: Litestar wraps the optional type itself in the constraints.
    with pytest.raises(TypeError, match="Can only set"):
        _ = app_taking(PlainOptional).openapi_schema


def test_entity_dto_keeps_length_limits_in_a_partial_view() -> None:
    with served(EntityPartial) as client:
        response = client.post("/things", json={"name": "far too long"})
        assert response.status_code == 400
        assert client.post("/things", json={"name": "ok"}).json() == {"name": "ok"}


def test_entity_dto_checks_optional_constrained_fields_and_accepts_null() -> None:
    with served(EntityPartial) as client:
        assert client.post("/things", json={"nickname": "x"}).status_code == 400
        assert client.post("/things", json={"nickname": None}).json() == {"nickname": None}


def test_a_partial_view_leaves_out_the_fields_not_sent() -> None:
    with served(EntityPartial) as client:
        assert client.post("/things", json={}).json() == {}


def test_a_read_view_states_every_field_as_required_without_input_rules() -> None:
    @post("/things", return_dto=EntityRead, status_code=200)
    async def show() -> Thing:
        return Thing(name="ab", created_at=datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC))

    app = Litestar([show])
    schema = app.openapi_schema.to_schema()["components"]["schemas"]
    (read,) = [value for value in schema.values() if set(value.get("properties", {})) == {"name", "nickname",
                                                                                          "created_at"}]  # fmt: skip
    assert set(read["required"]) == {"name", "nickname", "created_at"}
    assert "maxLength" not in str(read)
    assert read["properties"]["name"]["description"] == "2 to 5 characters"


def test_declares_constraints_recognises_scalars_and_optional_scalars_only() -> None:
    assert declares_constraints(Short)
    assert declares_constraints(Short | None)
    assert not declares_constraints(str)
    assert not declares_constraints(Annotated[list[str], msgspec.Meta(max_length=3)])


def test_without_constraints_keeps_the_documentation_only() -> None:
    bare = without_constraints(Short | None)
    assert msgspec.convert("far too long", bare) == "far too long"
    assert msgspec.convert(None, bare) is None
