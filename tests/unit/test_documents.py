"""Whole annotated documents: templates, import, document checks, splits, originality."""

from __future__ import annotations

import csv
import dataclasses
import json
from pathlib import Path

import pytest

from pipeline.config import Config
from pipeline.corpus.doccheck import check_documents
from pipeline.corpus.documents import import_template, segment, write_template
from pipeline.corpus.overlap import fingerprint, read_fingerprint, shared, write_fingerprint
from pipeline.corpus.read import by_document, is_document_corpus, read_corpus
from pipeline.corpus.split import split_documents
from pipeline.errors import PipelineError

DOC = ("Recruitment online\n\nSmith et al. (2019) found that recruiters used Facebook. "
       "The weather was mild that year. Police traced the bitcoin wallet.")


def fill(template: Path, labels: dict[int, tuple[str, str]]) -> None:
    """Write ``stage, technology`` for some rows of a template (by seq)."""
    with template.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    for row in rows:
        row["stage"], row["technology"] = labels.get(int(row["seq"]), ("", ""))
    with template.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]), delimiter="\t",
                                lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def doc_config(config: Config, texts: Path, fingerprint_path: Path | None = None,
               **checks) -> Config:
    docs = dataclasses.replace(config.documents, texts=texts, fingerprint=fingerprint_path,
                               **checks)
    return dataclasses.replace(config, documents=docs)


@pytest.fixture
def corpus(tmp_path: Path, config: Config):
    """Three documents in two registers, imported from filled templates."""
    texts = tmp_path / "texts"
    docs = {
        "news/a": DOC,
        "news/b": "Traffickers posted fake job offers on Instagram. Nobody answered the phone.",
        "court/c": "The court sat at ten. The defendant took her passport and threatened her.",
    }
    cfg = doc_config(config, texts)
    records = []
    for doc, text in docs.items():
        path = texts / f"{doc}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        template = path.with_name(path.stem + ".labels.tsv")
        write_template(text, template, cfg)
        fill(template, {1: ("recruitment", "clearnet")} if doc == "news/a" else
             {0: ("recruitment", "clearnet")} if doc == "news/b" else {1: ("control", "")})
        result = import_template(template, cfg, doc=doc, register=path.parent.name,
                                 writer="w1")
        records += result.records
    out = tmp_path / "sentences" / "w1.jsonl"
    out.parent.mkdir()
    out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return cfg, out, docs


def test_template_rows_are_predict_sentences(tmp_path: Path, config: Config):
    template = tmp_path / "d.labels.tsv"
    assert write_template(DOC, template, config) == 4
    with template.open(encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh, delimiter="\t"))
    assert [(int(r["start"]), int(r["end"])) for r in rows] == [
        (s, e) for s, e, _ in segment(DOC, config)]
    assert rows[1]["text"] == "Smith et al. (2019) found that recruiters used Facebook."


def test_import_gives_one_record_per_sentence(corpus):
    cfg, path, docs = corpus
    sentences = read_corpus([path], cfg.label_sets)
    assert is_document_corpus(sentences)
    grouped = by_document(sentences)
    assert sorted(grouped) == sorted(docs)
    a = grouped["news/a"]
    assert [p.extra["seq"] for p in a] == list(range(4))
    assert a[1].labels == {"stage": ("recruitment",), "technology": ("clearnet",)}
    assert a[0].labels == {"stage": (), "technology": ()}
    for p in sentences:
        assert docs[p.extra["doc"]][p.extra["start"]:p.extra["end"]] == p.text
        assert p.id == f"{p.extra['doc']}#{p.extra['seq']}"
        assert p.extra["writer"] == "w1" and p.extra["register"] in ("news", "court")


def test_import_moves_labels_when_the_splitter_changed(tmp_path: Path, config: Config):
    """A template written by an older splitter that cut 'et al.' apart: both halves'
    labels go to the merged sentence."""
    text = "Smith et al. (2019) found bots online. Others disagree."
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    template = tmp_path / "d.labels.tsv"
    template.write_text(
        "seq\tstart\tend\tstage\ttechnology\ttext\n"
        "0\t0\t12\trecruitment\t\tSmith et al.\n"
        "1\t13\t38\t\tai;clearnet\t(2019) found bots online.\n"
        "2\t39\t55\t\t\tOthers disagree.\n", encoding="utf-8")
    result = import_template(template, config, doc="d", register="academic", writer="w")
    assert [r["text"] for r in result.records] == ["Smith et al. (2019) found bots online.",
                                                   "Others disagree."]
    assert result.records[0]["stage"] == ["recruitment"]
    assert result.records[0]["technology"] == ["clearnet", "ai"]  # in label-set order
    assert result.records[1]["stage"] == [] and result.moved == 1  # one sentence changed


def test_import_reports_every_template_problem(tmp_path: Path, config: Config):
    (tmp_path / "d.txt").write_text("One sentence here. Another one.", encoding="utf-8")
    template = tmp_path / "d.labels.tsv"
    template.write_text(
        "seq\tstart\tend\tstage\ttechnology\ttext\n"
        "0\t0\t18\trecruit\t\tOne sentence here.\n"
        "1\t19\t31\t\t\tA different text\n"
        "2\t40\t99\t\t\tout of range\n"
        "3\tx\t5\t\t\tbad number\n", encoding="utf-8")
    with pytest.raises(PipelineError) as err:
        import_template(template, config, doc="d", register="r", writer="w")
    message = str(err.value)
    assert "(4 problems)" in message
    for fragment in (f"{template}:2: stage: unknown label 'recruit'",
                     f"{template}:3: text: does not match the document",
                     f"{template}:4: start: offsets 40-99 are outside the document",
                     f"{template}:5: start: not a whole number"):
        assert fragment in message


def test_import_needs_the_document(tmp_path: Path, config: Config):
    template = tmp_path / "gone.labels.tsv"
    template.write_text("seq\tstart\tend\tstage\ttechnology\ttext\n", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"gone\.txt: no such file"):
        import_template(template, config, doc="gone", register="r", writer="w")


def test_document_checks_pass_on_a_clean_corpus(corpus):
    cfg, path, _ = corpus
    result = check_documents(read_corpus([path], cfg.label_sets), cfg)
    assert result.ok, result.failures
    assert (result.n_documents, result.n_sentences) == (3, 8)
    assert result.registers == {"court": 1, "news": 2}
    assert result.label_counts["stage"]["recruitment"] == 2
    assert result.unlabeled_share == pytest.approx(5 / 8)


def test_document_checks_find_annotations_that_do_not_fit(corpus):
    cfg, path, docs = corpus
    text_file = Path(cfg.documents.texts) / "news" / "b.txt"
    text_file.write_text("Edited. " + docs["news/b"], encoding="utf-8")
    result = check_documents(read_corpus([path], cfg.label_sets), cfg)
    assert not result.ok
    assert any("text does not match" in p for p in result.problems)
    assert any("news/b: the annotated sentences are not the sentences predict finds" in p
               for p in result.problems)


def test_document_checks_find_gaps_duplicates_and_thresholds(corpus):
    cfg, path, _ = corpus
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records = [r for r in records if r["id"] != "news/a#2"]  # a gap in seq
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    strict = doc_config(cfg, cfg.documents.texts, min_documents=5, min_positives=3,
                        min_registers=2, min_docs_per_register=2, min_unlabeled_share=0.9)
    result = check_documents(read_corpus([path], strict.label_sets), strict)
    text = " ".join(result.failures)
    assert "news/a: seq is not 0..2 without gaps" in " ".join(result.problems)
    assert "3 documents, need at least 5" in text
    assert "stage.control: 1 positive sentences, need at least 3" in text
    assert "1 registers with >= 2 documents, need at least 2" in text
    assert "without any label, need at least 90%" in text


def test_sentence_repeated_in_another_document_is_a_duplicate(tmp_path: Path, config: Config):
    texts = tmp_path / "texts"
    cfg = doc_config(config, texts)
    repeated = "The motion was put to the House and agreed without a vote."
    records = []
    for doc, text in {"x/one": f"{repeated} Then {repeated}", "x/two": repeated}.items():
        path = texts / f"{doc}.txt"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        write_template(text, path.with_name(path.stem + ".labels.tsv"), cfg)
        records += import_template(path.with_name(path.stem + ".labels.tsv"), cfg, doc=doc,
                                   register="x", writer="w").records
    out = tmp_path / "s.jsonl"
    out.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    result = check_documents(read_corpus([out], cfg.label_sets), cfg)
    # repeated within one document is real (a debate's motion); across documents it is not
    assert result.duplicates == [("x/one#0", "x/two#0")]


def test_sequences_shared_with_published_text_fail_the_check(corpus, tmp_path: Path):
    cfg, path, _ = corpus
    published = ("An unrelated article noted that recruiters used Facebook. The weather "
                 "was mild that year, it said.")
    prints = tmp_path / "published.txt"
    write_fingerprint(fingerprint([published], 8), prints, 8)
    checked = doc_config(cfg, cfg.documents.texts, prints)
    result = check_documents(read_corpus([path], cfg.label_sets), checked)
    assert not result.ok
    assert ("news/a", "recruiters used facebook the weather was mild that") in result.published
    assert "word sequence(s) shared with published text" in " ".join(result.failures)


def test_fingerprint_keeps_no_text_and_normalises_quotes(tmp_path: Path):
    text = "It\u2019s a \u201cquoted\u201d sentence of exactly nine words here."
    out = tmp_path / "f.txt"
    write_fingerprint(fingerprint([text], 8), out, 8, note="one text")
    content = out.read_text(encoding="utf-8")
    assert "quoted" not in content and "n = 8" in content
    n, hashes = read_fingerprint(out)
    assert n == 8 and len(hashes) == 3  # 10 words (it's = it + s) -> 3 sequences
    assert shared("so it's a \"quoted\" sentence of exactly nine words", hashes, n)
    assert not shared("a quoted sentence of exactly ten words here", hashes, n)


def test_bad_fingerprint_file_is_a_user_error(tmp_path: Path):
    bad = tmp_path / "f.txt"
    bad.write_text("n = 8\nnot-a-hash\n", encoding="utf-8")
    with pytest.raises(PipelineError, match=r"f.txt:2: not a sequence hash"):
        read_fingerprint(bad)
    with pytest.raises(PipelineError, match="cannot read the fingerprint file"):
        read_fingerprint(tmp_path / "missing.txt")


def test_documents_are_split_whole_and_deterministically(corpus):
    cfg, path, _ = corpus
    sentences = read_corpus([path], cfg.label_sets)
    cfg = dataclasses.replace(cfg, documents=dataclasses.replace(cfg.documents, test_size=0.34))
    train, test = split_documents(sentences, cfg)
    train_docs = {p.extra["doc"] for p in train}
    test_docs = {p.extra["doc"] for p in test}
    assert train_docs and test_docs and not train_docs & test_docs
    assert len(train) + len(test) == len(sentences)
    again = split_documents(sentences, cfg)
    assert [p.id for p in again[0]] == [p.id for p in train]


def test_fingerprint_with_two_sequence_lengths_is_refused(tmp_path: Path):
    """BREAK (hostile-11): two fingerprint files of different n concatenated (or an edited
    'n =' line) are read with the last n only: 8-word hashes are then compared with
    5-word sequences, nothing can match, and the originality check passes silently."""
    published = "Recruiters used Facebook to find women; the weather was mild that year."
    eight = tmp_path / "eight.txt"
    write_fingerprint(fingerprint([published], 8), eight, 8)
    both = tmp_path / "both.txt"
    both.write_text(eight.read_text(encoding="utf-8") + "n = 5\n", encoding="utf-8")
    with pytest.raises(PipelineError, match="n = "):
        read_fingerprint(both)


@pytest.mark.parametrize("content", [b"n = abc\n", b"\xff\xfen\x00 \x00=\x00 \x008\x00"],
                         ids=["n-not-a-number", "utf16"])
def test_garbled_fingerprint_file_is_a_user_error(tmp_path: Path, content: bytes):
    """BREAK (hostile-11): ValueError / UnicodeDecodeError escape read_fingerprint."""
    bad = tmp_path / "f.txt"
    bad.write_bytes(content)
    with pytest.raises(PipelineError, match=r"f\.txt"):
        read_fingerprint(bad)


def test_by_document_with_a_seq_that_is_not_a_number_is_a_user_error(corpus):
    """BREAK (hostile-11): by_document() sorts by int(seq): a traceback, not a message."""
    cfg, path, _ = corpus
    records = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    records[0]["seq"] = "first"
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    with pytest.raises(PipelineError, match="seq"):
        check_documents(read_corpus([path], cfg.label_sets), cfg)


def test_import_gives_each_part_of_a_split_sentence_its_labels(tmp_path: Path,
                                                               config: Config):
    """A template from a splitter that kept 'He said no. Then he left.' as one sentence:
    both of today's sentences keep its labels; the quote that moves between sentences
    does not carry labels across."""
    text = 'He said no. Then he left. She asked. "Why not?"'
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    quote = text.index('"')
    template = tmp_path / "d.labels.tsv"
    template.write_text(
        "seq\tstart\tend\tstage\ttechnology\ttext\n"
        f"0\t0\t25\tcontrol\ttelephone\t{text[0:25]}\n"
        f"1\t26\t{quote + 1}\t\t\t{text[26:quote + 1]}\n"
        f"2\t{quote + 1}\t{len(text)}\trecruitment\t\t{text[quote + 1:]}\n",
        encoding="utf-8")
    result = import_template(template, config, doc="d", register="news", writer="w")
    got = [(r["text"], r["stage"], r["technology"]) for r in result.records]
    assert got == [("He said no.", ["control"], ["telephone"]),
                   ("Then he left.", ["control"], ["telephone"]),
                   ("She asked.", [], []),
                   ('"Why not?"', ["recruitment"], [])]


def _template(tmp_path: Path, text: str, rows: list[tuple[int, int, str]]) -> Path:
    """A template for ``text`` with rows ``(start, end, stage)``, in the order given."""
    (tmp_path / "d.txt").write_text(text, encoding="utf-8")
    template = tmp_path / "d.labels.tsv"
    template.write_text("seq\tstart\tend\tstage\ttechnology\ttext\n" + "".join(
        f"{seq}\t{s}\t{e}\t{stage}\t\t{text[s:e]}\n" for seq, (s, e, stage) in enumerate(rows)),
        encoding="utf-8")
    return template


def test_import_of_a_sorted_template_whose_row_now_spans_three_sentences(tmp_path: Path,
                                                                         config: Config):
    """hostile-final: an annotator sorted the template (rows no longer in text order) and
    one old row now holds three sentences. Every sentence is covered by a row, yet
    import says two 'have no template row': the split pass stops at the first row that
    starts after the sentence, as if rows were sorted."""
    text = "He said no. Then he left. She asked. Nobody came."
    template = _template(tmp_path, text, [(37, 49, ""), (0, 36, "control")])
    result = import_template(template, config, doc="d", register="news", writer="w")
    assert [(r["text"], r["stage"]) for r in result.records] == [
        ("He said no.", ["control"]), ("Then he left.", ["control"]),
        ("She asked.", ["control"]), ("Nobody came.", [])]


@pytest.mark.parametrize("rows", [
    [(0, 11, "control"), (0, 11, "recruitment"), (12, 25, ""), (26, 36, ""), (37, 49, "")],
    [(0, 25, "control"), (12, 36, "recruitment"), (37, 49, "")],
    [(0, 49, "exploitation"), (0, 11, ""), (12, 25, ""), (26, 36, ""), (37, 49, "")],
], ids=["duplicate", "overlapping", "whole-document"])
def test_overlapping_template_rows_are_an_error(tmp_path: Path, config: Config, rows):
    """hostile-final: no splitter writes overlapping rows; import took them silently and
    gave sentences the union of every row touching them (the whole-document row
    labels all four sentences 'exploitation' over their own empty rows, 'moved 4')."""
    template = _template(tmp_path, "He said no. Then he left. She asked. Nobody came.", rows)
    with pytest.raises(PipelineError, match="overlap"):
        import_template(template, config, doc="d", register="news", writer="w")


def test_a_null_doc_among_document_sentences_is_a_mix(corpus, mini_path: Path):
    """hostile-final: a passage with "doc": null counts as a document sentence, so
    evaluate scores every such passage as one document named 'None' instead of
    refusing the mix (data check and split refuse it, for an empty doc)."""
    cfg, path, _ = corpus
    lines = path.read_text(encoding="utf-8").splitlines()
    passage = json.loads(mini_path.read_text(encoding="utf-8").splitlines()[0])
    mixed = path.with_name("mixed.jsonl")
    mixed.write_text("\n".join([*lines, json.dumps({**passage, "doc": None})]) + "\n",
                     encoding="utf-8")
    with pytest.raises(PipelineError):
        is_document_corpus(read_corpus([mixed], cfg.label_sets))
