"""`helpdesk validate` checks the knowledge base's articles and names file, line and key."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest

from helpdesk_local.cli import main

REPO_ROOT = Path(__file__).resolve().parents[2]
CONFIG = REPO_ROOT / "infra" / "helpdesk.yaml"


@pytest.fixture
def desk(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the bundled config and its articles, the working directory beside them."""
    shutil.copy(CONFIG, tmp_path / "helpdesk.yaml")
    shutil.copytree(REPO_ROOT / "infra" / "knowledge", tmp_path / "knowledge")
    monkeypatch.chdir(tmp_path)
    return tmp_path


def refused(desk: Path, capsys: pytest.CaptureFixture[str]) -> str:
    """`helpdesk validate` fails; what it wrote to stderr."""
    code = main(["validate", str(desk / "helpdesk.yaml")])
    assert code == 1
    return capsys.readouterr().err


def edited(path: Path, old: str, new: str) -> int:
    """The file with ``old`` replaced by ``new``; the line number the end of ``new`` is on."""
    text = path.read_text(encoding="utf-8").replace(old, new)
    path.write_text(text, encoding="utf-8")
    last = new.splitlines()[-1]
    return next(n for n, t in enumerate(text.splitlines(), 1) if last in t)


def test_the_shipped_articles_pass(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(desk / "helpdesk.yaml")])
    assert code == 0
    said = capsys.readouterr().out
    assert re.search(
        r"the knowledge base's [1-9]\d* articles \(en [1-9]\d*, zh [1-9]\d*, ru [1-9]\d*\)"
        r" and [1-9]\d* saved replies are sound",
        said,
    ), said


def test_a_config_without_its_articles_is_said_to_offer_none(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    # The articles' folder is relative to the config file: a copy of the file alone has
    # none, which "sound" would have hidden (first-user review S12).
    alone = tmp_path / "helpdesk.yaml"
    shutil.copy(CONFIG, alone)
    assert main(["validate", str(alone)]) == 0
    assert "the knowledge base has no articles" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("articles", "named"),
    [
        pytest.param(
            {"en/gift-cards.md": "---\ntags: [gift]\n---\nGift cards never expire.\n"},
            ["knowledge/en/gift-cards.md:2: title: missing: every article needs a title"],
            id="without a title",
        ),
        pytest.param(
            {"ru/gift-cards.md": "---\ntitle: Подарочные карты\ntags: [подарок\n---\nТекст.\n"},
            # The unclosed list on line 3, where the fix goes.
            ["knowledge/ru/gift-cards.md:3: broken front matter: expected ',' or ']'"],
            id="broken front matter",
        ),
        pytest.param(
            {"en/plain.md": "Just text.\n", "en/open.md": "---\ntitle: Open\n"},
            [
                "knowledge/en/plain.md:1: no front matter",
                "knowledge/en/open.md:1: the front matter is never closed",
            ],
            id="no front matter or an unclosed one",
        ),
    ],
)
def test_a_broken_article_is_named_with_its_file_and_line(
    desk: Path, capsys: pytest.CaptureFixture[str], articles: dict[str, str], named: list[str]
) -> None:
    for name, text in articles.items():
        (desk / "knowledge" / name).write_text(text, encoding="utf-8")

    errors = refused(desk, capsys)

    for error in named:
        assert error in errors


def test_a_saved_reply_missing_in_a_configured_language_is_named(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "knowledge" / "ru" / "reply-refund-issued.md").unlink()
    errors = refused(desk, capsys)
    assert "knowledge/ru/reply-refund-issued.md: reply: saved reply 'reply-refund-issued'" in errors
    assert "is missing in 'ru'" in errors


def test_a_link_to_an_unknown_article_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = edited(desk / "knowledge" / "zh" / "returns.md", "(refunds.md)", "(refund-times.md)")
    errors = refused(desk, capsys)
    assert (
        f"knowledge/zh/returns.md:{line}: link: links to refund-times.md, but there is no"
        " article 'refund-times' in 'zh'"
    ) in errors


def test_a_misspelt_placeholder_in_a_saved_reply_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    reply = desk / "knowledge" / "en" / "reply-order-delayed.md"
    line = edited(reply, "{customer_name}", "{custmer_name}")
    errors = refused(desk, capsys)
    assert f"knowledge/en/reply-order-delayed.md:{line}: {{custmer_name}}: unknown placeholder" in (
        errors
    )


def test_a_knowledge_path_that_does_not_exist_is_named_in_the_config(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    line = edited(desk / "helpdesk.yaml", "knowledge:", "knowledge:\n  path: articles")
    errors = refused(desk, capsys)
    assert f"helpdesk.yaml:{line}: knowledge.path: articles/ does not exist" in errors


def test_a_config_with_no_articles_yet_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = CONFIG.read_text(encoding="utf-8")
    text = text[: text.index("\nknowledge:")] + "\n"  # the default path, no folder
    (tmp_path / "helpdesk.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "helpdesk.yaml")]) == 0
