"""pipeline.config: TOML -> frozen dataclasses, dotted overrides, validation."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from pipeline.config import Config, config_from_dict, load_config, parse_overrides
from pipeline.errors import PipelineError

ROOT = Path(__file__).resolve().parents[2]


def test_fixture_config_values(config: Config, test_toml: Path):
    assert [s.name for s in config.label_sets] == ["stage", "technology"]
    assert config.label_set("stage").labels[0] == "recruitment"
    assert len(config.all_labels) == 13
    assert config.seed == 7
    assert config.thresholds.cv_folds == 3
    assert config.paths.cache is None  # cache = "" disables caching
    # written relative to the config file, read as paths from its folder
    assert [p.resolve() for p in config.paths.train] == [ROOT / "tests" / "fixtures" /
                                                         "mini.jsonl"]
    assert config.paths.cues.resolve() == ROOT / "configs" / "cues.toml"
    assert config.features.char_ngram_range == (3, 4)
    assert config.model.C == 4.0  # not in the file: the dataclass default
    assert config.source.resolve() == ROOT / "tests" / "fixtures" / "test.toml"


def test_config_is_frozen(config: Config):
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.model.C = 1.0  # type: ignore[misc]


def test_unknown_label_set_name(config: Config):
    with pytest.raises(PipelineError, match="'nope'"):
        config.label_set("nope")


@pytest.mark.parametrize(("args", "expected"), [
    (["--model.C", "2"], {"model.C": 2}),
    (["--model.C=0.5"], {"model.C": 0.5}),
    (["--features.char", "false"], {"features.char": False}),
    (["--features.word_ngram_range", "[1, 3]"], {"features.word_ngram_range": [1, 3]}),
    (["--preprocess.spacy_model", "en_core_web_sm"],
     {"preprocess.spacy_model": "en_core_web_sm"}),  # not a TOML literal: kept as a string
    (["--model.class-weight", "none"], {"model.class_weight": "none"}),
    (["--model.C", "2", "--thresholds.cv_folds", "4"], {"model.C": 2, "thresholds.cv_folds": 4}),
])
def test_parse_overrides(args, expected):
    assert parse_overrides(args) == expected


@pytest.mark.parametrize(("args", "fragment"), [
    (["stray"], "'stray'"),
    (["--nodot", "1"], "'--nodot'"),
    (["--model.C"], "--model.C needs a value"),
])
def test_parse_overrides_rejects(args, fragment):
    with pytest.raises(PipelineError) as err:
        parse_overrides(args)
    assert fragment in str(err.value)


def test_override_is_applied(test_toml: Path):
    cfg = load_config(test_toml, parse_overrides(["--model.C", "2", "--thresholds.cv_folds", "4",
                                                  "--features.word_ngram_range", "[1, 3]"]))
    assert cfg.model.C == 2.0
    assert isinstance(cfg.model.C, float)  # an int literal is coerced to the field's type
    assert cfg.thresholds.cv_folds == 4
    assert cfg.features.word_ngram_range == (1, 3)
    # the rest of the file is untouched
    assert cfg.seed == 7 and cfg.features.char_ngram_range == (3, 4)


def test_override_paths(test_toml: Path, tmp_path: Path):
    cfg = load_config(test_toml, {"paths.cues": str(tmp_path / "c.toml"),
                                  "paths.train": [str(tmp_path / "a.jsonl")],
                                  "paths.cache": str(tmp_path / "cache")})
    assert cfg.paths.cues == tmp_path / "c.toml"
    assert cfg.paths.train == (tmp_path / "a.jsonl",)
    assert cfg.paths.cache == tmp_path / "cache"


def test_override_new_table_value(test_toml: Path):
    cfg = load_config(test_toml, {"data.min_unlabeled_share": {"stage": 0.1}})
    assert cfg.data.min_unlabeled_share == {"stage": 0.1}


@pytest.mark.parametrize(("overrides", "fragments"), [
    ({"modle.C": 2}, ["unknown section or key", "'modle'"]),
    ({"model.Cee": 2}, ["model.Cee", "unknown setting"]),
    ({"thresholds.folds": 2}, ["thresholds.folds", "unknown setting"]),
    ({"model.C": "high"}, ["model.C", "expected float", "'high'"]),
    ({"thresholds.cv_folds": 2.5}, ["thresholds.cv_folds", "expected int"]),
    ({"thresholds.cv_folds": True}, ["thresholds.cv_folds", "expected int"]),
    ({"model.C": True}, ["model.C", "expected float"]),
    ({"features.char": "yes"}, ["features.char", "expected bool"]),
    ({"preprocess.lang": 3}, ["preprocess.lang", "expected str"]),
    ({"features.word_ngram_range": 2}, ["features.word_ngram_range", "expected a list"]),
    ({"features.word_ngram_range": [1, "2"]}, ["features.word_ngram_range", "expected int"]),
    ({"data.min_unlabeled_share": 0.1}, ["data.min_unlabeled_share", "expected a table"]),
    ({"seed": "x"}, ["seed", "expected int"]),
    ({"seed.value": 1}, ["override seed.value", "seed is not a section"]),
])
def test_bad_overrides_name_the_key(test_toml: Path, overrides, fragments):
    with pytest.raises(PipelineError) as err:
        load_config(test_toml, overrides)
    for fragment in fragments:
        assert fragment in str(err.value)
    assert str(test_toml) in str(err.value) or "override" in str(err.value)


@pytest.mark.parametrize(("overrides", "key"), [
    ({"model.classifier": "forest"}, "model.classifier"),
    ({"model.C": 0}, "model.C"),
    ({"thresholds.cv_folds": 1}, "thresholds.cv_folds"),
    ({"thresholds.grid_start": 0.9, "thresholds.grid_stop": 0.1}, "grid_start"),
    ({"thresholds.grid_step": 0}, "grid_step"),
    ({"features.word_ngram_range": [2, 1]}, "features.word_ngram_range"),
    ({"features.char_ngram_range": [0, 3]}, "features.char_ngram_range"),
])
def test_invalid_values_name_the_key(test_toml: Path, overrides, key):
    with pytest.raises(PipelineError, match=key):
        load_config(test_toml, overrides)


def test_linear_svm_is_accepted(test_toml: Path):
    assert load_config(test_toml, {"model.classifier": "linear_svm"}).model.classifier == \
        "linear_svm"


def test_missing_config_file(tmp_path: Path):
    missing = tmp_path / "nope.toml"
    with pytest.raises(PipelineError, match="config file not found") as err:
        load_config(missing)
    assert str(missing) in str(err.value)


def test_invalid_toml(tmp_path: Path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[labels.stage\nlabels = [", encoding="utf-8")
    with pytest.raises(PipelineError, match="invalid TOML") as err:
        load_config(bad)
    assert str(bad) in str(err.value)


@pytest.mark.parametrize(("raw", "fragment"), [
    ({}, "[labels] must define at least one label set"),
    ({"labels": {"stage": {"labels": []}}}, "labels.stage: needs a non-empty 'labels' list"),
    ({"labels": {"stage": {"labels": ["a", "a"]}}}, "labels.stage: duplicate label"),
    ({"labels": {"stage": {"labels": ["a"], "requird": True}}}, "unknown key(s) ['requird']"),
    ({"labels": {"stage": {"labels": ["a"]}}, "model": 3}, "[model] must be a table"),
])
def test_label_section_errors(raw, fragment):
    with pytest.raises(PipelineError) as err:
        config_from_dict(raw, source=Path("x.toml"))
    assert fragment in str(err.value)
    assert "x.toml" in str(err.value)


def test_optional_label_set():
    cfg = config_from_dict({"labels": {"stage": {"labels": ["a", "b"]},
                                       "tech": {"labels": ["t"], "required": False}}})
    assert [s.required for s in cfg.label_sets] == [True, False]
    assert cfg.all_labels == [("stage", "a"), ("stage", "b"), ("tech", "t")]


def test_to_dict_is_json_ready(config: Config):
    import json

    d = config.to_dict()
    json.dumps(d)  # no Path or tuple left
    assert "source" not in d
    assert d["label_sets"]["technology"]["labels"][-1] == "transport"
    assert Path(d["paths"]["cues"]).resolve() == ROOT / "configs" / "cues.toml"
    assert d["paths"]["cache"] == ""  # TOML has no null: "" is read back as no cache
    assert d["model"]["C"] == config.model.C


def test_config_round_trips_through_the_model_card(test_toml):
    import json

    from pipeline.model.persistence import _config_for_load

    original = load_config(test_toml, {"features.char_max_features": 0, "paths.cache": ""})
    stored = json.loads(json.dumps(original.to_dict()))
    again = config_from_dict(_config_for_load(stored))
    assert again.features.char_max_features is None and again.paths.cache is None
    assert dataclasses.replace(again, source=original.source) == original


@pytest.mark.parametrize(("override", "message"), [
    ({"predict.max_chars": 0}, "predict.max_chars: must be >= 1"),
    ({"preprocess.batch_size": 0}, "preprocess.batch_size: must be >= 1"),
    ({"features.word_max_features": "abc"}, "features.word_max_features: expected int"),
    ({"features.word_ngram_range": [1]}, "features.word_ngram_range: expected [min, max]"),
    ({"paths.test": [1]}, "paths.test: expected a path string"),
    ({"paths.cues": ""}, "paths.cues: needs a path"),
    ({"model.class_weight": "heavy"}, "model.class_weight"),
    ({"seed": "x"}, "seed: expected int"),
])
def test_bad_values_are_one_clear_error(test_toml, override, message):
    with pytest.raises(PipelineError, match=re.escape(message)):
        load_config(test_toml, override)


def test_seed_can_be_overridden(test_toml):
    assert load_config(test_toml, parse_overrides(["--seed", "99"])).seed == 99
