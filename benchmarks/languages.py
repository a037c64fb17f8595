"""Every supported language on one table: routing accuracy and answered share, risky recall and benign
escalation, cross-lingual retrieval R@1/R@5, with English beside them (issue #14's "done when").

    .venv/bin/python benchmarks/languages.py [--embedding NAME] [--threads N]

Each column comes from the data set of its own benchmark, which has the details and more tables:
- routing: benchmarks/data/routing_multilingual.csv (60 messages x 8 languages), router trained on config.yaml's
  English examples as the worker trains it (benchmarks/routing_languages.py);
- risk: the held-out part of tests/drafting/risk_set/ through the shipped word lists (benchmarks/safety.py);
- retrieval: benchmarks/data/crosslingual_faq.json, StackFAQ articles in English, questions in every language
  (benchmarks/crosslingual.py).
English Banking77 on full data (the 92% floor) is benchmarks/router.py --embedding NAME --datasets DIR.
About 4 minutes with multilingual-e5-small on two idle cores (the retrieval store is embedded from scratch).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from benchmarks import crosslingual, routing_languages  # noqa: E402
from benchmarks.safety import rates, word_lists  # noqa: E402
from deskdraft.settings import load_config  # noqa: E402
from drafting.intents.persistence import embedder, specs  # noqa: E402
from drafting.intents.routing import decide_intent  # noqa: E402
from drafting.intents.training import c_for, train, training_set  # noqa: E402
from knowledge.store import open_store  # noqa: E402
from tests.drafting.risk_set import messages as risk_messages  # noqa: E402

LANGUAGES = routing_languages.LANGUAGES


def routing(embedding: str, threads: int) -> dict[str, tuple[float, float]]:
    """language -> (top-1 accuracy, share answered at min_probability and the out-of-scope floor)."""
    config = load_config(REPO / "config.yaml")
    intents = specs(config)
    risky = {spec.name for spec in intents if spec.risky}
    embed = embedder(embedding, threads)
    router = train(*training_set(intents), embed, c_for(embedding))
    rows, truth = routing_languages.messages()
    table = {}
    for language in LANGUAGES:
        classes, probabilities, similarity = router.scores_of_vectors(embed([row[language] for row in rows]))
        top = np.array(classes)[probabilities.argmax(axis=1)]
        answered = [decide_intent(router.classes, row, risky, config.routing.min_probability, similarity=float(s),
                                  min_similarity=router.min_similarity).intent != "unknown"
                    for row, s in zip(probabilities, similarity, strict=True)]
        table[language] = (float((top == truth).mean()), float(np.mean(answered)))
    return table


def risk() -> dict[str, tuple[int, int, int, int]]:
    """language -> (risky caught, risky, benign escalated, benign) on the held-out part."""
    held_out = list(risk_messages(parts=("held_out",)))
    verdicts = word_lists()(held_out)
    table = {}
    for language in LANGUAGES:
        mine = [i for i, m in enumerate(held_out) if m.language == language]
        table[language] = rates([held_out[i] for i in mine], [verdicts[i] for i in mine])
    return table


def retrieval(embedding: str, threads: int) -> dict[str, tuple[float, float]]:
    """language -> (R@1, R@5) of the questions in that language against the English articles."""
    data = crosslingual.load()
    with tempfile.TemporaryDirectory(prefix="deskdraft-languages-") as tmp, \
            open_store(str(Path(tmp) / "kb"), None, "languages-bench", embedding, threads) as store:
        crosslingual.fill(store, crosslingual.documents(data))
        return {language: crosslingual.recall(store, data, language)[:2] for language in LANGUAGES}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--embedding", default="multilingual-e5-small")
    parser.add_argument("--threads", type=int, default=0)
    args = parser.parse_args()
    routed, risky, found = routing(args.embedding, args.threads), risk(), retrieval(args.embedding, args.threads)
    english = routed["en"][0]
    print(f"Languages, {args.embedding} (routing and retrieval) and the shipped word lists (risk)")
    print("| language | routing top-1 | vs English | answered | risky caught | benign escalated | R@1 | R@5 |")
    print("|---|---|---|---|---|---|---|---|")
    for language in LANGUAGES:
        accuracy, answered = routed[language]
        caught, total, escalated, benign = risky[language]
        r1, r5 = found[language]
        print(f"| {language} | {accuracy:.1%} | {accuracy / english:.0%} | {answered:.1%} | "
              f"{caught}/{total} ({caught / total:.1%}) | {escalated}/{benign} ({escalated / benign:.1%}) | "
              f"{r1:.3f} | {r5:.3f} |")


if __name__ == "__main__":
    main()
