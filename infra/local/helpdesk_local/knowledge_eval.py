"""How well the knowledge base answers: precision at 3 and wrong suggestions off topic.

Scores the labelled questions of tests/data/knowledge_questions.yaml (customers' wording,
each with the article that answers it, or ``null`` for a question no article answers)
against the bundle built from the default config's articles, exactly as an
acknowledgement would ask (:meth:`helpdesk.knowledge.KnowledgeBase.suggest` with the
config's ``knowledge.suggest``). ``helpdesk bench`` reports the figures;
tests/unit/test_knowledge_retrieval.py holds them to the goals of issue 17.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from helpdesk_local.stack import REPO_ROOT

QUESTIONS = REPO_ROOT / "tests" / "data" / "knowledge_questions.yaml"
PRECISION_AT_3_GOAL = 0.85
OFFTOPIC_RATE_GOAL = 0.10


@dataclass
class RetrievalFigures:
    """The figures, overall and per language, and the questions that missed."""

    precision_at_3: float
    offtopic_suggestion_rate: float
    on_topic: dict[str, int] = field(default_factory=dict)
    off_topic: dict[str, int] = field(default_factory=dict)
    precision_by_language: dict[str, float] = field(default_factory=dict)
    offtopic_rate_by_language: dict[str, float] = field(default_factory=dict)
    misses: list[dict[str, Any]] = field(default_factory=list)

    def details(self) -> dict[str, Any]:
        return {
            "set_size": {
                language: {
                    "on_topic": self.on_topic[language],
                    "off_topic": self.off_topic[language],
                }
                for language in self.on_topic
            },
            "precision_at_3_by_language": self.precision_by_language,
            "offtopic_suggestion_rate_by_language": self.offtopic_rate_by_language,
            "misses": self.misses,
        }


def load_questions(path: Path = QUESTIONS) -> dict[str, list[dict[str, Any]]]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    return {str(language): list(items) for language, items in data.items()}


def measure_retrieval(
    config_path: Path = REPO_ROOT / "infra" / "helpdesk.yaml",
    questions: Mapping[str, list[dict[str, Any]]] | None = None,
) -> RetrievalFigures:
    """Score every labelled question against the articles of ``config_path``."""
    import tempfile

    from helpdesk.config import load_config
    from helpdesk.knowledge import BUNDLE_NAME, KnowledgeBase
    from helpdesk_local.knowledge_checks import build_bundle_for

    config = load_config(config_path)
    limit = max(config.knowledge.suggest, 1)
    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / BUNDLE_NAME
        build_bundle_for(config_path, bundle)
        knowledge = KnowledgeBase.load(bundle)
    asked = load_questions() if questions is None else questions
    found_right = on_total = suggested_off = off_total = 0
    figures = RetrievalFigures(0.0, 0.0)
    for language, items in asked.items():
        right = on = wrong = off = 0
        for item in items:
            slugs = [s.article.slug for s in knowledge.suggest(item["q"], language, limit)]
            if item["expect"] is None:
                off += 1
                wrong += bool(slugs)
                if slugs:
                    figures.misses.append({"language": language, "q": item["q"], "got": slugs})
            else:
                on += 1
                right += item["expect"] in slugs[:3]
                if item["expect"] not in slugs[:3]:
                    figures.misses.append(
                        {"language": language, "q": item["q"], "expect": item["expect"],
                         "got": slugs}
                    )  # fmt: skip
        figures.on_topic[language], figures.off_topic[language] = on, off
        figures.precision_by_language[language] = round(right / on, 3) if on else 0.0
        figures.offtopic_rate_by_language[language] = round(wrong / off, 3) if off else 0.0
        found_right, on_total = found_right + right, on_total + on
        suggested_off, off_total = suggested_off + wrong, off_total + off
    figures.precision_at_3 = round(found_right / on_total, 3) if on_total else 0.0
    figures.offtopic_suggestion_rate = round(suggested_off / off_total, 3) if off_total else 0.0
    return figures


# What a suggesting function adds to its cold start, timed as bench.py times imports (a
# fresh `python -I` process, the layer on sys.path): the package, the bundle, one question
# in each language (the stemmers are imported at the first question that needs them).
_COLD_START_PROBE = """
import sys, time
sys.path[:0] = sys.argv[2:]
started = time.perf_counter()
from helpdesk.knowledge import KnowledgeBase
knowledge = KnowledgeBase.load(sys.argv[1])
for text, language in (("parcel", "en"), ("посылка", "ru"), ("包裹", "zh")):
    knowledge.suggest(text, language)
print((time.perf_counter() - started) * 1000)
"""


def cold_start_ms(runs: int = 5) -> float:
    """Median milliseconds of :data:`_COLD_START_PROBE` on the default config's articles."""
    import statistics
    import subprocess
    import sys
    import tempfile

    from helpdesk.knowledge import BUNDLE_NAME
    from helpdesk_local.knowledge_checks import build_bundle_for

    with tempfile.TemporaryDirectory() as folder:
        bundle = Path(folder) / BUNDLE_NAME
        build_bundle_for(REPO_ROOT / "infra" / "helpdesk.yaml", bundle)
        samples = []
        for _ in range(runs):
            output = subprocess.run(  # noqa: S603 - our own interpreter, our own probe
                [sys.executable, "-I", "-c", _COLD_START_PROBE, str(bundle),
                 str(REPO_ROOT / "layers" / "helpdesk")],
                check=True, capture_output=True, text=True, cwd=REPO_ROOT,
            ).stdout  # fmt: skip
            samples.append(float(output.strip().splitlines()[-1]))
    return round(statistics.median(samples), 1)
