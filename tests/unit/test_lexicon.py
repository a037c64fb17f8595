"""The lexicon files are refused at start when broken: missing, misspelt, or a regex that does not compile."""
import shutil
from pathlib import Path

import pytest

from drafting import lexicon
from drafting.lexicon import FOLDER, LANGUAGES, LexiconError, load, parse

EN = (FOLDER / "en.yaml").read_text(encoding="utf-8")


def test_the_shipped_files_load_for_every_supported_language():
    loaded = load()
    assert list(loaded) == list(LANGUAGES)
    assert all(loaded[lang].risk["fraud"] for lang in LANGUAGES)


def test_near_and_terms_are_expanded():
    things = parse(EN, "en").risk["lost_or_stolen"]
    [near] = [p for p in things if p.startswith("(?:(?:lost")]
    assert "wallet" in near and "{things}" not in near
    assert not any("{possessive}" in p for p in parse(EN, "en").risk["account_closure"])


def _copy(tmp_path: Path) -> Path:
    for lang in LANGUAGES:
        shutil.copy(FOLDER / f"{lang}.yaml", tmp_path / f"{lang}.yaml")
    return tmp_path


def test_a_missing_language_file_stops_the_start(tmp_path):
    (_copy(tmp_path) / "sv.yaml").unlink()
    with pytest.raises(LexiconError, match=r"no lexicon for \['sv'\]"):
        load(tmp_path)


def test_a_file_for_an_unsupported_language_is_refused(tmp_path):
    (_copy(tmp_path) / "da.yaml").write_text(EN.replace("language: en", "language: da"), encoding="utf-8")
    with pytest.raises(LexiconError, match="not supported languages"):
        load(tmp_path)


@pytest.mark.parametrize("edit, message", [
    (lambda t: t.replace("  chargeback:", "  chargebak:", 1), "chargebak"),  # misspelt flag: unknown key
    (lambda t: t.replace("  chargeback:", "  charge:", 1), "chargeback"),  # and the real flag is then missing
    (lambda t: t + "extra: 1\n", "extra"),
    (lambda t: t.replace("    - 'fraud\\w*'", "    - 'fraud(\\w*'", 1), "bad regular expression"),
    (lambda t: t.replace("{things}", "{thing}", 1), r"\{thing\} is not defined"),
    (lambda t: t.replace("    - 'stolen'", "    - near: ['stolen']", 1), "near"),
    (lambda t: t.replace("    - 'stolen'", "    - ''", 1), "non-empty"),
    (lambda t: t.replace("human_words: [human,", "human_words: [Humän,", 1), "folded"),
    (lambda t: t.replace("language: en", "language: de"), "says language"),
    (lambda t: t.replace("risk:", "risk: [", 1), "not valid YAML"),
])
def test_a_broken_file_is_a_clear_error_naming_the_problem(edit, message):
    broken = edit(EN)
    assert broken != EN
    with pytest.raises(LexiconError, match=message) as caught:
        parse(broken, "en")
    assert "en.yaml" in str(caught.value)


def test_the_module_loads_at_import_so_a_start_fails_early():
    assert lexicon.LEXICONS.keys() == load().keys()
