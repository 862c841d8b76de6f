"""Where batches of documents are classified: in this process, in worker processes, or
on a Dask cluster. Every engine runs the same per-batch function and yields records in
input order, with a bounded number of batches in flight so memory stays flat.
"""

from __future__ import annotations

import hashlib
import multiprocessing
import multiprocessing.connection
import os
import tempfile
import threading
import warnings
from collections import deque
from collections.abc import Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import replace
from pathlib import Path

from pipeline.batch.predict import Encoded, PredictOptions, predict_documents
from pipeline.errors import PipelineError
from pipeline.io.inputs import Document
from pipeline.model.persistence import CARD_FILE, TraffickingModel, load_model
from pipeline.model.scorer import SCORER_FILE

Batch = list[Document]

_WORKER_MODELS: dict[str, TraffickingModel] = {}


def classify_batch(model: TraffickingModel, batch: Batch, options: PredictOptions) -> Encoded:
    """The unit of work of every engine: one batch of documents, its records encoded
    where they are made (a worker sends back lines and counts, not nested dicts)."""
    return Encoded.of(predict_documents(model, batch,
                                        replace(options, batch_docs=max(1, len(batch)))),
                      options.level)


def _init_worker(model_dir: str) -> None:
    _exit_with_parent()
    if "local" not in _WORKER_MODELS:  # forked workers inherit the parent's model
        _WORKER_MODELS["local"] = load_model(Path(model_dir), estimator=False)


def _exit_with_parent() -> None:
    """End this worker process when the process that started it is gone (killed with -9
    or SIGTERM, it cannot shut its pool down; a worker waiting for work would wait
    forever). Watches multiprocessing's parent sentinel, which works for every start
    method (fork, spawn, forkserver: a forkserver worker's OS parent is the server)."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch() -> None:
        multiprocessing.connection.wait([parent.sentinel])
        os._exit(1)

    threading.Thread(target=watch, name="trafficlens-parent-watch", daemon=True).start()


def _local_worker(batch: Batch, options: PredictOptions) -> Encoded:
    return classify_batch(_WORKER_MODELS["local"], batch, options)


def _dask_worker(files: dict[str, bytes], batch: Batch, options: PredictOptions) -> Encoded:
    """Load the model once per worker from the shipped files (safe loader: the card and
    the scorer, all prediction needs), then classify."""
    key = hashlib.sha256(files[SCORER_FILE]).hexdigest()
    model = _WORKER_MODELS.get(key)
    if model is None:
        with tempfile.TemporaryDirectory() as tmp:
            for name, data in files.items():
                (Path(tmp) / name).write_bytes(data)
            model = _WORKER_MODELS[key] = load_model(Path(tmp), estimator=False)
    return classify_batch(model, batch, options)


def _ordered(submit, batches: Iterable[Batch], in_flight: int) -> Iterator[Encoded]:
    """Submit batches, keep at most ``in_flight`` pending, yield results in order."""
    pending: deque[Future] = deque()
    for batch in batches:
        pending.append(submit(batch))
        if len(pending) >= in_flight:
            yield pending.popleft().result()
    while pending:
        yield pending.popleft().result()


def usable_jobs(n_jobs: int) -> int:
    """``n_jobs`` local workers, at most one per usable core (more only compete for the
    same cores and memory; thousands would exhaust the machine): warns when capped."""
    try:
        cores = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        cores = os.cpu_count() or 1
    if n_jobs > cores:
        warnings.warn(f"--n-jobs {n_jobs}: this machine has {cores} usable cores; "
                      f"using {cores} workers", stacklevel=2)
        return cores
    return n_jobs


def run_batches(batches: Iterable[Batch], *, model: TraffickingModel, model_dir: Path,
                options: PredictOptions) -> Iterator[Encoded]:
    """Records per batch, in order, from the engine the options name."""
    if options.engine == "dask":
        yield from _run_dask(batches, model_dir, options)
    elif options.n_jobs == 1:
        for batch in batches:
            yield classify_batch(model, batch, options)
    else:
        n_jobs = usable_jobs(options.n_jobs)
        # with the fork start method, workers start with the parent's loaded model and
        # warm spaCy pipeline (shared pages) instead of loading their own
        _WORKER_MODELS["local"] = model.prepare()
        with ProcessPoolExecutor(n_jobs, initializer=_init_worker,
                                 initargs=(str(model_dir),)) as pool:
            yield from _ordered(lambda b: pool.submit(_local_worker, b, options),
                                batches, 2 * n_jobs)


def _run_dask(batches: Iterable[Batch], model_dir: Path, options: PredictOptions
              ) -> Iterator[Encoded]:
    n_jobs, scheduler = options.n_jobs, options.scheduler
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise PipelineError("--engine dask needs Dask: pip install 'trafficlens[dask]'") from None
    files = {name: (Path(model_dir) / name).read_bytes() for name in (SCORER_FILE, CARD_FILE)}
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="30s")
        else:
            cluster = LocalCluster(n_workers=n_jobs, threads_per_worker=1, processes=True,
                                   dashboard_address=None, silence_logs=40)
            client = Client(cluster)
    except (OSError, ValueError, TypeError) as err:  # unreachable; or not an address at all
        raise PipelineError(f"--scheduler {scheduler}: cannot connect ({err})") from None
    try:
        shipped = client.scatter(files, broadcast=True)
        workers = max(1, len(client.scheduler_info().get("workers", {})))
        yield from _ordered(
            lambda b: client.submit(_dask_worker, shipped, b, options, pure=False),
            batches, 2 * workers)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
