"""What contacts_api/dto.py assumes of Litestar's DTO layer, one test per assumption: when an
upgrade changes one of them, a test here fails, not an answer of the API."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
import pytest
from litestar import Litestar, get, post
from litestar.dto import DTOConfig, DTOData, MsgspecDTO
from litestar.testing import TestClient

from contacts_api.dto import EntityDTO, EntityReadDTO, declares_constraints, excluded_in_optional, without_constraints

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


class Entry(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    value: Short
    label: str | None = None


class Card(msgspec.Struct, kw_only=True):
    name: str
    entries: list[Entry] = msgspec.field(default_factory=list)
    starred: bool = False
    primary: str | None = None


def app_taking_cards(dto: type[MsgspecDTO[Card]]) -> Litestar:
    @post("/cards", dto=dto, return_dto=None, status_code=200)
    async def take(data: DTOData[Card]) -> dict[str, Any]:
        sent = data.as_builtins()
        return {"sent": sorted(name for name, value in sent.items() if value is not msgspec.UNSET)}

    return Litestar([take])


class PlainPartialCard(MsgspecDTO[Card]):
    config = DTOConfig(partial=True)


class PartialCard(EntityDTO[Card]):
    config = DTOConfig(partial=True, forbid_unknown_fields=True)
    field_types = {"entries": list[Entry]}


class WholeCard(EntityDTO[Card]):
    config = DTOConfig(forbid_unknown_fields=True)
    unset_when_absent = frozenset({"primary"})


class PlainWholeCard(MsgspecDTO[Card]):
    config = DTOConfig()


def test_litestar_still_builds_a_partial_nested_entry_without_its_required_field() -> None:
    # The 500 that `field_types` avoids: the nested struct is built without `value`.
    with TestClient(app_taking_cards(PlainPartialCard)) as client:
        assert client.post("/cards", json={"entries": [{"label": "x"}]}).status_code == 500


def test_entity_dto_field_types_hand_a_partial_views_entries_over_as_sent() -> None:
    # No Struct is built from a partial entry: it arrives as the client sent it, and the service
    # checks it whole against the entity (validation.converted_fields), a 400 for a missing value.
    @post("/cards", dto=PartialCard, return_dto=None, status_code=200)
    async def take(data: DTOData[Card]) -> dict[str, Any]:
        return {"entries": data.as_builtins()["entries"]}

    with TestClient(Litestar([take])) as client:
        response = client.post("/cards", json={"entries": [{"label": "x"}]})
    assert (response.status_code, response.json()) == (200, {"entries": [{"label": "x"}]})


def test_litestar_still_decodes_dto_bodies_in_lax_mode() -> None:
    # 0 for a boolean passes Litestar's own decoding: the reason for EntityDTO.decode_bytes.
    with TestClient(app_taking_cards(PlainWholeCard)) as client:
        assert client.post("/cards", json={"name": "ab", "starred": 0}).status_code == 200


@pytest.mark.parametrize("starred", [0, 1, "true", "false", None])
def test_entity_dto_refuses_what_lax_mode_would_coerce(starred: Any) -> None:
    with TestClient(app_taking_cards(WholeCard)) as client:
        response = client.post("/cards", json={"name": "ab", "starred": starred})
    assert response.status_code == 400
    assert "starred" in response.text


def test_entity_dto_leaves_fields_unset_when_absent_out_of_a_whole_view() -> None:
    with TestClient(app_taking_cards(WholeCard)) as client:
        absent = client.post("/cards", json={"name": "ab"}).json()
        null = client.post("/cards", json={"name": "ab", "primary": None}).json()
    assert "primary" not in absent["sent"]
    assert "primary" in null["sent"]


class Secretive(msgspec.Struct, kw_only=True):
    name: str
    secret: str


class Holder(msgspec.Struct, kw_only=True):
    inner: Secretive | None


class HolderRead(EntityReadDTO[Holder]):
    config = DTOConfig(exclude=excluded_in_optional("inner", {"secret"}), max_nested_depth=2)


def test_excluded_in_optional_keeps_a_field_of_an_optional_nested_struct_out() -> None:
    @get("/held", return_dto=HolderRead, sync_to_thread=False)
    def held() -> list[Holder]:
        return [Holder(inner=Secretive(name="n", secret="s")), Holder(inner=None)]

    with TestClient(Litestar([held])) as client:
        assert client.get("/held").json() == [{"inner": {"name": "n"}}, {"inner": None}]
