"""Worker processes of `predict --n-jobs` end when their parent is killed."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import psutil
import pytest

ROOT = Path(__file__).resolve().parents[2]
TEXT = ("Recruiters posted fake jobs abroad on social media. Her passport was taken. "
        "The videos were sold on an onion forum for bitcoin. ")


@pytest.mark.parametrize("sig", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_workers_exit_when_the_parent_is_killed(model_dir: Path, tmp_path: Path, sig):
    docs = tmp_path / "docs"
    docs.mkdir()
    for i in range(300):
        (docs / f"d{i:04d}.txt").write_text(TEXT * (1 + i % 5), encoding="utf-8")
    proc = subprocess.Popen(
        [sys.executable, "-m", "pipeline", "predict", str(docs), "--model", str(model_dir),
         "--out", str(tmp_path / "preds.jsonl"), "--n-jobs", "2", "-q"],
        cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    parent = psutil.Process(proc.pid)
    workers: list[psutil.Process] = []
    try:
        while len(workers) < 2 and proc.poll() is None:  # until the pool has started
            workers = [c for c in parent.children() if "python" in c.name().lower()]
            time.sleep(0.05)
        assert proc.poll() is None, "the run ended before it could be killed"
        proc.send_signal(sig)
        proc.wait(timeout=60)
        assert proc.returncode == -sig
        _gone, alive = psutil.wait_procs(workers, timeout=60)
        assert alive == [], f"workers still running: {[p.pid for p in alive]}"
    finally:
        for p in [*workers, parent]:
            with contextlib.suppress(psutil.Error):
                p.kill()


def _watched_pid() -> int:
    return os.getpid()


@pytest.mark.parametrize("method", ["fork", "spawn", "forkserver"])
def test_parent_watch_keeps_live_workers_for_every_start_method(method: str):
    """A forkserver worker's OS parent is the server, not the caller: the watch must not
    take that for a dead parent (every worker exited at once before)."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from pipeline.batch.engines import _exit_with_parent

    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context(method),
                             initializer=_exit_with_parent) as pool:
        pids = [pool.submit(_watched_pid).result(timeout=60) for _ in range(4)]
    assert all(pid != os.getpid() for pid in pids)
