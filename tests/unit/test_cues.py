"""pipeline.text.cues: cue-term files and phrase matching on normalised tokens."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from pipeline.config import Config
from pipeline.errors import PipelineError
from pipeline.text.cues import CueMatcher, read_cues
from pipeline.text.preprocess import Preprocessor

CUES = {
    "technology:cryptocurrency": ["crypto wallet", "bitcoin"],
    "stage:control": ["take passport", "  ", "Threatened"],
    "stage:recruitment": [],
}


@pytest.fixture(scope="module")
def matcher(preprocessor: Preprocessor) -> CueMatcher:
    return CueMatcher(CUES, preprocessor)


def counts(matcher: CueMatcher, preprocessor: Preprocessor, text: str) -> dict[str, float]:
    return dict(zip(matcher.keys, matcher.counts(preprocessor.tokens(text)).tolist(),
                    strict=True))


def test_inflected_forms_match(matcher: CueMatcher, preprocessor: Preprocessor):
    found = counts(matcher, preprocessor, "Police seized two crypto wallets.")
    assert found == {"technology:cryptocurrency": 1.0, "stage:control": 0.0,
                     "stage:recruitment": 0.0}


def test_case_and_inflection_insensitive_counts(matcher: CueMatcher, preprocessor: Preprocessor):
    text = "Two Crypto Wallets, one crypto wallet and some BITCOIN. They took passports."
    assert counts(matcher, preprocessor, text) == {"technology:cryptocurrency": 3.0,
                                                   "stage:control": 1.0,
                                                   "stage:recruitment": 0.0}
    assert matcher.matches(preprocessor.tokens(text)) == {
        "technology:cryptocurrency": ["crypto wallet", "crypto wallet", "bitcoin"],
        "stage:control": ["take passport"]}


@pytest.mark.parametrize("text", ["crypto", "a wallet of crypto", "wallet crypto",
                                  "cryptowallet", "they took her passport", ""])
def test_no_match_without_the_whole_phrase(matcher: CueMatcher, preprocessor: Preprocessor,
                                           text: str):
    assert matcher.counts(preprocessor.tokens(text)).sum() == 0
    assert matcher.matches(preprocessor.tokens(text)) == {}


def test_terms_are_normalised_like_text(matcher: CueMatcher):
    assert matcher.terms["technology:cryptocurrency"] == [("bitcoin",), ("crypto", "wallet")]
    # terms are lemmatised too; the blank term is dropped
    assert matcher.terms["stage:control"] == [("take", "passport"), ("threaten",)]
    assert matcher.terms["stage:recruitment"] == []


def test_inflected_term_matches_other_forms(matcher: CueMatcher, preprocessor: Preprocessor):
    found = counts(matcher, preprocessor, "They threaten the women.")  # term is "Threatened"
    assert found["stage:control"] == 1.0


def test_counts_vector_shape(matcher: CueMatcher):
    out = matcher.counts([])
    assert out.dtype == np.float32 and out.shape == (3,) and not out.any()


def test_read_shipped_cues(config: Config):
    cues = read_cues(config.paths.cues, config)
    assert list(cues) == [f"{s}:{lab}" for s, lab in config.all_labels]
    assert "crypto wallet" in cues["technology:cryptocurrency"]
    assert all(t.strip() for terms in cues.values() for t in terms)


def test_shipped_cues_match_inflected_text(config: Config, preprocessor: Preprocessor):
    matcher = CueMatcher(read_cues(config.paths.cues, config), preprocessor)
    j = matcher.keys.index("technology:cryptocurrency")
    assert matcher.counts(preprocessor.tokens("They kept the money in crypto wallets."))[j] >= 1


@pytest.mark.parametrize(("content", "fragment"), [
    ('[stage]\nbogus = ["x"]\n', "stage.bogus: not a label of the config"),
    ('[weather]\nsunny = ["x"]\n', "weather.sunny: not a label of the config"),
    ('[stage]\ncontrol = "threat"\n', "stage.control: expected a list of strings"),
    ('[stage]\ncontrol = [1]\n', "stage.control: expected a list of strings"),
    ('stage = 3\n', "stage: expected a table"),
    ('[stage\n', "cannot read cue terms"),
])
def test_bad_cue_files(tmp_path: Path, config: Config, content: str, fragment: str):
    path = tmp_path / "cues.toml"
    path.write_text(content, encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        read_cues(path, config)
    assert fragment in str(err.value) and str(path) in str(err.value)


def test_missing_cue_file(tmp_path: Path, config: Config):
    with pytest.raises(PipelineError, match="cue file not found"):
        read_cues(tmp_path / "none.toml", config)


def test_labels_without_terms_get_empty_lists(tmp_path: Path, config: Config):
    path = tmp_path / "cues.toml"
    path.write_text('[stage]\ncontrol = ["threat", " "]\n', encoding="utf-8")
    cues = read_cues(path, config)
    assert cues["stage:control"] == ["threat"]
    assert cues["technology:ai"] == [] and len(cues) == len(config.all_labels)


@pytest.mark.parametrize(("term", "fragment"), [
    ("24/7", "'<num>', which has a placeholder"),
    ("available 24/7", "'available <num>', which has a placeholder"),
    ("www.example.com", "placeholder"),
    ("ai", "stop word(s) 'have'"),
    ("the", "stop word(s) 'the'"),
    ("...", "normalises to nothing"),
])
def test_cue_terms_that_cannot_mean_what_they_say_are_errors(tmp_path: Path, config: Config,
                                                             preprocessor: Preprocessor,
                                                             term: str, fragment: str):
    path = tmp_path / "cues.toml"
    path.write_text(f'[technology]\nai = ["AI", "{term}"]\n', encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        CueMatcher(read_cues(path, config), preprocessor, source=str(path))
    message = str(err.value)
    assert "\n" not in message
    assert str(path) in message and "technology.ai" in message and repr(term) in message
    assert fragment in message


def test_acronym_cue_does_not_match_have(preprocessor: Preprocessor):
    matcher = CueMatcher({"technology:ai": ["AI"], "technology:iot_5g": ["5G"]}, preprocessor)
    assert matcher.counts(preprocessor.tokens("Social media has made it easier.")).sum() == 0
    assert matcher.counts(preprocessor.tokens("AI and 5G.")).tolist() == [1.0, 1.0]
    assert matcher.counts(preprocessor.tokens("4G networks")).sum() == 0


def test_plural_matches_singular_cue(preprocessor: Preprocessor):
    matcher = CueMatcher({"technology:cryptocurrency": ["cryptocurrency"]}, preprocessor)
    tokens = preprocessor.tokens("Cryptocurrencies allow criminals.")
    assert matcher.counts(tokens).tolist() == [1.0]


def test_match_inside_a_longer_match_of_another_label_does_not_count(
        preprocessor: Preprocessor):
    cues = {"technology:clearnet": ["internet", "video chat"],
            "technology:iot_5g": ["internet of things"],
            "technology:camera_microphone": ["video"],
            "technology:cryptocurrency": ["crypto wallet", "crypto"],
            "stage:proceeds": ["wallet"]}
    matcher = CueMatcher(cues, preprocessor)

    def found(text: str) -> dict[str, float]:
        return {k: v for k, v in zip(matcher.keys, matcher.counts(preprocessor.tokens(text)),
                                     strict=True) if v}

    assert found("The Internet of Things is growing.") == {"technology:iot_5g": 1.0}
    assert found("They met by video chat.") == {"technology:clearnet": 1.0}
    assert found("He sent a video over the internet.") == {
        "technology:clearnet": 1.0, "technology:camera_microphone": 1.0}
    # nested in the same label: both count; across label sets: both count
    assert found("a crypto wallet") == {"technology:cryptocurrency": 2.0, "stage:proceeds": 1.0}


def test_shipped_cues_load_and_ambiguous_words_are_phrases(config: Config,
                                                           preprocessor: Preprocessor):
    cues = read_cues(config.paths.cues, config)
    matcher = CueMatcher(cues, preprocessor, source=str(config.paths.cues))
    for text in ["Climate change is a threat to security.", "Border control was tightened.",
                 "Fear of crime rose.", "Automated cars are on trial.", "Parcel tracking works.",
                 "The platform for dialogue met.", "He has a criminal record.",
                 "Staff monitor the budget.", "Abuse of a position of vulnerability."]:
        assert matcher.matches(preprocessor.tokens(text)) == {}, text


@pytest.mark.parametrize(("table", "fragment"), [
    ("precision = 0.5\n", "expected a table"),
    ("[precision]\nexempt = \"stage.control:debt\"\n", "exempt: expected a list"),
    ("[precision]\nmin_precision = 5\n", "min_precision: expected a number from 0 to 1"),
    ("[precision]\nmin_matches = 0\n", "min_matches: expected a whole number"),
    ("[precision]\nmin_precison = 0.5\n", "unknown key 'min_precison'"),
])
def test_bad_precision_rule_is_a_user_error(tmp_path: Path, table: str, fragment: str):
    from pipeline.text.cues import read_precision_rule

    path = tmp_path / "cues.toml"
    path.write_text(table, encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        read_precision_rule(path)
    assert fragment in str(err.value) and str(path) in str(err.value)


@pytest.mark.parametrize("entry", ["bogus", "stage.control", "debt", ":debt"])
def test_exempt_entry_that_is_not_set_label_term_is_a_user_error(tmp_path: Path, entry: str):
    """hostile-final: exempt entries are checked to be strings only; one that is not
    "set.label:term" exempts nothing and is still counted in '(N exempt)'."""
    from pipeline.text.cues import read_precision_rule

    path = tmp_path / "cues.toml"
    path.write_text(f'[precision]\nexempt = ["{entry}"]\n', encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        read_precision_rule(path)
    assert "exempt" in str(err.value) and str(path) in str(err.value)
