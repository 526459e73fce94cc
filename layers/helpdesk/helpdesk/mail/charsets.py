"""Turning the bytes of a mail body or encoded word into text, whatever the label says.

Mail clients label their text with the charset they think they used, and are often wrong in
well-known ways: Chinese Windows clients say ``gb2312`` and send GBK (CP936), Big5 mail from
Hong Kong carries HKSCS characters, Korean Outlook says ``ks_c_5601-1987`` and sends CP949,
Japanese clients say ``shift_jis`` and use the Windows CP932 extensions (circled numbers,
NEC/IBM kanji), and a lot of Western software says ``iso-8859-1`` or ``us-ascii`` while sending
Windows-1252 or UTF-8.  The WHATWG Encoding Standard (https://encoding.spec.whatwg.org/#names-
and-labels) codifies most of these: browsers decode those labels with the superset.  We do
the same, and only when the label plainly lies do we guess with charset-normalizer.
"""

from __future__ import annotations

import codecs
import re
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import lru_cache

__all__ = ["decode_bytes", "decode_header_bytes", "normalize_charset"]

# Labels that Python does not know but real mail carries (WHATWG label table and observed
# Outlook/Java/Apple labels); mapped to the Python codec that decodes them.
_LABEL_ALIASES: dict[str, str] = {
    "x-gbk": "gbk",
    "gb_2312-80": "gb2312",
    "csgb2312": "gb2312",
    "x-gb2312": "gb2312",
    "euc-cn": "gb2312",
    "x-euc-cn": "gb2312",
    "chinese": "gb2312",
    "x-big5": "big5",
    "cn-big5": "big5",
    "csbig5": "big5",
    "big5-hkscs": "big5hkscs",
    "x-windows-949": "cp949",
    "windows-949": "cp949",
    "ks_c_5601": "cp949",
    "ksc_5601": "cp949",
    "ksc5601": "cp949",
    "x-sjis": "cp932",
    "windows-31j": "cp932",
    "x-mac-cyrillic": "mac-cyrillic",
    "x-mac-ukrainian": "mac-cyrillic",
    "x-mac-roman": "mac-roman",
    "windows-874": "cp874",
    "x-windows-874": "cp874",
    "iso-8859-8-i": "iso8859-8",
    "iso-8859-6-i": "iso8859-6",
    "x-cp1250": "cp1250",
    "x-cp1251": "cp1251",
    "x-cp1252": "cp1252",
    "ansi_x3.4-1968": "ascii",
    "ascii": "ascii",
    "unicode-1-1-utf-8": "utf-8",
    "utf8": "utf-8",
    "x-unicode20utf8": "utf-8",
}

# Codecs that Python calls text encodings but that no mail charset label may select: they
# interpret escapes or are not charsets at all, so a hostile label must not reach them.
_FORBIDDEN_CODECS = frozenset(
    {"unicode-escape", "raw-unicode-escape", "punycode", "idna", "undefined", "mbcs", "oem"}
)

# The legacy multi-byte labels are decoded with their de-facto supersets when the strict
# decode with the label fails (the superset decodes everything the subset does identically).
_SUPERSETS: dict[str, tuple[str, ...]] = {
    # Windows "gb2312" is CP936/GBK; GB18030 is a superset of both (WHATWG: gb2312 -> GBK).
    "gb2312": ("gb18030",),
    "gbk": ("gb18030",),
    "hz": ("gb18030",),
    # Big5 as written in Hong Kong carries HKSCS; Windows' CP950 adds the euro sign and a
    # few symbols that Big5-HKSCS lacks, so it comes last.
    "big5": ("big5hkscs", "cp950"),
    "big5hkscs": ("cp950",),
    # Korean Outlook labels Unified Hangul Code (CP949) as ks_c_5601-1987 / euc-kr.
    "euc_kr": ("cp949",),
    # Windows' Shift_JIS is CP932 (NEC row 13 and IBM extensions); JIS X 0213 after that.
    "shift_jis": ("cp932", "shift_jis_2004"),
    "euc_jp": ("euc_jis_2004", "euc_jisx0213"),
    # ISO-2022-JP mail often switches to JIS X 0201 katakana (ESC ( I) or JIS X 0212.
    "iso2022_jp": ("iso2022_jp_ext", "iso2022_jp_2", "iso2022_jp_2004"),
    # us-ascii with 8-bit bytes is a lie; UTF-8 is the likeliest truth, then Windows-1252.
    "ascii": ("utf-8", "cp1252"),
}

# Single-byte charsets decode every byte sequence "cleanly", so decoding success proves
# nothing about them; see _single_byte_choice for how we judge them instead.
_SINGLE_BYTE_PREFIXES = ("iso8859-", "cp125", "koi8-", "mac-", "cp8", "cp4", "tis-620")

_C1_CONTROLS = re.compile("[\x80-\x9f]")
# KOI8-U differs from KOI8-R only where KOI8-R has box-drawing characters; box drawing in a
# mail body is far less likely than Ukrainian letters under a KOI8-R label.
_KOI8R_BOX_DRAWING_FOR_UKRAINIAN = re.compile("[\u2553\u2555\u2556\u255c\u2562\u2564\u2565\u256b]")

# ISO-2022-JP is 7-bit: undeclared, it passes for ASCII, and its text would be kept as
# escape sequences. RFC 1468 section 3: ESC $ @ and ESC $ B switch to JIS X 0208, ESC ( J
# to JIS X 0201 Roman, ESC ( B back to ASCII; ESC $ ( D (JIS X 0212) is in RFC 2237.
_ISO_2022_JP_ESCAPES = (b"\x1b$B", b"\x1b$@", b"\x1b$(D", b"\x1b(J", b"\x1b(I")

# charset-normalizer is only asked about a sample: its verdict on 200 kB is as good as on
# 25 MB and costs far less.
_DETECTION_SAMPLE_BYTES = 200_000


def normalize_charset(label: str | None) -> str | None:
    """Return the Python codec name for a MIME charset label, or None when unknown or unsafe.

    Accepts the quoting and RFC 2231 section 5 language suffix (``utf-8*en``) found in the
    wild, and WHATWG/Outlook labels that Python does not know.
    """
    if not label:
        return None
    cleaned = label.strip().strip("\"'").split("*", 1)[0].strip().lower()
    if not cleaned or len(cleaned) > 40:
        return None
    cleaned = _LABEL_ALIASES.get(cleaned, cleaned)
    return _lookup_codec(cleaned)


@lru_cache(maxsize=256)
def _lookup_codec(label: str) -> str | None:
    try:
        info = codecs.lookup(label)
    except (LookupError, ValueError):
        return None
    name = info.name
    if name in _FORBIDDEN_CODECS or not getattr(info, "_is_text_encoding", True):
        return None
    return name


def decode_bytes(data: bytes, declared: str | None) -> tuple[str, str]:
    """Decode ``data`` to text; return the text and the codec actually used.

    The declared charset wins when it decodes cleanly; legacy labels fall back to their
    supersets (gb2312/gbk -> gb18030, big5 -> big5hkscs, euc-kr -> cp949, shift_jis -> cp932,
    iso-2022-jp -> its extensions, us-ascii/iso-8859-1 -> windows-1252).  Unknown labels and
    labels that plainly lie go to charset-normalizer, and as a last resort UTF-8 with U+FFFD
    replacement.  Never raises.
    """
    if not data:
        return "", normalize_charset(declared) or "utf-8"
    codec = normalize_charset(declared)
    if codec is not None:
        decoded = _decode_as_declared(data, codec)
        if decoded is not None:
            return decoded
    elif data.isascii():
        if looks_iso_2022_jp(data):
            decoded = _decode_as_declared(data, "iso2022_jp")
            if decoded is not None:
                return decoded
        return data.decode("ascii"), "ascii"
    else:
        utf8 = _strict(data, "utf-8")
        if utf8 is not None:
            return utf8, "utf-8"
    if codec == "utf-8":
        mostly_utf8 = _mostly_utf8(data)
        if mostly_utf8 is not None:
            return mostly_utf8, "utf-8"
    detected = _detect(data)
    if detected is not None:
        return detected
    if codec is not None and codec.startswith(_SINGLE_BYTE_PREFIXES):
        return data.decode(codec, errors="replace"), codec
    return data.decode("utf-8", errors="replace"), "utf-8"


def _decode_as_declared(data: bytes, codec: str) -> tuple[str, str] | None:
    if codec.startswith(_SINGLE_BYTE_PREFIXES):
        return _single_byte_choice(data, codec)
    for candidate in (codec, *_SUPERSETS.get(codec, ())):
        text = _strict(data, candidate)
        if text is not None:
            return _without_bom(text), candidate
    return None


def _single_byte_choice(data: bytes, codec: str) -> tuple[str, str] | None:
    if data.isascii():
        return data.decode("ascii"), codec
    # A client that declares its locale's single-byte charset while sending UTF-8 is the
    # commonest lie in mail; natural text in a single-byte charset is practically never
    # valid UTF-8 with multi-byte sequences, so validity is strong evidence.
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return _without_bom(utf8), "utf-8"
    if codec == "iso8859-1":
        # WHATWG: the iso-8859-1 and us-ascii labels mean windows-1252 (C1 controls in
        # Latin-1 are Windows "smart quotes" and the euro sign in practice).
        cp1252 = _strict(data, "cp1252")
        if cp1252 is not None:
            return cp1252, "cp1252"
    text = _strict(data, codec)
    if text is None:
        return None
    if codec == "koi8-r" and _KOI8R_BOX_DRAWING_FOR_UKRAINIAN.search(text):
        return data.decode("koi8-u"), "koi8-u"
    if _C1_CONTROLS.search(text) and codec != "iso8859-1":
        return None
    return text, codec


def _strict(data: bytes, codec: str) -> str | None:
    try:
        return data.decode(codec)
    except (UnicodeDecodeError, LookupError, ValueError):
        return None


def _without_bom(text: str) -> str:
    return text[1:] if text.startswith("\ufeff") else text


def _mostly_utf8(data: bytes) -> str | None:
    # A UTF-8 body with a handful of broken bytes (a truncated multi-byte character, one
    # pasted Latin-1 byte) is still UTF-8: replacing the few bad bytes beats re-guessing
    # the whole text as some single-byte charset.
    # Valid multi-byte sequences almost never occur by chance in legacy-charset text, so
    # more of them than broken bytes means UTF-8.
    text = data.decode("utf-8", errors="replace")
    replacements = text.count("\ufffd")
    multibyte = sum(1 for char in text if ord(char) > 0x7F) - replacements
    if multibyte > 0 and replacements <= multibyte:
        return _without_bom(text)
    return None


def _detect(data: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes

        best = from_bytes(data[:_DETECTION_SAMPLE_BYTES]).best()
    except Exception:
        return None
    if best is None or not best.encoding:
        return None
    detected = normalize_charset(best.encoding)
    if detected is None:
        return None
    for candidate in (detected, *_SUPERSETS.get(detected, ())):
        text = _strict(data, candidate)
        if text is not None:
            return _without_bom(text), candidate
    return data.decode(detected, errors="replace"), detected


def looks_iso_2022_jp(data: bytes) -> bool:
    """True when 7-bit ``data`` carries the escape sequences of ISO-2022-JP."""
    return b"\x1b" in data and any(escape in data for escape in _ISO_2022_JP_ESCAPES)


# Charsets a raw 8-bit header may be written in besides the body's: the legacy charsets of
# the desk's languages and their neighbours (Chinese, Japanese, Korean, Cyrillic, Western
# and Central European), supersets first.
_HEADER_CANDIDATES = (
    "gb18030", "big5hkscs", "cp932", "euc_jp", "cp949", "cp1251", "koi8-r", "cp1252",
    "iso8859-2",
)  # fmt: skip
_HEADER_SAMPLE_CHARS = 4000
# Characters of raw 8-bit header values one mail may have judged (each candidate's sample
# counts): the judging is a Python loop, and 1,000 fields of 4,000 bytes that are no UTF-8
# took 10.6 s, nine candidates each (attack 14, F1). Honest mail has a subject and a few
# names to judge, a few hundred characters; past the budget a value is decoded in the
# body's charset (or UTF-8) with replacement characters, in C.
HEADER_GUESS_BUDGET_CHARS = 256 * 1024
_GUESS_BUDGET: ContextVar[list[int] | None] = ContextVar("header_guess_budget", default=None)
_SCRIPTS = (
    ("cjk", 0x3040, 0x30FF), ("cjk", 0x3400, 0x4DBF), ("cjk", 0x4E00, 0x9FFF),
    ("hangul", 0xAC00, 0xD7AF), ("cyrillic", 0x0400, 0x04FF), ("latin", 0x00C0, 0x024F),
    ("greek", 0x0370, 0x03FF), ("hebrew", 0x0590, 0x05FF), ("arabic", 0x0600, 0x06FF),
    ("thai", 0x0E00, 0x0E7F),
)  # fmt: skip


@contextmanager
def header_guess_budget(chars: int = HEADER_GUESS_BUDGET_CHARS) -> Iterator[None]:
    """Within the block, :func:`decode_header_bytes` judges at most ``chars`` characters of
    candidate decodings in all (one mail's parse)."""
    token = _GUESS_BUDGET.set([chars])
    try:
        yield
    finally:
        _GUESS_BUDGET.reset(token)


# Of the budget, what the walk of a mail's parts (forwarded mails' subjects, file names)
# leaves for the mail's own subject and addresses, read after it (review 16, #6): nine
# candidates' samples of a 4,000-character subject, and names besides.
HEADER_GUESS_RESERVE_CHARS = 64 * 1024


@contextmanager
def keeping_header_guess_reserve(chars: int = HEADER_GUESS_RESERVE_CHARS) -> Iterator[None]:
    """Within the block, the budget is what is left less ``chars``, kept for what comes
    after it; what the block spent is spent."""
    outer = _GUESS_BUDGET.get()
    if outer is None:
        yield
        return
    granted = outer[0] - chars
    inner = [granted]
    token = _GUESS_BUDGET.set(inner)
    try:
        yield
    finally:
        _GUESS_BUDGET.reset(token)
        outer[0] -= max(0, granted - inner[0])


def _without_guessing(data: bytes, body_charset: str | None) -> str:
    codec = normalize_charset(body_charset) or "utf-8"
    try:
        return data.decode(codec, "replace")
    except LookupError:
        return data.decode("utf-8", "replace")


def decode_header_bytes(data: bytes, body_charset: str | None) -> str:
    """Decode a raw 8-bit header value (no RFC 2047 encoded words) in its own charset.

    Legacy clients write raw header bytes in their locale's charset, which need not be the
    body's (a Russian subject typed into a Chinese client, a forwarded subject kept as it
    came). UTF-8 is taken first (RFC 6532); otherwise each candidate that decodes the bytes
    strictly is judged by how natural its text is (one script, no stray symbols, no
    capital inside a word), the body's charset winning ties. Short header values are too
    little for a statistical detector, which is why this is not charset-normalizer.
    """
    utf8 = _strict(data, "utf-8")
    if utf8 is not None:
        return utf8
    budget = _GUESS_BUDGET.get()
    if budget is not None and budget[0] <= 0:
        return _without_guessing(data, body_charset)
    candidates = [c for c in (normalize_charset(body_charset), *_HEADER_CANDIDATES) if c]
    best: tuple[int, int, str] | None = None
    for order, candidate in enumerate(dict.fromkeys(candidates)):
        if budget is not None and budget[0] <= 0:
            break  # the best judged so far stands
        for codec in (candidate, *_SUPERSETS.get(candidate, ())):
            text = _strict(data, codec)
            if text is not None:
                # Judged on a sample: the verdict on 4,000 characters is as good as on all.
                sample = text[:_HEADER_SAMPLE_CHARS]
                if budget is not None:
                    budget[0] -= len(sample)
                score = (_oddness(sample), order, text)
                best = score if best is None or score < best else best
                break
    if best is None:
        return decode_bytes(data, body_charset)[0]
    return best[2]


def _script(char: str) -> str | None:
    code = ord(char)
    for name, low, high in _SCRIPTS:
        if low <= code <= high:
            return name
    return None


def _oddness(text: str) -> int:
    """How unlike natural text a decoding is: characters outside the letters of the
    common scripts, scripts mixed, and a capital letter right after a small one (what a
    single-byte Cyrillic text decoded with the wrong Cyrillic table looks like)."""
    odd = 0
    scripts: set[str] = set()
    previous, previous_script = "", None
    for char in text:
        if char.isascii():
            if char.isalpha() and previous_script not in (None, "latin"):
                odd += 1  # a Latin letter glued to a Cyrillic or CJK one
            previous, previous_script = char, None
            continue
        script = _script(char)
        if script is None and not char.isalpha():
            odd += 2 if 0x80 <= ord(char) <= 0x9F or 0xE000 <= ord(char) <= 0xF8FF else 1
        elif script is not None:
            scripts.add(script)
        if char.isupper() and previous.islower():
            odd += 1
        if script not in (None, "latin") and previous.isascii() and previous.isalpha():
            odd += 1
        if script == "cjk" and not _common_han(char):
            odd += 1
        previous, previous_script = char, script
    return odd + 3 * max(len(scripts) - 1, 0)


@lru_cache(maxsize=4096)
def _common_han(char: str) -> bool:
    """Kana, or a Han character of the everyday sets (GB 2312, Big5, JIS X 0208): what
    Chinese and Japanese text is made of, where a wrong decoding yields rare ones."""
    if 0x3040 <= ord(char) <= 0x30FF:
        return True
    for codec in ("gb2312", "big5", "euc_jp"):
        try:
            char.encode(codec)
        except UnicodeEncodeError:
            continue
        return True
    return False
