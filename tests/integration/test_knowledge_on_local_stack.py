"""The local stack carries the knowledge base as the deployed layer does: built from its
config's articles when it starts, never at a function's cold start."""

from __future__ import annotations

from pathlib import Path

from conftest import MONDAY_MORNING
from helpdesk.knowledge import KnowledgeBase
from helpdesk_local.stack import LocalStack

REPO_ROOT = Path(__file__).resolve().parents[2]


def test_the_stack_builds_the_bundle_of_its_configs_articles_and_removes_it_after() -> None:
    with LocalStack(start=MONDAY_MORNING) as stack:
        assert stack.knowledge_path is not None
        knowledge = KnowledgeBase.load(stack.knowledge_path)
        found = knowledge.suggest("发票抬头要写公司名称和税号", "zh")
        assert [s.article.slug for s in found][:1] == ["invoice"]
        built = stack.knowledge_path
    assert not built.exists()


def test_a_config_without_articles_gives_an_empty_knowledge_base() -> None:
    config = REPO_ROOT / "tests" / "data" / "config" / "one_agent.yaml"
    with LocalStack(start=MONDAY_MORNING, config_path=config) as stack:
        assert stack.knowledge_path is not None
        assert KnowledgeBase.load(stack.knowledge_path).languages == ()
