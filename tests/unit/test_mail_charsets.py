"""Decoding mail bytes whatever the charset label claims."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from helpdesk.mail.charsets import decode_bytes, normalize_charset

RUSSIAN = (
    "Здравствуйте! Я оплатил заказ на прошлой неделе, но до сих пор не получил никакого "
    "подтверждения. Пожалуйста, проверьте платёж и ответьте мне как можно скорее."
)


def test_a_gb2312_label_on_gbk_text_is_read_as_gb18030() -> None:
    text, used = decode_bytes("朱镕基和陶喆".encode("gbk"), "gb2312")
    assert (text, used) == ("朱镕基和陶喆", "gb18030")


def test_the_declared_charset_wins_when_it_decodes_cleanly() -> None:
    # KOI8-R bytes would also decode as Windows-1251 (into nonsense); the label decides.
    assert decode_bytes(RUSSIAN.encode("koi8-r"), "koi8-r") == (RUSSIAN, "koi8-r")


@pytest.mark.parametrize(
    ("text", "encoding", "label", "expected_codec"),
    [
        ("我哋嘅訂單", "big5hkscs", "big5", "big5hkscs"),
        ("똠방각하", "cp949", "ks_c_5601-1987", "cp949"),
        ("똠방각하", "cp949", "euc-kr", "cp949"),
        ("注文番号①", "cp932", "shift_jis", "cp932"),
        ("ｶﾀｶﾅ", "iso2022_jp_ext", "iso-2022-jp", "iso2022_jp_ext"),
        ("订单𠮷", "gb18030", "x-gbk", "gb18030"),
    ],
)
def test_legacy_labels_fall_back_to_their_supersets(
    text: str, encoding: str, label: str, expected_codec: str
) -> None:
    assert decode_bytes(text.encode(encoding), label) == (text, expected_codec)


def test_an_iso_8859_1_label_on_windows_1252_quotes_reads_windows_1252() -> None:
    text, used = decode_bytes("“Preis” 10 €".encode("cp1252"), "iso-8859-1")
    assert (text, used) == ("“Preis” 10 €", "cp1252")


def test_a_single_byte_label_on_utf8_text_reads_utf8() -> None:
    assert decode_bytes("Grüße".encode(), "iso-8859-1") == ("Grüße", "utf-8")
    assert decode_bytes("Привет".encode(), "windows-1251") == ("Привет", "utf-8")


def test_a_us_ascii_label_on_8_bit_text_reads_utf8_then_windows_1252() -> None:
    assert decode_bytes("café".encode(), "us-ascii") == ("café", "utf-8")
    assert decode_bytes("café".encode("cp1252"), "us-ascii") == ("café", "cp1252")


def test_a_koi8_r_label_on_ukrainian_text_reads_koi8_u() -> None:
    text = "Їжак і ґанок"
    assert decode_bytes(text.encode("koi8-u"), "koi8-r") == (text, "koi8-u")


def test_utf8_with_one_broken_byte_stays_utf8_with_a_replacement() -> None:
    text, used = decode_bytes("très coupé ".encode() + b"\xe8 fin", "utf-8")
    assert used == "utf-8"
    assert text == "très coupé \ufffd fin"


def test_a_utf8_label_on_windows_1251_text_is_detected() -> None:
    text, used = decode_bytes(RUSSIAN.encode("cp1251"), "utf-8")
    assert text == RUSSIAN
    assert used == "cp1251"


def test_an_unknown_label_on_utf8_text_reads_utf8() -> None:
    assert decode_bytes("où est ma commande".encode(), "x-klingon") == (
        "où est ma commande",
        "utf-8",
    )


def test_no_label_and_plain_ascii_reads_ascii() -> None:
    assert decode_bytes(b"plain", None) == ("plain", "ascii")


def test_labels_with_quotes_case_and_rfc2231_language_are_understood() -> None:
    assert normalize_charset('"UTF-8"') == "utf-8"
    assert normalize_charset("utf-8*en") == "utf-8"
    assert normalize_charset(" Windows-1251 ") == "cp1251"


def test_escape_and_non_text_codecs_cannot_be_chosen_by_a_label() -> None:
    assert normalize_charset("unicode_escape") is None
    assert normalize_charset("base64") is None
    assert normalize_charset("rot13") is None
    text, _ = decode_bytes(b"\\u0041", "unicode-escape")
    assert text == "\\u0041"


def test_a_utf8_byte_order_mark_is_not_part_of_the_text() -> None:
    assert decode_bytes(b"\xef\xbb\xbfhello \xc3\xa9", "utf-8")[0] == "hello é"


@pytest.mark.parametrize("label", [None, "utf-8", "gb2312", "big5", "koi8-r", "iso-2022-jp", "x-?"])
def test_arbitrary_bytes_always_decode_to_text(label: str | None) -> None:
    garbage = bytes(range(256)) * 3 + b"\x1b$B\x1b(J\xff\xfe"
    text, used = decode_bytes(garbage, label)
    assert isinstance(text, str)
    assert used


def test_importing_the_mail_package_loads_no_heavy_library() -> None:
    # Lambda cold starts pay for every import; the heavy libraries load on first use only.
    layer = Path(__file__).resolve().parents[2] / "layers" / "helpdesk"
    code = (
        f"import sys; sys.path.insert(0, {str(layer)!r})\n"
        "import helpdesk.mail.parse, helpdesk.mail.robots\n"
        "heavy = {'charset_normalizer', 'publicsuffixlist', 'pycld2'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == "[]"
