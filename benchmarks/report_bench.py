"""Benchmark of the HTML evidence report on a large collection (``make bench``); not a test.

Builds the benchmark's synthetic collection (``bench.make_documents``: documents of
5-40 passages of the train split, seeded), labels it with ``trafficlens predict`` at
both levels, then measures ``trafficlens report`` (wall time, peak RSS, file size) and,
when Chromium and ChromeDriver are installed, the page in headless Chromium: time to
load and be ready, to list a matrix cell (the largest), to run a search, to open a
document and to filter the documents table. Writes a Markdown table.

Example: .venv/bin/python benchmarks/report_bench.py --docs 10000 --out docs/report-benchmark.md
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench import (
    MB,
    MIB,
    POLL_SECONDS,
    ROOT,
    TRAIN,
    machine,
    make_documents,
    read_passages,
    trafficlens_command,
    tree_rss,
    write_collection,
)
from browser import headless_chromium


def timed(cmd: list[str]) -> tuple[float, int]:
    """Wall seconds and peak RSS (bytes, process tree) of a command that must succeed."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)
    root, peak = psutil.Process(proc.pid), 0
    while proc.poll() is None:
        try:
            peak = max(peak, tree_rss(root))
        except psutil.NoSuchProcess:
            break
        time.sleep(POLL_SECONDS)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"error: {' '.join(cmd)} exited with {proc.returncode}:\n{proc.stderr.read()}")
    return seconds, peak


def browser_times(page: Path) -> dict[str, float] | None:
    """Seconds for what an analyst does first, in headless Chromium (None without it)."""
    driver = headless_chromium()
    if driver is None:
        return None
    from selenium.webdriver.common.by import By

    times: dict[str, float] = {}
    try:
        driver.set_page_load_timeout(600)
        start = time.perf_counter()
        driver.get(page.resolve().as_uri())
        assert driver.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"
        times["load until ready"] = time.perf_counter() - start
        cells = [c for c in driver.find_elements(By.CSS_SELECTOR, "#matrix button.cell")
                 if c.is_enabled()]
        start = time.perf_counter()
        max(cells, key=lambda c: int(c.text)).click()
        driver.find_element(By.CSS_SELECTOR, "#evidence-list li")
        times["list the largest cell"] = time.perf_counter() - start
        # the search box waits 150 ms for typing to pause; this times the whole answer
        before = driver.find_element(By.ID, "evidence-count").text
        start = time.perf_counter()
        driver.execute_script("const q = document.getElementById('f-query'); q.value = 'phone';"
                              "q.dispatchEvent(new Event('input'));")
        while (driver.find_element(By.ID, "evidence-count").text == before
               and time.perf_counter() - start < 30):
            time.sleep(0.01)
        times["search the cell (150 ms pause included)"] = time.perf_counter() - start
        start = time.perf_counter()
        driver.find_element(By.CSS_SELECTOR, "#evidence-list .doclink").click()
        times["open a document"] = time.perf_counter() - start
    finally:
        driver.quit()
    return times


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--docs", type=int, default=10_000, help="documents in the collection")
    p.add_argument("--model", type=Path, default=ROOT / "models/default")
    p.add_argument("--out", type=Path, default=ROOT / "docs/report-benchmark.md")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)
    if args.docs < 1:
        p.error("--docs must be >= 1")
    cli = trafficlens_command()
    with tempfile.TemporaryDirectory(prefix="trafficlens-report-bench-") as tmp:
        work = Path(tmp)
        write_collection(make_documents(read_passages(TRAIN), args.docs, args.seed),
                         work / "docs")
        docs, sents, page = work / "d.jsonl", work / "s.jsonl", work / "collection.html"
        for out, extra in ((docs, []), (sents, ["--level", "sentence"])):
            timed([*cli, "predict", str(work / "docs"), "--model", str(args.model),
                   "--out", str(out), "--quiet", *extra])
        sentences = sum(1 for _ in sents.open(encoding="utf-8"))
        seconds, peak = timed([*cli, "report", str(docs), str(sents), "--out", str(page)])
        masked_seconds, masked_peak = timed([*cli, "report", str(docs), str(sents), "--out",
                                             str(work / "masked.html"), "--mask-pii"])
        size = page.stat().st_size
        inputs = docs.stat().st_size + sents.stat().st_size
        browser = browser_times(page)
    m = machine()
    lines = [
        "# Evidence report benchmark",
        "",
        "Written by `make bench` (`benchmarks/report_bench.py`).",
        "",
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {m['cores']}, {m['cpu']}, {m['ram']} RAM, {m['os']}",
        f"- collection: {args.docs:,} documents, {sentences:,} sentences (the benchmark's "
        f"synthetic documents, seed {args.seed}); predictions at both levels: "
        f"{inputs / MB:.0f} MB",
        "",
        "| step | seconds | peak RSS MiB | output MB |",
        "|---|---|---|---|",
        f"| `report` (both levels) | {seconds:.1f} | {peak / MIB:.0f} | {size / MB:.1f} |",
        f"| `report --mask-pii` | {masked_seconds:.1f} | {masked_peak / MIB:.0f} | |",
        "",
    ]
    if browser:
        lines += ["In headless Chromium (one run, this machine):", "",
                  "| action | seconds |", "|---|---|"]
        lines += [f"| {k} | {v:.2f} |" for k, v in browser.items()]
    else:
        lines.append("Chromium or ChromeDriver not installed: no page timings.")
    text = "\n".join(lines) + "\n"
    args.out.write_text(text, encoding="utf-8")
    print(text)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
