"""The knowledge base as the acknowledgement, the agent's assistant and `#reply` will use
it: suggestions in three languages, articles by slug, saved replies with placeholders."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from helpdesk.knowledge import KnowledgeBase, KnowledgeError, ReplyValues, bundle_path
from helpdesk.knowledge.articles import read_articles
from helpdesk.knowledge.index import LanguageIndex, build_bundle, write_bundle

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTICLES = REPO_ROOT / "infra" / "knowledge"
VALUES = ReplyValues(
    customer_name="Anna",
    reference="HD-7K3M9Q",
    promised_time="Mon 23 Nov, 13:00",
    agent_name="Lena",
)


@pytest.fixture(scope="module")
def knowledge(tmp_path_factory: pytest.TempPathFactory) -> KnowledgeBase:
    """The shipped articles, built and loaded through the JSON bundle as a function would."""
    articles, problems = read_articles(ARTICLES)
    assert problems == []
    path = tmp_path_factory.mktemp("bundle") / "knowledge.json"
    write_bundle(build_bundle(articles), path)
    return KnowledgeBase.load(path)


def slugs(knowledge: KnowledgeBase, text: str, language: str, limit: int = 3) -> list[str]:
    return [s.article.slug for s in knowledge.suggest(text, language, limit)]


def test_a_misspelt_english_question_finds_the_password_article(knowledge: KnowledgeBase) -> None:
    assert slugs(knowledge, "forgot my pasword, cant log in", "en")[0] == "reset-password"


@pytest.mark.parametrize(
    ("text", "language"),
    [("пароьл", "ru"), ("pasword resset", "en"), ("pasword", "en")],
)
def test_a_swapped_doubled_or_dropped_letter_still_finds_the_article(
    knowledge: KnowledgeBase, text: str, language: str
) -> None:
    assert slugs(knowledge, text, language)[:1] == ["reset-password"]


def test_an_inflected_russian_question_finds_the_refund_article(knowledge: KnowledgeBase) -> None:
    # "деньгами", "вернули": forms the article never uses.
    assert "refunds" in slugs(knowledge, "Когда мне вернут деньги за возвращённый заказ?", "ru")


def test_a_chinese_question_without_spaces_finds_the_invoice_article(
    knowledge: KnowledgeBase,
) -> None:
    assert slugs(knowledge, "需要开增值税发票，公司抬头怎么填", "zh")[0] == "invoice"


@pytest.mark.parametrize(
    ("text", "language"),
    [
        ("What's the weather in Berlin tomorrow?", "en"),
        ("明天北京天气怎么样", "zh"),
        ("Какая завтра погода в Москве?", "ru"),
        ("   ", "en"),
    ],
)
def test_an_off_topic_question_gets_no_suggestion(
    knowledge: KnowledgeBase, text: str, language: str
) -> None:
    assert knowledge.suggest(text, language) == []


# What a first-time user's plainest requests were offered (subject, a newline, the text, as
# intake asks): the article named in the subject must come first, and the wrong article
# they got must not be offered at all, since "this answered my question" solves the ticket.
@pytest.mark.parametrize(
    ("text", "language", "expected", "wrong"),
    [
        ("Where is my order?\nIt has been two weeks.", "en", "order-status", "refunds"),
        (
            "Where is my order?\nHi, I ordered a lamp two weeks ago (order A-7783) and it has"
            " not arrived yet. Can you track it?",
            "en",
            "order-status",
            "refunds",
        ),
        (
            "Где мой заказ?\nДобрый день! Заказ A-7782 оформлен две недели назад, до сих пор"
            " не доставлен. Подскажите, где он?",
            "ru",
            "order-status",
            "invoice",
        ),
        ("Не могу войти в аккаунт", "ru", "reset-password", "delete-account"),
        ("发货时间\n请问下单后多久发货？", "zh", "order-status", "refunds"),
        ("发货时间", "zh", "order-status", "refunds"),
        # Newuser 13's first mail, told the other ways customers say it: nothing, or the
        # refund article, had been offered (docs/KNOWLEDGE.md, "Measured").
        ("I have not received my order yet", "en", "order-status", "refunds"),
        ("Заказ не пришёл", "ru", "order-status", "invoice"),
        ("订单还没收到", "zh", "order-status", "invoice"),
    ],
)
def test_the_plainest_requests_get_their_article_first_and_not_the_wrong_one(
    knowledge: KnowledgeBase, text: str, language: str, expected: str, wrong: str
) -> None:
    found = slugs(knowledge, text, language)
    assert found[:1] == [expected]
    assert wrong not in found


def test_suggestions_stop_at_the_limit_and_zero_turns_them_off(knowledge: KnowledgeBase) -> None:
    question = "I want to return my order and get a refund, the parcel was damaged"
    assert len(knowledge.suggest(question, "en", limit=1)) == 1
    assert knowledge.suggest(question, "en", limit=0) == []


def test_suggestions_come_best_first_with_their_confidence(knowledge: KnowledgeBase) -> None:
    found = knowledge.suggest("how do I return a jacket, I need a return label", "en")
    confidences = [s.confidence for s in found]
    assert found[0].article.slug == "returns"
    assert confidences == sorted(confidences, reverse=True)
    assert all(0 < c <= 1 for c in confidences)


def test_a_language_with_no_articles_gets_no_suggestion(knowledge: KnowledgeBase) -> None:
    assert knowledge.suggest("Wo ist meine Bestellung?", "de") == []


def test_saved_replies_are_offered_to_the_agent_but_never_to_the_customer(
    knowledge: KnowledgeBase,
) -> None:
    question = "refund issued money back"
    assert all(not s.article.reply for s in knowledge.suggest(question, "en", limit=10))
    assert any(s.article.reply for s in knowledge.assist(question, "en", limit=10))


def test_an_article_is_found_by_slug_and_language(knowledge: KnowledgeBase) -> None:
    article = knowledge.article("returns", "ru")
    assert article is not None
    assert article.title == "Возврат и обмен товара"
    assert article.language == "ru" and not article.reply
    assert "30 дней" in article.body
    assert knowledge.article("returns", "de") is None
    assert knowledge.article("no-such-article", "en") is None


def test_a_saved_reply_in_chinese_has_its_placeholders_filled(knowledge: KnowledgeBase) -> None:
    text = knowledge.saved_reply("reply-order-delayed", "zh", VALUES)
    assert text is not None
    assert text.startswith("Anna，您好！")
    assert "最晚 Mon 23 Nov, 13:00 前" in text
    assert "HD-7K3M9Q" in text and text.endswith("Lena")
    assert "{" not in text


def test_a_saved_reply_in_russian_has_its_placeholders_filled(knowledge: KnowledgeBase) -> None:
    text = knowledge.saved_reply("reply-refund-issued", "ru", VALUES)
    assert text is not None
    assert text.startswith("Здравствуйте, Anna!")
    assert "(номер обращения HD-7K3M9Q)" in text and text.endswith("Lena")


def test_an_article_that_is_not_a_saved_reply_cannot_be_inserted(
    knowledge: KnowledgeBase,
) -> None:
    assert knowledge.saved_reply("returns", "en", VALUES) is None
    assert knowledge.saved_reply("reply-refund-issued", "de", VALUES) is None


def test_an_unknown_reply_slug_gets_the_close_matches(knowledge: KnowledgeBase) -> None:
    assert knowledge.close_matches("refund-issued", "en")[0] == "reply-refund-issued"
    assert knowledge.close_matches("reply-order-delay", "zh")[0] == "reply-order-delayed"
    assert knowledge.close_matches("zzz", "en") == []


def test_literal_braces_survive_and_an_unknown_placeholder_stays_as_written(
    tmp_path: Path,
) -> None:
    folder = tmp_path / "knowledge" / "en"
    folder.mkdir(parents=True)
    (folder / "braces.md").write_text(
        "---\ntitle: Braces\nreply: true\n---\nHi {customer_name}, type {{code}} ({oops}).\n",
        encoding="utf-8",
    )
    articles, problems = read_articles(tmp_path / "knowledge")
    assert problems == []
    text = KnowledgeBase(build_bundle(articles)).saved_reply("braces", "en", VALUES)
    assert text == "Hi Anna, type {code} ({oops})."


def test_a_missing_bundle_is_an_empty_knowledge_base_and_a_broken_one_an_error(
    tmp_path: Path,
) -> None:
    empty = KnowledgeBase.load(tmp_path / "absent.json")
    assert empty.languages == () and empty.suggest("where is my order", "en") == []
    broken = tmp_path / "broken.json"
    broken.write_text("{not json", encoding="utf-8")
    with pytest.raises(KnowledgeError, match="not a knowledge bundle"):
        KnowledgeBase.load(broken)
    other = tmp_path / "other.json"
    other.write_text(json.dumps({"format": 99, "languages": {}}), encoding="utf-8")
    with pytest.raises(KnowledgeError, match="format 99"):
        KnowledgeBase.load(other)


def test_the_bundle_holds_every_article_of_every_language(knowledge: KnowledgeBase) -> None:
    assert knowledge.languages == ("en", "ru", "zh")
    per_language = {
        lang: {a.slug for a in knowledge.articles(lang)} for lang in knowledge.languages
    }
    assert per_language["en"] == per_language["zh"] == per_language["ru"]
    assert len(per_language["en"]) >= 10


def test_the_bundle_of_the_layers_config_sits_beside_it() -> None:
    config = "/opt/python/helpdesk/helpdesk.yaml"
    assert bundle_path(config) == Path("/opt/python/helpdesk/knowledge.json")


# Each misspelt word is near two article words that a one-letter change reaches alike:
# "mat" (may, vat), "pat" (pay, vat). Which one the question is matched against must not
# depend on the process's string hashing, or two Lambda containers answer it differently.
_HASH_TIE_SCRIPT = """
import json, sys
from helpdesk.knowledge import KnowledgeBase
from helpdesk.knowledge.index import LanguageIndex
bundle = json.loads(open(sys.argv[1], encoding="utf-8").read())
knowledge = KnowledgeBase.load(sys.argv[1])
for question in ("mat", "pat", "the mat is wrong", "pat my account"):
    terms = LanguageIndex(bundle["languages"]["en"]).query_terms(question)
    offered = [(s.article.slug, round(s.confidence, 6)) for s in knowledge.assist(question, "en")]
    print(question, terms, offered)
"""


def test_a_misspelt_word_is_matched_to_the_same_article_word_whatever_the_hash_seed(
    tmp_path: Path,
) -> None:
    articles, _ = read_articles(ARTICLES)
    path = tmp_path / "knowledge.json"
    write_bundle(build_bundle(articles), path)
    answers = {
        seed: subprocess.run(
            [sys.executable, "-c", _HASH_TIE_SCRIPT, str(path)],
            env={**os.environ, "PYTHONHASHSEED": str(seed)},
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        for seed in range(6)
    }
    assert len(set(answers.values())) == 1, answers


def _index_of(*documents: str) -> LanguageIndex:
    """A language's index of articles that are only the given words (each its own stem)."""
    counts = [dict(Counter(document.split())) for document in documents]
    words = {word: word for document in documents for word in document.split()}
    return LanguageIndex(
        {"articles": [{}] * len(documents), "terms": counts, "grams": counts, "words": words}
    )


def test_of_equally_near_article_words_the_more_telling_one_is_chosen() -> None:
    # "carx" is one letter from "cart" and "card" and shares two trigrams with each;
    # "card" is in one article, "cart" in three: "card" says more about the question.
    index = _index_of("cart card", "cart", "cart", "refund")
    assert index.nearest("carx") == "card"


def test_of_equally_near_and_equally_telling_words_the_alphabetically_first_is_chosen() -> None:
    index = _index_of("cart", "card", "refund")
    assert index.nearest("carx") == "card"
    index = _index_of("card", "cart", "refund")
    assert index.nearest("carx") == "card"
