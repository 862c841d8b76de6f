"""The HTML collection report in headless Chromium: click a matrix cell, check the listed
sentences against the predictions, open a document, check its highlighted evidence,
and check that hostile text stays text. Screenshots go to the test's tmp_path."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from typer.testing import CliRunner

from pipeline.cli import app

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures"
HOSTILE = ("Recruiters posted jobs on social media <script>window.__xss = 1</script> and "
           "chat apps.\n\nShe was sold on an escort site <img src=x onerror=\"window.__xss = 2\">"
           " for bitcoin.\n\nProfits went through crypto wallets </td></table></div> and bank "
           "transfers.")


def cli(*args: object) -> None:
    res = CliRunner().invoke(app, [str(a) for a in args])
    assert res.exit_code == 0, res.output


@pytest.fixture(scope="module")
def page(model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """A collection (the PII fixture's documents, a hostile one and an unreadable one)
    through predict at both levels and report."""
    root = tmp_path_factory.mktemp("report")
    inputs = root / "inputs"
    inputs.mkdir()
    for f in sorted((FIXTURES / "pii").glob("*.txt")):
        shutil.copy(f, inputs / f.name)
    (inputs / "zz_hostile.txt").write_text(HOSTILE, encoding="utf-8")
    (inputs / "zz_broken.pdf").write_bytes(b"%PDF-1.4 not really a pdf")
    docs, sents, html = root / "docs.jsonl", root / "sents.jsonl", root / "collection.html"
    cli("predict", inputs, "--model", model_dir, "--out", docs, "-q")
    cli("predict", inputs, "--model", model_dir, "--out", sents, "--level", "sentence", "-q")
    cli("report", docs, sents, "--out", html)
    read = lambda p: [json.loads(x) for x in p.read_text(encoding="utf-8").splitlines()]  # noqa: E731
    return {"html": html, "docs": read(docs), "sents": read(sents), "root": root}


def open_page(browser, html: Path) -> None:
    from selenium.webdriver.common.by import By

    browser.get(html.as_uri())
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-ready") == "1"


def severe_logs(browser) -> list[str]:
    return [e["message"] for e in browser.get_log("browser") if e["level"] == "SEVERE"]


def listed(browser) -> list[tuple[str, str, str]]:
    """(document, position, text) of every listed sentence, through every page."""
    from selenium.webdriver.common.by import By

    rows = []
    while True:
        for li in browser.find_elements(By.CSS_SELECTOR, "#evidence-list li"):
            rows.append((li.find_element(By.CSS_SELECTOR, ".doclink").text,
                         li.find_element(By.CSS_SELECTOR, ".pos").text,
                         li.find_element(By.CSS_SELECTOR, ".text").get_attribute("textContent")))
        nxt = [b for b in browser.find_elements(By.CSS_SELECTOR, "#evidence-pager button")
               if b.text.startswith("next") and b.is_enabled()]
        if not nxt:
            return rows
        nxt[0].click()


def expected_for(sents: list[dict], stage: str, tech: str) -> list[tuple[str, str, str]]:
    order = {}
    rows = []
    for r in sents:
        order.setdefault(r["doc_id"], len(order))
        if r["sentence"] and stage in r["labels"]["stage"] and tech in r["labels"]["technology"]:
            score = min(r["scores"]["stage"][stage], r["scores"]["technology"][tech])
            rows.append((-score, order[r["doc_id"]], r["start"], r))
    rows.sort(key=lambda x: x[:3])
    return [(r["doc_id"], f"sentence {r['sentence']}", r["text"]) for *_, r in rows]


def test_a_cell_lists_exactly_its_sentences_and_a_document_shows_its_evidence(
        browser, page: dict, tmp_path: Path):
    from selenium.webdriver.common.by import By

    open_page(browser, page["html"])
    cells = [c for c in browser.find_elements(By.CSS_SELECTOR, "#matrix button.cell")
             if c.is_enabled()]
    assert cells, "the fixture collection has no stage x technology pair"
    best = max(cells, key=lambda c: int(c.text))
    label = best.get_attribute("aria-label")  # "control and telephone: 4"
    stage, tech = label.split(":")[0].split(" and ")
    best.click()
    want = expected_for(page["sents"], stage, tech)
    assert int(best.text) == len(want)
    got = listed(browser)
    assert got == want  # exactly those sentences, best first
    assert f"stage:{stage} and technology:{tech}" in browser.find_element(
        By.ID, "evidence-h").text
    browser.save_screenshot(str(tmp_path / "cell.png"))

    # open the document of the first listed sentence from its link
    browser.find_element(By.ID, "f-clear").click()
    best.click()
    first = browser.find_element(By.CSS_SELECTOR, "#evidence-list li .doclink")
    doc_id = first.text
    first.click()
    assert browser.find_element(By.ID, "doc-h").text == f"Document: {doc_id}"
    mine = [r for r in page["sents"] if r["doc_id"] == doc_id]
    shown = browser.find_elements(By.CSS_SELECTOR, "#doc-text .sent")
    assert [s.get_attribute("textContent") for s in shown] == [r["text"] for r in mine]
    evidence = [s.get_attribute("textContent")
                for s in browser.find_elements(By.CSS_SELECTOR, "#doc-text .sent.ev")]
    assert evidence == [r["text"] for r in mine
                        if r["labels"]["stage"] or r["labels"]["technology"]]
    hits = [s.get_attribute("textContent")
            for s in browser.find_elements(By.CSS_SELECTOR, "#doc-text .sent.hit")]
    assert hits == [r["text"] for r in mine if stage in r["labels"]["stage"]
                    and tech in r["labels"]["technology"]]
    focus = browser.find_element(By.CSS_SELECTOR, "#doc-text .sent.focus")
    assert focus.get_attribute("textContent") == want[0][2]
    doc_record = next(r for r in page["docs"] if r["id"] == doc_id)
    chips = browser.find_elements(By.CSS_SELECTOR, "#doc-meta .labels .chip")
    assert [c.get_attribute("title") for c in chips] == [
        f"{s}:{lab}" for s, labs in doc_record["labels"].items() for lab in labs]
    browser.save_screenshot(str(tmp_path / "document.png"))
    assert (tmp_path / "document.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert severe_logs(browser) == []  # no script error, no policy violation


def test_filters_and_search_narrow_the_list(browser, page: dict):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    open_page(browser, page["html"])
    labelled = [r for r in page["sents"] if r["sentence"]
                and (r["labels"]["stage"] or r["labels"]["technology"])]
    count = lambda: int(browser.find_element(By.ID, "evidence-count").text.split()[0])  # noqa: E731
    assert count() == len(labelled)
    Select(browser.find_element(By.ID, "f-label")).select_by_visible_text("clearnet")
    assert count() == sum("clearnet" in r["labels"]["technology"] for r in labelled)
    low = browser.find_element(By.ID, "f-min")
    low.clear()
    low.send_keys("0.9")
    assert count() == sum("clearnet" in r["labels"]["technology"]
                          and r["scores"]["technology"]["clearnet"] >= 0.9 for r in labelled)
    browser.find_element(By.ID, "f-clear").click()
    word = "phone"
    browser.find_element(By.ID, "f-query").send_keys(word)
    browser.implicitly_wait(0)
    import time

    time.sleep(0.4)  # the search box waits for typing to pause
    assert count() == sum(word in r["text"].lower() for r in labelled)
    for text in browser.find_elements(By.CSS_SELECTOR, "#evidence-list .text"):
        assert word in text.text.lower()
    browser.find_element(By.ID, "f-clear").click()
    browser.find_element(By.ID, "f-source").send_keys("03_news")
    time.sleep(0.4)
    assert {li.text for li in browser.find_elements(By.CSS_SELECTOR, "#evidence-list .doclink")
            } <= {r["doc_id"] for r in labelled if "03_news" in r["source"]}


def test_hostile_text_renders_as_text_and_errors_are_listed(browser, page: dict,
                                                            tmp_path: Path):
    from selenium.webdriver.common.by import By

    open_page(browser, page["html"])
    hostile = next(b for b in browser.find_elements(By.CSS_SELECTOR, "#documents .doclink")
                   if b.text.endswith("zz_hostile.txt"))
    hostile.click()
    text = browser.find_element(By.ID, "doc-text").get_attribute("textContent")
    for needle in ("<script>window.__xss = 1</script>", "<img src=x onerror=\"window.__xss = 2\">",
                   "</td></table></div>"):
        assert needle in text
    assert browser.execute_script("return window.__xss === undefined")
    assert not browser.find_elements(By.CSS_SELECTOR, "#doc-text img, #doc-text script")
    errors = browser.find_element(By.ID, "errors").text
    broken = next(r for r in page["docs"] if r["id"].endswith("zz_broken.pdf"))
    assert broken["error"] and broken["error"] in errors
    browser.save_screenshot(str(tmp_path / "hostile.png"))
    assert severe_logs(browser) == []


def test_a_masked_report_shows_no_personal_data(browser, page: dict):
    from selenium.webdriver.common.by import By

    html = page["root"] / "masked.html"
    cli("report", page["root"] / "docs.jsonl", page["root"] / "sents.jsonl", "--out", html,
        "--mask-pii")
    open_page(browser, html)
    assert browser.find_element(By.ID, "masked-note").is_displayed()
    manifest = json.loads((FIXTURES / "pii" / "manifest.json").read_text(encoding="utf-8"))
    values = {i["value"] for d in manifest["documents"].values() for i in d["pii"]}
    for link in browser.find_elements(By.CSS_SELECTOR, "#documents .doclink")[:3]:
        link.click()
        shown = browser.find_element(By.ID, "doc-text").get_attribute("textContent")
        assert not [v for v in values if v in shown]
    source = html.read_text(encoding="utf-8")
    assert not [v for v in values if v in source or json.dumps(v)[1:-1] in source]


def test_label_names_that_are_object_properties_do_not_break_the_page(browser, page: dict,
                                                                     tmp_path: Path):
    """A label set named "constructor" once stopped the script (bySet["constructor"])."""
    from selenium.webdriver.common.by import By

    records = []
    for r in page["docs"]:
        r = json.loads(json.dumps(r))
        r["labels"] = {"constructor": ["__proto__"], "toString": ["a:b"]}
        r["scores"] = {"constructor": {"__proto__": 0.9}, "toString": {"a:b": 0.5}}
        records.append(r)
    odd = tmp_path / "odd.jsonl"
    odd.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    cli("report", odd, "--out", tmp_path / "odd.html")
    open_page(browser, tmp_path / "odd.html")
    assert browser.find_elements(By.CSS_SELECTOR, "#documents .doclink")
    assert severe_logs(browser) == []
