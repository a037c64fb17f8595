"""knowledge.redact on a labelled set (redaction_cases.json): every kind of identifier, and near-misses that stay.

The set was written with the detectors, so it is a regression suite and a specification, not an independent
estimate of precision and recall on real tickets; the figures are printed for the record (pytest -s).
"""
from __future__ import annotations

import json
import re
import time
from collections import Counter
from pathlib import Path

import pytest

from knowledge.redact import iban_valid, luhn_valid, redact

CASES = json.loads((Path(__file__).parent / "redaction_cases.json").read_text(encoding="utf-8"))
PLACEHOLDER = re.compile(r"\[(EMAIL|PHONE|CARD|IBAN|NATIONAL_ID|ADDRESS|URL)\]")
KINDS = {"EMAIL", "PHONE", "CARD", "IBAN", "NATIONAL_ID", "ADDRESS", "URL"}


@pytest.mark.parametrize("case", CASES, ids=[c["text"][:40] for c in CASES])
def test_case(case):
    assert redact(case["text"]).text == case["expected"], case.get("note", "")


def test_the_set_covers_every_kind_and_has_near_misses_and_reports_precision_recall():
    expected_kinds = Counter(k for c in CASES for k in PLACEHOLDER.findall(c["expected"]))
    assert set(expected_kinds) == KINDS
    near_misses = [c for c in CASES if not PLACEHOLDER.search(c["expected"])]
    assert len(near_misses) >= 20

    true_pos = false_pos = false_neg = 0
    for case in CASES:
        want = Counter(PLACEHOLDER.findall(case["expected"]))
        got = Counter(PLACEHOLDER.findall(redact(case["text"]).text))
        hit = sum((want & got).values())
        true_pos, false_pos, false_neg = true_pos + hit, false_pos + sum(got.values()) - hit, \
            false_neg + sum(want.values()) - hit
    precision, recall = true_pos / (true_pos + false_pos), true_pos / (true_pos + false_neg)
    print(f"\nredaction on {len(CASES)} cases ({sum(expected_kinds.values())} identifiers, {len(near_misses)} "
          f"near-miss texts): precision {precision:.3f}, recall {recall:.3f}; by kind {dict(expected_kinds)}")
    assert precision == recall == 1.0


def test_counts_and_idempotence():
    result = redact("a@b.co and c@d.co, card 4111 1111 1111 1111")
    assert result.counts == {"EMAIL": 2, "CARD": 1} and result.total == 3
    assert redact(result.text).text == result.text  # placeholders are never redacted again
    assert redact("").text == "" and redact("nothing here").counts == {}


def test_checksums():
    assert luhn_valid("4111111111111111") and not luhn_valid("4111111111111112")
    assert iban_valid("GB82 WEST 1234 5698 7654 32") and not iban_valid("GB82 WEST 1234 5698 7654 33")
    assert not iban_valid("GB82 WEST 1234 5698 7654")  # the wrong length for GB


def test_it_is_fast_enough_for_every_ticket():
    text = " ".join(c["text"] for c in CASES) * 10  # ~32 KB of identifier-dense text
    started = time.perf_counter()
    redact(text)
    assert time.perf_counter() - started < 2.0
