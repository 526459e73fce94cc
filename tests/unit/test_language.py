"""Choosing among the desk's languages: by script first, then CLD2 (pycld2), else the default."""

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from helpdesk.language import detect_language

DESK = ("en", "zh", "ru")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, my invoice is wrong and I would like a refund, please.", "en"),
        ("我的发票有问题，请帮我处理一下。", "zh"),
        ("我的發票有問題，請幫我處理一下。", "zh"),
        ("Здравствуйте! У меня проблема со счётом, помогите, пожалуйста.", "ru"),
        ("谢谢", "zh"),
        ("我的MacBook Pro无法开机", "zh"),
        ("请看 https://example.com/a/very/long/path?with=parameters 谢谢", "zh"),
        ("请看 HTTPS://EXAMPLE.COM/A/LONG/PATH 或 ＷＷＷ．ＥＸＡＭＰＬＥ．ＣＯＭ 谢谢", "zh"),
        ("请写信到 someone.with.a.long.name@example.com 谢谢", "zh"),
    ],
)
def test_the_language_of_a_message_is_found_among_the_desks(text: str, expected: str) -> None:
    assert detect_language(text, DESK) == expected


@pytest.mark.parametrize("text", ["", "   ", "ok", "?!", "12345", "support@desk.example"])
def test_a_message_too_short_to_tell_gets_the_default(text: str) -> None:
    assert detect_language(text, DESK) == "en"
    assert detect_language(text, DESK, default="ru") == "ru"


@pytest.mark.parametrize(
    "text",
    [
        "こんにちは、請求書について質問があります。",
        "مرحبا، لدي مشكلة في الفاتورة",
        "Γεια σας, έχω πρόβλημα με τον λογαριασμό μου",
    ],
)
def test_a_language_the_desk_does_not_serve_falls_back_to_the_default(text: str) -> None:
    assert detect_language(text, DESK) == "en"
    assert detect_language(text, DESK, default="ru") == "ru"


def test_a_latin_message_on_a_desk_without_a_latin_language_falls_back() -> None:
    assert detect_language("Ich habe eine Frage zu meiner Rechnung", ("zh", "ru")) == "zh"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Hello, my invoice is wrong, please help me with it.", "en"),
        ("Ich habe eine Frage zu meiner Rechnung, bitte helfen Sie mir.", "de"),
        ("Bonjour, j'ai un problème avec ma facture, pouvez-vous m'aider ?", "fr"),
    ],
)
def test_languages_sharing_a_script_are_told_apart_by_the_model(text: str, expected: str) -> None:
    assert detect_language(text, ("en", "de", "fr")) == expected


def test_when_the_model_is_unsure_the_default_is_used() -> None:
    spanish = "Hola, tengo un problema con mi factura"

    assert detect_language(spanish, ("en", "de", "fr"), default="de") == "de"


def test_chinese_and_japanese_are_told_apart() -> None:
    desk = ("zh", "ja")

    assert detect_language("我的发票有问题，请帮我处理一下。", desk) == "zh"
    assert detect_language("請求書について質問があります。", desk) == "ja"


def test_without_languages_or_a_default_there_is_nothing_to_choose() -> None:
    with pytest.raises(ValueError, match="no languages"):
        detect_language("hello", ())
    assert detect_language("hello there", (), default="en") == "en"


@pytest.mark.parametrize(
    "text",
    [
        "Hello\x00 there, my invoice is wrong \x07 and I want a refund, please.",
        "Hello \ud800 there, my invoice is wrong and I want a refund, please.",
    ],
)
def test_control_characters_and_broken_unicode_do_not_hide_the_language(text: str) -> None:
    assert detect_language(text, ("en", "de", "fr"), default="de") == "en"


def test_a_request_followed_by_half_a_megabyte_without_spaces_is_read_from_its_beginning() -> None:
    # The attacker's mail of issue 14: the address pattern used to rescan such a run from
    # every position (minutes of intake time for one mail).
    text = "Здравствуйте, мой заказ не пришёл, помогите пожалуйста. " + "7" * 500_000
    assert detect_language(text, ["en", "zh", "ru"]) == "ru"


@settings(max_examples=400, deadline=None)
@given(
    text=st.text(
        alphabet=st.one_of(st.sampled_from("@:/.wWhHtTpPsS "), st.characters()), max_size=40
    )
)
def test_a_text_the_quick_look_passes_over_holds_no_address_or_link(text: str) -> None:
    """detect_language blanks addresses and links only in a text the quick look finds a
    trace of one in; where it finds none, the full search finds none either."""
    from helpdesk.language import _ADDRESSES_AND_LINKS, _may_hold_address_or_link

    if not _may_hold_address_or_link(text):
        assert _ADDRESSES_AND_LINKS.search(text) is None


@settings(max_examples=400, deadline=None)
@given(
    text=st.one_of(
        st.text(alphabet=st.sampled_from("abcпрдж中文かなABC 1.,!"), max_size=200),
        st.text(max_size=200),
    )
)
def test_the_script_counts_are_those_of_counting_every_character(text: str) -> None:
    """The dominant script of an ASCII text is counted in C without a look at each
    character: the same script and letter total as counting every character's script,
    which every other text still does (ties going to the script seen first)."""
    from collections import Counter

    from helpdesk.language import _CJK_SCRIPTS, _CJK_WEIGHT, _dominant_script, _script_of

    counts: Counter[str] = Counter()
    for character, occurrences in Counter(text).items():
        if character.isalpha():
            script = _script_of(character)
            counts[script] += occurrences * (_CJK_WEIGHT if script in _CJK_SCRIPTS else 1)
    if counts["KANA"] and counts["CJK"]:
        counts["KANA"] += counts.pop("CJK")
    expected = (counts.most_common(1)[0][0], sum(counts.values())) if counts else (None, 0)

    assert _dominant_script(text) == expected
