"""pipeline.text.pii: what --mask-pii finds and how it masks.

The two fixture collections were written by helpers who never saw the masker:
``tests/fixtures/pii`` (seen while the rules were written) and
``tests/fixtures/pii_holdout`` (written later; measured before any rule was changed
for it: 143 of 163 items masked, now 160).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from pipeline.config import Pii, config_from_dict
from pipeline.errors import PipelineError
from pipeline.text.pii import KINDS, PiiMasker

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"


@pytest.fixture(scope="module")
def masker() -> PiiMasker:
    return PiiMasker()


def collection(name: str) -> list[tuple[str, dict]]:
    manifest = json.loads((FIXTURES / name / "manifest.json").read_text(encoding="utf-8"))
    return [((FIXTURES / name / file).read_text(encoding="utf-8"), spec)
            for file, spec in manifest["documents"].items()]


def test_the_seen_collection_leaks_nothing_and_keeps_everything(masker: PiiMasker):
    for text, spec in collection("pii"):
        masked = masker.mask(text)
        leaked = [item["value"] for item in spec["pii"] if item["value"] in masked]
        lost = [k for k in spec["keep"] if k not in masked]
        assert not leaked and not lost, (leaked, lost)


def test_the_held_out_collection(masker: PiiMasker):
    """Every structured identifier, nearly every name, and no must-keep phrase lost."""
    missed: dict[str, list[str]] = {}
    total = {k: 0 for k in KINDS}
    for text, spec in collection("pii_holdout"):
        masked = masker.mask(text)
        for item in spec["pii"]:
            total[item["type"]] += 1
            if item["value"] in masked:
                missed.setdefault(item["type"], []).append(item["value"])
        assert [k for k in spec["keep"] if k not in masked] == []
    assert set(missed) <= {"NAME"}, missed
    assert len(missed.get("NAME", [])) <= 0.05 * total["NAME"], missed


@pytest.mark.parametrize(("text", "kind"), [
    ("write to Lina.M+ads@Mail.Example.co.uk today", "EMAIL"),
    ("see https://example.org/a?b=c, then", "URL"),
    ("link in bio: linktr.ee/kira_x.", "URL"),
    ("mirror at abcdefghij234567.onion now", "URL"),
    ("follow @sweet_kira22 for more", "HANDLE"),
    ("IG: sweet.lina for pics", "HANDLE"),
    ("pay to bc1qxy2kgdygjrsqtzq2n0yrf2493p83kkfjhx0wlh please", "WALLET"),
    ("ETH 0x52908400098527886E0F7030069857D2E4169EE7 only", "WALLET"),
    ("USDT (TRC20) TN3W4H6rK2ce4vX9YnFQHwKENnHjoxb3m9 only", "WALLET"),
    ("IBAN RO49 AAAA 1B31 0075 9384 0000 by Friday", "IBAN"),
    ("card 4111 1111 1111 1111 was used", "CARD"),
    ("call +44 7700 900123 now", "PHONE"),
    ("call (020) 7946 0958 now", "PHONE"),
    ("WhatsApp 0040.721.555.321 only", "PHONE"),
    ("tel.0721234567 now", "PHONE"),
    ("write to anna (at) gmail (dot) com today", "EMAIL"),
    ("write to anna at gmail dot com today", "EMAIL"),
    ("write to ánna@exämple.de today", "EMAIL"),
    ("seen at hxxp://evil.example/x today", "URL"),
    ("seen at evil[.]example today", "URL"),
    ("my telegram is kira_x now", "HANDLE"),
    ("message me on kik kira99 now", "HANDLE"),
    ("IBAN ro49 aaaa 1b31 0075 9384 0000 by Friday", "IBAN"),
])
def test_each_kind_is_found_and_typed(masker: PiiMasker, text: str, kind: str):
    spans = masker.find(text)
    assert [s.kind for s in spans] == [kind]
    assert f"[{kind}]" in masker.mask(text)


@pytest.mark.parametrize("text", [
    "On 14 March 2024 the court sat from 09:30 to 16:00.",
    "Takings of EUR 4 500 000 and £12,000 per month, 62% of them in 0.35 BTC.",
    "Case No. 2024/118 under article 3(a), between 2019 and 2023, 2019-2023.",
    "Europol, Interpol and the police of Lagos met in Bucharest on 2023-06-04 21:14.",
    "The ads ran on WhatsApp, Telegram, Instagram and OnlyFans.",
    "Victims Protection Act; Employer Sanctions Directive; General Principles.",
    "St. Louis Man Sentenced to 30 Years, said the U.S. Attorney.",
    "A. Background",
    "Security Council resolution 2331 (2016) and 2388 (2017).",
    "Phones were kept in a signal-blocking bag; Telegram in 2021.",
    "CASE SUMMARY (RESTRICTED)",
])
def test_ordinary_text_is_left_alone(masker: PiiMasker, text: str):
    assert masker.mask(text) == text


@pytest.mark.parametrize(("text", "masked"), [
    ("Ask for Lina.", "Ask for [NAME]."),
    ("the first defendant, Radu Ionescu, was held", "the first defendant, [NAME], was held"),
    ("Dr. Amaka Okafor-Bello signed; Okafor-Bello's note", "Dr. [NAME] signed; [NAME]'s note"),
    ("R v IONESCU\n\nMr Ionescu appealed.", "R v [NAME]\n\nMr [NAME] appealed."),
    ("a man known only as \"Sandu\"", "a man known only as \"[NAME]\""),
    ("SANTOS, Maria Luz (born 1991)", "[NAME] (born 1991)"),
    ("Sergiu Lungu, 41, was charged", "[NAME], 41, was charged"),
    ("(Dil Kumari Gurung, Ion Ciobanu and Bishnu Magar)", "([NAME], [NAME] and [NAME])"),
    ("Kira: hi\nOleg: ok\n", "[NAME]: hi\n[NAME]: ok\n"),
    ("The victim, ANNA KOVAC, was 19. MS KOVAC testified.",
     "The victim, [NAME], was 19. MS [NAME] testified."),
    ("The girls called him \"Big Papa\".", "The girls called him \"[NAME]\"."),
    ("work in San Pedro Sula, on Nathan Road", "work in San Pedro Sula, on Nathan Road"),
    ("Grace was sent. She met Grace Obi.", "[NAME] was sent. She met [NAME]."),
    ("Hope remains. Later, hope faded.", "Hope remains. Later, hope faded."),
    ("Hope remains. Later, Hope Adeyemi came.", "[NAME] remains. Later, [NAME] came."),
])
def test_names(masker: PiiMasker, text: str, masked: str):
    assert masker.mask(text) == masked


def test_a_name_seen_once_is_masked_in_every_sentence_of_the_document(masker: PiiMasker):
    text = "The suspect, Tomasz Wrobel, was arrested. Later Wrobel denied it."
    first, second = (0, text.index(" Later")), (text.index("Later"), len(text))
    assert masker.mask_spans(text, [second]) == ["Later [NAME] denied it."]
    assert masker.mask_texts([text[slice(*first)], text[slice(*second)]])[1] == (
        "Later [NAME] denied it.")
    assert masker.mask("Later Wrobel denied it.") == "Later Wrobel denied it."  # no cue alone


def test_mask_spans_masks_only_inside_each_span(masker: PiiMasker):
    text = "Call +44 7700 900123. Mail kira@example.org."
    assert masker.mask_spans(text, [(0, 21), (22, len(text))]) == [
        "Call [PHONE].", "Mail [EMAIL]."]
    # a span cutting a piece of personal data masks the part it holds
    assert masker.mask_spans(text, [(0, 12)]) == ["Call [PHONE]"]
    assert masker.mask_spans(text, []) == []


def test_kinds_names_and_keep_are_settings():
    only_phones = PiiMasker(kinds=["PHONE"])
    assert only_phones.mask("Ask for Lina on +44 7700 900123") == "Ask for Lina on [PHONE]"
    extra = PiiMasker(names=["Zbyszek"], keep=["Lina"])
    assert extra.mask("Zbyszek and Lina came") == "[NAME] and Lina came"


def test_a_config_section_drives_the_masker():
    cfg = config_from_dict({"labels": {"stage": {"labels": ["a"]}},
                            "pii": {"kinds": ["EMAIL"], "names": ["Zbyszek"]}})
    assert cfg.pii == Pii(kinds=("EMAIL",), names=("Zbyszek",))
    assert PiiMasker.from_config(cfg.pii).mask("Zbyszek: a@b.org") == "Zbyszek: [EMAIL]"


@pytest.mark.parametrize(("pii", "message"), [
    ({"kinds": ["PHONE", "SSN"]}, "pii.kinds: unknown kind(s) SSN"),
    ({"phone_digits": [9, 3]}, "pii.phone_digits"),
    ({"phone_digits": [7]}, "pii.phone_digits"),
    ({"names": "Lina"}, "pii.names: expected a list"),
    ({"ner": "x"}, "pii.ner: unknown setting"),
])
def test_bad_settings_name_the_key(pii: dict, message: str):
    with pytest.raises(PipelineError, match=re.escape(message)):
        config_from_dict({"labels": {"stage": {"labels": ["a"]}}, "pii": pii})


def test_a_named_ner_pipeline_that_is_not_installed_is_a_clear_error():
    with pytest.raises(PipelineError, match=re.escape(
            "pii.ner_model: cannot load spaCy pipeline 'no_such_pipeline_xx'")):
        PiiMasker(ner_model="no_such_pipeline_xx").load()


def test_a_ner_pipeline_adds_its_person_entities(tmp_path: Path):
    """A saved spaCy pipeline whose entity ruler marks PERSON stands in for a trained NER
    model such as en_core_web_sm (which needs a download)."""
    import spacy

    bare = spacy.blank("en")
    bare.add_pipe("sentencizer")
    bare.to_disk(tmp_path / "no_ner")
    with pytest.raises(PipelineError, match="has no entity recognizer"):
        PiiMasker(ner_model=str(tmp_path / "no_ner")).load()
    nlp = spacy.blank("en")
    nlp.add_pipe("ner")  # present but untrained; the ruler after it marks the person
    nlp.initialize()
    nlp.add_pipe("entity_ruler").add_patterns([{"label": "PERSON", "pattern": "Qwzx"}])
    nlp.to_disk(tmp_path / "with_ner")
    masker = PiiMasker(ner_model=str(tmp_path / "with_ner")).load()
    assert masker.mask("The cook Qwzx left.") == "The cook [NAME] left."


def test_long_text_is_searched_in_pieces(masker: PiiMasker):
    filler = "The work went on. " * 8000  # more than one piece
    text = filler + "Ask for Lina. " + filler + "Then Lina left."
    masked = masker.mask(text)
    assert "Lina" not in masked and masked.count("[NAME]") == 2


@pytest.mark.parametrize("text", [
    "-".join(["Ab"] * 20000),        # once a quadratic scan of the defanged-URL pattern
    "Anna, " * 5000,                 # once a quadratic overlap check
    "ANNA KOVAC " * 3000,            # once a match per pair of upper-case words
    "1 " * 20000, "(1" * 20000, "@" * 20000, "a." * 20000,
])
def test_pathological_text_is_masked_whole(masker: PiiMasker, text: str):
    """Long repetitive text (speed is measured in make bench, not here)."""
    masked = masker.mask(text)
    assert masked.count("[") == masked.count("]")
    assert "Anna" not in masked and "KOVAC" not in masked


def test_overlapping_finds_are_settled_in_order():
    from pipeline.text.pii import _Taken

    taken = _Taken()
    for a, b in [(10, 20), (30, 40), (0, 5)]:
        assert taken.free(a, b)
        taken.add(a, b)
    assert not taken.free(15, 25) and not taken.free(5, 11) and not taken.free(35, 36)
    assert taken.free(5, 10) and taken.free(20, 30) and taken.free(40, 41)
