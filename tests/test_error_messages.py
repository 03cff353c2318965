"""What contacts_api/error_messages.py assumes of msgspec's and Litestar's error texts: one test
per form it understands, each produced by the library itself, so that an upgrade that changes a
form fails here instead of changing a 400's `extra` silently."""

from __future__ import annotations

import datetime
from typing import Annotated, Any

import msgspec
import pytest
from litestar import Litestar, Response, post
from litestar.dto import DTOConfig, DTOData, MsgspecDTO
from litestar.exceptions import ClientException
from litestar.testing import TestClient

from contacts_api.error_messages import (
    CLIENT_GONE,
    MISSING_BODY,
    NUMBER_OUT_OF_RANGE,
    asyncpg_reports_closed_connection,
    dto_validation_message,
    field_error,
    field_error_item,
    item_from_decoder,
    locate_undecodable_value,
    pattern_meaning,
    plain_message,
    read_body,
    split_location,
    sqlite_reports_unique_violation,
)

DIGITS = pattern_meaning(r"^[0-9]+$", "Only digits")


class Body(msgspec.Struct, forbid_unknown_fields=True):
    name: Annotated[str, msgspec.Meta(max_length=3)]
    code: Annotated[str, msgspec.Meta(pattern=DIGITS)] = "0"
    tags: list[str] = []
    when: datetime.date | None = None


def msgspec_message(document: Any) -> str:
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.json.decode(msgspec.json.encode(document), type=Body)
    return str(raised.value)


def test_msgspec_names_a_top_level_field_after_its_message() -> None:
    assert split_location(msgspec_message({"name": "long"})) == ("Expected `str` of length <= 3", "name")


def test_msgspec_names_an_item_of_a_list_by_its_field() -> None:
    assert split_location(msgspec_message({"name": "a", "tags": ["x", 1]})) == ("Expected `str`, got `int`", "tags")


def test_msgspec_reports_a_whole_body_fault_without_a_field() -> None:
    message = msgspec_message(["not", "an", "object"])
    assert split_location(message) == ("Expected `object`, got `array`", None)
    assert item_from_decoder(message)["key"] == "data"


def test_msgspec_names_an_unknown_field_in_its_message() -> None:
    assert item_from_decoder(msgspec_message({"name": "a", "nick": 1}))["key"] == "nick"


def test_msgspec_names_a_missing_required_field_in_its_message() -> None:
    assert item_from_decoder(msgspec_message({}))["key"] == "name"


def test_msgspec_quotes_the_pattern_a_value_failed_to_match() -> None:
    assert item_from_decoder(msgspec_message({"name": "a", "code": "x1"})) == {
        "message": "Only digits",
        "key": "code",
        "source": "body",
    }


def test_msgspec_says_a_date_is_invalid_at_its_field() -> None:
    assert item_from_decoder(msgspec_message({"name": "a", "when": "2026-02-30"}))["key"] == "when"


def test_a_message_of_our_own_checks_reads_back_with_its_field() -> None:
    assert split_location(str(field_error("password", "The password is too common"))) == (
        "The password is too common",
        "password",
    )


def test_litestar_reports_a_missing_body_under_data_as_the_key_in_quotes() -> None:
    @post("/", status_code=200)
    async def take(data: Body) -> None:
        return None

    with TestClient(Litestar([take])) as client:
        extra = client.post("/").json()["extra"]
    assert extra[0]["key"] == "data"
    assert extra[0]["message"] == MISSING_BODY
    assert field_error_item(MISSING_BODY, "data")["message"] == "A request body is required"


def test_litestar_wraps_a_dto_decoding_failure_in_client_and_serialization_exceptions() -> None:
    seen: list[str | None] = []

    class BodyDTO(MsgspecDTO[Body]):
        config = DTOConfig()

    def record(_: Any, exc: ClientException) -> Any:
        seen.append(dto_validation_message(exc))
        return Response(content=None, status_code=400)

    @post("/", dto=BodyDTO, return_dto=None, status_code=200)
    async def take(data: DTOData[Body]) -> None:
        return None

    with TestClient(Litestar([take], exception_handlers={ClientException: record})) as client:
        client.post("/", json={"name": "long"})
        client.post("/", content=b"{not json", headers={"Content-Type": "application/json"})
    assert seen == ["Expected `str` of length <= 3 - at `$.name`", None]  # bad JSON is not a field's fault


def test_plain_message_leaves_messages_it_does_not_know_alone() -> None:
    assert plain_message("Expected `int`, got `str`") == "Expected `int`, got `str`"


async def test_litestar_says_a_client_hung_up_in_these_words() -> None:
    from litestar.exceptions import InternalServerException

    details: list[str] = []

    def record(_: Any, exc: InternalServerException) -> Any:
        details.append(exc.detail)
        return Response(content=None, status_code=400)

    @post("/", status_code=200)
    async def take(data: dict[str, Any]) -> None:
        return None

    async def hang_up() -> dict[str, Any]:
        return {"type": "http.disconnect"}

    async def ignore(_: Any) -> None:
        return None

    app = Litestar([take], exception_handlers={InternalServerException: record})
    scope: Any = {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "POST", "scheme": "http",
        "path": "/", "raw_path": b"/", "root_path": "", "query_string": b"", "client": ("127.0.0.1", 1),
        "headers": [(b"content-type", b"application/json"), (b"content-length", b"10")], "server": ("t", 80),
    }  # fmt: skip
    await app(scope, hang_up, ignore)
    assert details == [CLIENT_GONE]


def test_msgspec_decoding_into_plain_values_loses_an_out_of_range_numbers_place() -> None:
    # Why locate_undecodable_value exists: Litestar's signature model decodes the body this way.
    with pytest.raises(msgspec.ValidationError) as raised:
        msgspec.json.decode(b'{"name": 1e400}')
    assert split_location(str(raised.value)) == (NUMBER_OUT_OF_RANGE, None)


def test_msgspec_refuses_a_lone_surrogate_as_malformed_json() -> None:
    with pytest.raises(msgspec.DecodeError) as raised:
        msgspec.json.decode(b'{"name": "\\ud800 x"}')
    assert not isinstance(raised.value, msgspec.ValidationError)


@pytest.mark.parametrize(
    ("body", "key", "message"),
    [
        (b'{"a": 1, "name": 1e400}', "name", NUMBER_OUT_OF_RANGE),
        (b'{"tags": ["x", 100000000000000000000000]}', "tags", NUMBER_OUT_OF_RANGE),
        (b'{"name": "\\ud800"}', "name", "Must not contain a lone surrogate"),
        (b"[1e400]", "data", NUMBER_OUT_OF_RANGE),
    ],
)
def test_locate_undecodable_value_names_the_top_level_field(body: bytes, key: str, message: str) -> None:
    assert locate_undecodable_value(body) == {"message": message, "key": key, "source": "body"}


def test_locate_undecodable_value_finds_nothing_in_good_or_malformed_json() -> None:
    assert locate_undecodable_value(b'{"name": "Ada", "n": 1.5, "ok": true}') is None
    assert locate_undecodable_value(b'{"name": ') is None


def test_litestar_keeps_a_read_body_in_its_scope_state() -> None:
    seen: list[bytes | None] = []

    @post("/", status_code=200)
    async def take(request: Any) -> None:
        await request.body()
        seen.append(read_body(request))

    from litestar import Request

    take.fn.__annotations__["request"] = Request
    with TestClient(Litestar([take])) as client:
        client.post("/", content=b"hello")
    assert seen == [b"hello"]


def test_sqlite_reports_a_unique_violation_in_these_words_and_a_foreign_key_one_otherwise() -> None:
    import sqlite3

    connection = sqlite3.connect(":memory:")
    connection.executescript(
        "PRAGMA foreign_keys=ON; CREATE TABLE p (id INTEGER PRIMARY KEY, u TEXT UNIQUE);"
        "CREATE TABLE c (p_id INTEGER REFERENCES p(id)); INSERT INTO p (u) VALUES ('x');"
    )
    with pytest.raises(sqlite3.IntegrityError) as duplicate:
        connection.execute("INSERT INTO p (u) VALUES ('x')")
    with pytest.raises(sqlite3.IntegrityError) as orphan:
        connection.execute("INSERT INTO c (p_id) VALUES (99)")
    connection.close()
    assert sqlite_reports_unique_violation(duplicate.value)
    assert not sqlite_reports_unique_violation(orphan.value)


async def test_asyncpg_reports_a_closed_connection_in_these_words(postgresql_url: str) -> None:
    import asyncpg
    from sqlalchemy import make_url

    connection = await asyncpg.connect(make_url(postgresql_url).set(drivername="postgresql").render_as_string(False))
    await connection.close()
    with pytest.raises(asyncpg.InterfaceError) as closed:
        await connection.fetch("SELECT 1")
    assert asyncpg_reports_closed_connection(closed.value)
