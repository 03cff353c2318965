"""Bytes to text for imported files: byte-order marks, UTF-8, UTF-16/32 and the legacy charsets
that old address books were written in.

- `decoded_text(data)`: a whole file (the CSV reader, and a vCard file that starts with a UTF-16
  byte-order mark): the BOM decides, else strict UTF-8, else `legacy_text`.
- `charset_text(data, declared)`: the bytes of one vCard value, with the `CHARSET` parameter its
  line declares (vCard 2.1 §2.1.5; RFC 2426 keeps the parameter for 2.1 writers).
- `legacy_text(data)` / `legacy_codec(data)`: bytes that are not UTF-8 and declare no charset
  (`legacy_codec` lets a reader choose once for a whole file and `decoded_with` each value).

Every function returns text without lone surrogates (Python's strict UTF-8 and UTF-16 decoders
reject them, the single-byte codecs cannot make them); NUL characters are left in, for the
mapping step (`records.contact_fields`) to leave such values out and name them.
"""

from __future__ import annotations

import codecs
import re
import unicodedata

from charset_normalizer import from_bytes

# Codecs whose text has no byte-level meaning inside a vCard line (an odd-length value would not
# decode, an even one would turn into CJK noise): a declared CHARSET naming one is ignored.
_WIDE_CODECS = frozenset({"utf-16", "utf-16-le", "utf-16-be", "utf-32", "utf-32-le", "utf-32-be"})
# What charset_normalizer may answer beyond the two Latin code pages: Cyrillic, the one non-Latin
# script it tells apart reliably in short address-book text (measured: it reads Greek as cp1251,
# so cp1253 is not offered).
_NORMALIZER_CANDIDATES = ["cp1252", "cp1250", "cp1251"]
_NON_LATIN_CODECS = frozenset({"cp1251"})
# charset_normalizer reads at most this much of a sample; it is slow on megabytes.
_SAMPLE_LIMIT = 64 * 1024
_VOWELS = frozenset("aeiouyáéíóúàèìòùâêîôûäëïöüý")


class UndecodableFile(ValueError):  # noqa: N818 - the name the readers and the import service share
    """The file's bytes cannot be read as text in the encoding they announce."""


def decoded_text(data: bytes) -> str:
    """The text of a whole file.

    A UTF-8 byte-order mark → UTF-8 (the mark removed; bytes after it that are not UTF-8 are read
    by `legacy_text` rather than refused); a UTF-32 or UTF-16 mark (either byte order) → that
    encoding, strictly, else `UndecodableFile`; no mark → strict UTF-8, else `legacy_text`.
    """
    if data.startswith(codecs.BOM_UTF8):
        try:
            return data[len(codecs.BOM_UTF8) :].decode("utf-8")
        except UnicodeDecodeError:
            return legacy_text(data[len(codecs.BOM_UTF8) :])
    # UTF-32 LE's mark starts with UTF-16 LE's, so it is looked for first.
    for bom, codec, name in (
        (codecs.BOM_UTF32_LE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF32_BE, "utf-32", "UTF-32"),
        (codecs.BOM_UTF16_LE, "utf-16", "UTF-16"),
        (codecs.BOM_UTF16_BE, "utf-16", "UTF-16"),
    ):
        if data.startswith(bom):
            try:
                return data.decode(codec)
            except UnicodeDecodeError:
                raise UndecodableFile(
                    f"The file starts with a {name} byte-order mark but its content is not valid {name}."
                ) from None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return legacy_text(data)


_SURROGATE = re.compile("[\ud800-\udfff]")


def charset_text(data: bytes, declared: str | None) -> str:
    """The text of one vCard value's bytes.

    With a declared `CHARSET` that Python knows and that decodes the bytes strictly → that
    charset. A declared charset that does not decode them is a mislabel (ThunderSync declares
    UTF-8 over ISO-8859-1 bytes) → cp1252, else Latin-1. No declared charset (or one Python does
    not know) → strict UTF-8, else `legacy_text`.
    """
    codec = known_codec(declared)
    if codec is not None:
        text = declared_text(data, codec)
        return _western_text(data) if text is None else text
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return legacy_text(data)


def legacy_text(data: bytes) -> str:
    """`data`, which is not UTF-8 and declares no charset, decoded by `legacy_codec`'s pick."""
    return decoded_with(data, legacy_codec(data))


def legacy_codec(data: bytes) -> str:
    """The codec `legacy_text` reads `data` with, tried in this order:

    1. Shift_JIS (then its Windows superset cp932), strictly, accepted only if the text reads as
       Japanese: it holds a run of Japanese script (kana, CJK ideographs), no C1 control or
       private-use character, and few lone ideographs glued to ASCII letters (at most one for
       four characters in runs). Japanese
       phones and Thunderbird write Shift_JIS without saying so, and no detector recognises it in
       short text (charset_normalizer answers cp949 for the Shift_JIS CSV fixture); the run rule
       keeps Latin-1 French out (`3\\xe8me \\xe9tage` is valid Shift_JIS: "3鑪e 騁age").
    2. charset_normalizer restricted to single-byte code pages (cp1252, cp1250, cp1251), taken
       only when it answers Cyrillic and the text then makes whole Cyrillic words (it reads
       Latin-1 "Ñ Ñ" as cp1251, two lone capital Es): unrestricted it picks cp775 for the Latin-1 vCard fixture,
       and between cp1252 and cp1250 it answers cp1250 for every sample measured, French and
       Spanish included ("3čme", "Mańana").
    3. Between cp1252 (Western) and cp1250 (Central European), which decode German alike: cp1252,
       unless the bytes give Central European evidence, letters that cp1252 reads as symbols
       (`\\xb3` ł, `\\xb9` ą, `\\xbf` ż) or ń where Spanish ñ could not stand (before a
       consonant or at a word's end: The Bat!'s `Iksi\\xf1ski` is "Iksiński").
    4. Latin-1, which decodes any bytes (a cp1252 byte with no character, such as 0x81).
    """
    if _reads_as_japanese(data):
        return "shift_jis" if _decodes(data, "shift_jis") else "cp932"
    best = from_bytes(data[:_SAMPLE_LIMIT], cp_isolation=_NORMALIZER_CANDIDATES).best()
    if best is not None and best.encoding in _NON_LATIN_CODECS and _whole_words(str(best)):
        return best.encoding
    return _latin_codec(data)


def decoded_with(data: bytes, codec: str) -> str:
    """`data` decoded strictly with `codec`, else as cp1252, else as Latin-1 (never fails)."""
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError):
        return _western_text(data)


def _western_text(data: bytes) -> str:
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        return data.decode("latin-1")


def known_codec(declared: str | None) -> str | None:
    """Python's name for a declared charset (`ISO-8859-1` → `iso8859-1`), or None when there is
    none, Python does not know it, or it has no meaning for the bytes of one value (UTF-16/32)."""
    if not declared:
        return None
    try:
        name = codecs.lookup(declared.strip().strip('"')).name
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        return None
    try:
        # bytes.decode refuses a codec that is no text encoding (rot13, base64, zlib …) with a
        # LookupError before it decodes anything (an empty input would skip the check).
        b"a".decode(name)
    except LookupError:
        return None
    except ValueError:  # UnicodeDecodeError: "a" is no whole character of this text encoding
        pass
    return None if name in _WIDE_CODECS else name


def declared_text(data: bytes, codec: str) -> str | None:
    """`data` decoded with a declared `codec` (from `known_codec`), or None when it does not
    decode them strictly or gives text no stored value may hold: a lone surrogate, which
    unicode_escape, raw_unicode_escape and UTF-7 can produce and UTF-8 cannot encode."""
    try:
        text = data.decode(codec)
    except (UnicodeError, ValueError):  # UnicodeDecodeError, and `undefined`'s or idna's UnicodeError
        return None
    return None if _SURROGATE.search(text) else text


def _decodes(data: bytes, codec: str) -> bool:
    try:
        data.decode(codec)
    except UnicodeDecodeError:
        return False
    return True


def _is_japanese(char: str) -> bool:
    code = ord(char)
    return (
        0x3040 <= code <= 0x30FF  # hiragana, katakana
        or 0x3400 <= code <= 0x4DBF  # CJK extension A
        or 0x4E00 <= code <= 0x9FFF  # CJK unified ideographs
        or 0xFF61 <= code <= 0xFF9F  # half-width katakana
    )


def _reads_as_japanese(data: bytes) -> bool:
    for codec in ("shift_jis", "cp932"):
        try:
            text = data.decode(codec)
        except UnicodeDecodeError:
            continue
        return _looks_japanese(text)
    return False


def _looks_japanese(text: str) -> bool:
    if any(0x80 <= ord(c) <= 0x9F or unicodedata.category(c) == "Co" for c in text):
        return False
    in_runs = glued = 0
    index = 0
    while index < len(text):
        if not _is_japanese(text[index]):
            index += 1
            continue
        end = index
        while end < len(text) and _is_japanese(text[end]):
            end += 1
        if end - index > 1:
            in_runs += end - index
        else:
            # One ideograph next to an ASCII letter is what a Latin-1 accent makes of a lead byte
            # (and a lone half-width katakana is what one Latin-1 capital such as Ø makes).
            before = text[index - 1] if index else ""
            after = text[end] if end < len(text) else ""
            if (before.isascii() and before.isalnum()) or (after.isascii() and after.isalnum()):
                glued += 1
        index = end
    return in_runs > 0 and glued * 4 <= in_runs


def _whole_words(text: str) -> bool:
    """Whether the non-ASCII letters of `text` make whole words of two letters or more, as
    Cyrillic does and Latin accents read as Cyrillic do not ("Müller" as "M" + soft sign + "ller")."""
    words = 0
    index = 0
    while index < len(text):
        if text[index].isascii() or not text[index].isalpha():
            index += 1
            continue
        end = index
        while end < len(text) and not text[end].isascii() and text[end].isalpha():
            end += 1
        before = text[index - 1] if index else ""
        after = text[end] if end < len(text) else ""
        if (before.isascii() and before.isalpha()) or (after.isascii() and after.isalpha()) or end - index < 2:
            return False
        words += 1
        index = end
    return words > 0


def _latin_codec(data: bytes) -> str:
    """cp1252 or cp1250 for Latin text, by the evidence `legacy_codec` describes (step 3)."""
    western = data.decode("cp1252") if _decodes(data, "cp1252") else None
    central = data.decode("cp1250") if _decodes(data, "cp1250") else None
    if central is None:
        return "cp1252" if western is not None else "latin-1"
    if western is None:
        return "cp1250"
    if western == central:
        return "cp1252"
    evidence = 0
    # Both are single-byte codecs, so the characters line up with the bytes.
    for index, (west, middle) in enumerate(zip(western, central, strict=True)):
        if west == middle:
            continue
        if west.isalpha() != middle.isalpha():
            evidence += 1 if middle.isalpha() else -1
        elif middle in "ńŃ":
            following = central[index + 1 : index + 2].lower()
            evidence += -1 if following in _VOWELS and following else 1
    return "cp1250" if evidence > 0 else "cp1252"
