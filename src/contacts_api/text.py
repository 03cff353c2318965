"""One rule for comparing text, computed by the application for every database alike.

- `nfc`: the stored form of all text, Unicode Normalization Form C (UAX #15), so that "José"
  typed precomposed and typed as "Jose" + U+0301 (what macOS keyboards send) are the same text.
- `tag_key`: the form tags are compared by (case only).
- `fold`: the form text is searched and sorted by, case- and accent-insensitively: compatibility
  decomposition (NFKD), Unicode full case folding (`str.casefold`, the Unicode Standard §3.13
  default caseless matching: "ß" → "ss", final sigma U+03C2 → U+03C3), combining marks
  (category M) removed, then NFC. "ΚΟΣΜΑΣ", "Κοσμάς" and its lower case fold alike (tests), and
  "Émile" folds to "emile".

The folded form is written next to the text by the repositories (search-key columns, migration
0004), never computed by the database: SQLite and PostgreSQL would lower-case differently.
Changing `fold` changes what the stored keys mean: it needs a migration that rewrites them.
"""

from __future__ import annotations

import unicodedata


def nfc(text: str) -> str:
    return unicodedata.normalize("NFC", text)


def fold(text: str) -> str:
    decomposed = unicodedata.normalize("NFKD", unicodedata.normalize("NFKD", text).casefold())
    return unicodedata.normalize("NFC", "".join(c for c in decomposed if not unicodedata.category(c).startswith("M")))


def tag_key(tag: str) -> str:
    """What tags are compared by, case-insensitively (Unicode default caseless matching, §3.13)
    but not accent-insensitively: "Family" and "FAMILY" are one tag, "Café" and "Cafe" two."""
    return unicodedata.normalize("NFC", unicodedata.normalize("NFC", tag).casefold())
