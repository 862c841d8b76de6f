"""Paths in a config file resolve relative to that file, so the CLI works from any folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app
from pipeline.config import load_config

ROOT = Path(__file__).resolve().parents[2]


def test_file_paths_resolve_from_the_config_folder(tmp_path: Path, monkeypatch):
    folder = tmp_path / "project" / "configs"
    folder.mkdir(parents=True)
    config = folder / "run.toml"
    config.write_text('[labels.stage]\nlabels = ["control"]\n\n[paths]\n'
                      'train = ["../data/a.jsonl", "/abs/b.jsonl"]\ncues = "cues.toml"\n'
                      'cache = ""\n\n[documents]\ntexts = "../texts"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)  # somewhere else
    cfg = load_config(config)
    assert [p.resolve() for p in cfg.paths.train] == [folder.parent / "data" / "a.jsonl",
                                                      Path("/abs/b.jsonl")]
    assert cfg.paths.cues == folder / "cues.toml"
    assert cfg.paths.cache is None  # "" still turns the cache off
    assert cfg.documents.texts.resolve() == folder.parent / "texts"
    # a path given on the command line is the user's: relative to the working directory
    cfg = load_config(config, {"paths.cues": "mine.toml", "paths.train": ["x.jsonl"]})
    assert cfg.paths.cues == Path("mine.toml") and cfg.paths.train == (Path("x.jsonl"),)


def test_shipped_config_works_from_another_folder(tmp_path: Path):
    cfg = load_config(ROOT / "configs" / "default.toml")
    assert cfg.paths.cues.is_file() and all(p.is_file() for p in cfg.paths.train)
    assert cfg.paths.test.is_file() and cfg.documents.texts.is_dir()
    cwd = os.getcwd()
    try:
        os.chdir(tmp_path)
        res = CliRunner().invoke(app, ["data", "cues", "--config",
                                       str(ROOT / "configs" / "default.toml")])
    finally:
        os.chdir(cwd)
    assert res.exit_code in (0, 1), res.output  # 1: a precision-rule violation, still ran
    assert "Traceback" not in res.output and "not found" not in res.output


@pytest.mark.parametrize("section", ["paths", "documents"])
def test_a_non_string_path_is_still_a_config_error(tmp_path: Path, section: str):
    config = tmp_path / "c.toml"
    key = "cues" if section == "paths" else "texts"
    config.write_text(f'[labels.stage]\nlabels = ["control"]\n\n[{section}]\n{key} = 5\n',
                      encoding="utf-8")
    from pipeline.errors import PipelineError

    with pytest.raises(PipelineError, match=f"{section}.{key}"):
        load_config(config)
