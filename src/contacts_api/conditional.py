"""Conditional requests (RFC 9110 §13): the `If-Match` and `If-None-Match` headers, read.

An entity tag is `"opaque"` (strong) or `W/"opaque"` (weak), RFC 9110 §8.8.3; a header holds `*`
or a comma-separated list of them. A comma may sit inside the quotes, so the list is read tag by
tag rather than split. A header that is not such a list matches nothing, as RFC 9110 §13.1.1
lets a server treat it (an `If-Match` then fails with 412; an `If-None-Match` is then no
condition at all: the answer is the full one).

- `If-Match` uses the strong comparison (§8.8.3.2): a weak tag never matches.
- `If-None-Match` uses the weak comparison: `W/"7"` matches `"7"`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# One entity tag, after any empty list elements (RFC 9110 §5.6.1: `, "1",, "2"` is a list of two),
# and what may follow it: a comma (then more) or the end. etagc is %x21 / %x23-7E / obs-text
# (%x80-FF): any visible character but the quote.
_ENTITY_TAG = re.compile(r'[ \t,]*(W/)?"([\x21\x23-\x7e\x80-\uffff]*)"[ \t]*(?:,|$)')


@dataclass(frozen=True)
class EntityTags:
    """A parsed `If-Match` or `If-None-Match`: `any` for `*`, else the tags as (weak, opaque-tag)."""

    any: bool
    tags: tuple[tuple[bool, str], ...]

    def weak_match(self, etag: str) -> bool:
        """Whether the current `etag` (quoted, as sent in `ETag`) matches an `If-None-Match`
        (then 304 for a GET)."""
        return self.any or any(opaque == etag.strip('"') for _, opaque in self.tags)

    def strong_opaque_tags(self) -> tuple[str, ...]:
        """The strong tags' values, unquoted: what an `If-Match` compares with the current
        version (the strong comparison: a weak tag never matches)."""
        return tuple(opaque for weak, opaque in self.tags if not weak)


def entity_tags(header: str | None) -> EntityTags | None:
    """The header's entity tags, or None when the request has no such header. A malformed list
    keeps the tags read before the fault and matches none after it (RFC 9110 §13.1.1)."""
    if header is None:
        return None
    if header.strip() == "*":
        return EntityTags(any=True, tags=())
    tags: list[tuple[bool, str]] = []
    position = 0
    while position < len(header) and (match := _ENTITY_TAG.match(header, position)):
        tags.append((match[1] is not None, match[2]))
        position = match.end()
    return EntityTags(any=False, tags=tuple(tags))
