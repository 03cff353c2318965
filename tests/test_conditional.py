"""Reading If-Match and If-None-Match (RFC 9110 §13.1.1-2, the list syntax of §5.6.1 and the
entity tags of §8.8.3): conditional.entity_tags."""

from __future__ import annotations

import pytest

from contacts_api.conditional import EntityTags, entity_tags


def test_no_header_is_no_condition() -> None:
    assert entity_tags(None) is None


@pytest.mark.parametrize("header", ["*", " * "])
def test_a_star_matches_any_current_representation(header: str) -> None:
    assert entity_tags(header) == EntityTags(any=True, tags=())


def test_a_list_keeps_each_tag_and_whether_it_is_weak() -> None:
    assert entity_tags('"1", W/"2",\t"3-vcard"') == EntityTags(
        any=False, tags=((False, "1"), (True, "2"), (False, "3-vcard"))
    )


def test_a_comma_inside_the_quotes_belongs_to_the_tag() -> None:
    assert entity_tags('"a,b", "c"') == EntityTags(any=False, tags=((False, "a,b"), (False, "c")))


def test_empty_list_elements_are_skipped() -> None:
    # RFC 9110 §5.6.1: a recipient accepts empty elements: `, "1",, "2",` is a list of two.
    assert entity_tags(', "1",, "2",').tags == ((False, "1"), (False, "2"))  # type: ignore[union-attr]


@pytest.mark.parametrize("header", ["", "1", "W/1", '"1" junk', "'1'", '"unterminated', "**"])
def test_a_header_that_is_no_list_of_tags_holds_no_tag(header: str) -> None:
    assert entity_tags(header) == EntityTags(any=False, tags=())


def test_a_malformed_list_keeps_the_tags_before_the_fault() -> None:
    assert entity_tags('"1", bad, "2"') == EntityTags(any=False, tags=((False, "1"),))


def test_if_match_compares_strongly_and_if_none_match_weakly() -> None:
    tags = entity_tags('W/"7", "8"')
    assert tags is not None
    assert tags.strong_opaque_tags() == ("8",)
    assert tags.weak_match('"7"')
    assert tags.weak_match('"8"')
    assert not tags.weak_match('"9"')


def test_obs_text_is_an_entity_tag_character() -> None:
    assert entity_tags('"caf\u00e9"') == EntityTags(any=False, tags=((False, "caf\u00e9"),))
