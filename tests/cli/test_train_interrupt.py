"""Killing `trafficlens train` mid-run leaves the previous model loadable and unchanged."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

from pipeline.model.persistence import load_model

ROOT = Path(__file__).resolve().parents[2]


def _digest(model_dir: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in model_dir.iterdir()}


def test_kill_during_training_keeps_old_model(model_copy):
    before = _digest(model_copy)
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "train", "--config", "tests/fixtures/test.toml",
         "--out", str(model_copy), "--force"],
        cwd=ROOT, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in proc.stderr:  # kill once cross-validation is under way
            if "cross-validation fold 2" in line:
                proc.send_signal(signal.SIGKILL)
                break
    finally:
        proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL
    assert _digest(model_copy) == before
    assert load_model(model_copy).thresholds.shape == (13,)
    assert not [p.name for p in model_copy.parent.iterdir() if p.name.startswith(".")]
