"""`helpdesk validate` checks the knowledge base's articles and names file, line and key."""

from __future__ import annotations

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


def validate(desk: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["validate", str(desk / "helpdesk.yaml")])
    return code, capsys.readouterr().err


def test_the_shipped_articles_pass(desk: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["validate", str(desk / "helpdesk.yaml")])
    assert code == 0
    assert "the knowledge base's articles are sound" in capsys.readouterr().out


def test_an_article_without_a_title_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "knowledge" / "en" / "gift-cards.md").write_text(
        "---\ntags: [gift]\n---\nGift cards never expire.\n", encoding="utf-8"
    )
    code, errors = validate(desk, capsys)
    assert code == 1
    assert "knowledge/en/gift-cards.md:2: title: missing: every article needs a title" in errors


def test_broken_front_matter_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "knowledge" / "ru" / "gift-cards.md").write_text(
        "---\ntitle: Подарочные карты\ntags: [подарок\n---\nТекст.\n", encoding="utf-8"
    )
    code, errors = validate(desk, capsys)
    assert code == 1
    # The unclosed list on line 3, where the fix goes.
    assert "knowledge/ru/gift-cards.md:3: broken front matter: expected ',' or ']'" in errors


def test_an_article_with_no_front_matter_or_an_unclosed_one_is_named(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "knowledge" / "en" / "plain.md").write_text("Just text.\n", encoding="utf-8")
    (desk / "knowledge" / "en" / "open.md").write_text("---\ntitle: Open\n", encoding="utf-8")
    code, errors = validate(desk, capsys)
    assert code == 1
    assert "knowledge/en/plain.md:1: no front matter" in errors
    assert "knowledge/en/open.md:1: the front matter is never closed" in errors


def test_a_saved_reply_missing_in_a_configured_language_is_named(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (desk / "knowledge" / "ru" / "reply-refund-issued.md").unlink()
    code, errors = validate(desk, capsys)
    assert code == 1
    assert "knowledge/ru/reply-refund-issued.md: reply: saved reply 'reply-refund-issued'" in errors
    assert "is missing in 'ru'" in errors


def test_a_link_to_an_unknown_article_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = desk / "knowledge" / "zh" / "returns.md"
    text = path.read_text(encoding="utf-8").replace("(refunds.md)", "(refund-times.md)")
    path.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "refund-times.md" in t)
    code, errors = validate(desk, capsys)
    assert code == 1
    assert (
        f"knowledge/zh/returns.md:{line}: link: links to refund-times.md, but there is no"
        " article 'refund-times' in 'zh'"
    ) in errors


def test_a_misspelt_placeholder_in_a_saved_reply_is_named_with_its_line(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = desk / "knowledge" / "en" / "reply-order-delayed.md"
    text = path.read_text(encoding="utf-8").replace("{customer_name}", "{custmer_name}")
    path.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "{custmer_name}" in t)
    code, errors = validate(desk, capsys)
    assert code == 1
    assert f"knowledge/en/reply-order-delayed.md:{line}: {{custmer_name}}: unknown placeholder" in (
        errors
    )


def test_a_knowledge_path_that_does_not_exist_is_named_in_the_config(
    desk: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    config = desk / "helpdesk.yaml"
    text = config.read_text(encoding="utf-8").replace("knowledge:", "knowledge:\n  path: articles")
    config.write_text(text, encoding="utf-8")
    line = next(n for n, t in enumerate(text.splitlines(), 1) if "path: articles" in t)
    code, errors = validate(desk, capsys)
    assert code == 1
    assert f"helpdesk.yaml:{line}: knowledge.path: articles/ does not exist" in errors


def test_a_config_with_no_articles_yet_passes(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    text = CONFIG.read_text(encoding="utf-8")
    text = text[: text.index("\nknowledge:")] + "\n"  # the default path, no folder
    (tmp_path / "helpdesk.yaml").write_text(text, encoding="utf-8")
    assert main(["validate", str(tmp_path / "helpdesk.yaml")]) == 0
