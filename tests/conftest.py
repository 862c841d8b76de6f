"""Shared fixtures: the fixture corpus and config, and one model trained once per session.

The fixture config (``tests/fixtures/test.toml``) names its files relative to itself, as
every config does; tests that copy its text elsewhere get, from ``test_toml``, a copy
whose paths are absolute. The session runs from the repository root (the CLI's default
paths). Tests write only below ``tmp_path``; the session model lives in a
``tmp_path_factory`` directory.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import docx
import pandas as pd
import pytest

from pipeline.config import Config, load_config
from pipeline.corpus.read import Passage, read_corpus
from pipeline.model.persistence import TraffickingModel, load_model
from pipeline.model.train import fit_and_save
from pipeline.text.preprocess import Preprocessor

ROOT = Path(__file__).resolve().parents[1]
FIXTURES = ROOT / "tests" / "fixtures"
MINI = FIXTURES / "mini.jsonl"
TEST_TOML = FIXTURES / "test.toml"
CUES = ROOT / "configs" / "cues.toml"


@pytest.fixture(scope="session", autouse=True)
def _run_from_repo_root():
    """Default paths (models/default, configs/default.toml) resolve from the repository root."""
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        yield


@pytest.fixture(scope="session")
def mini_path() -> Path:
    return MINI


@pytest.fixture(scope="session")
def test_toml(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The fixture config, copied with absolute paths so that tests may copy its text
    into any folder."""
    text = TEST_TOML.read_text(encoding="utf-8")
    for relative in ('"mini.jsonl"', '"../../configs/cues.toml"'):
        text = text.replace(relative, f'"{(FIXTURES / relative.strip(chr(34))).resolve()}"')
    path = tmp_path_factory.mktemp("config") / "test.toml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def config() -> Config:
    """The fixture config: 3-fold CV, no preprocessing cache."""
    return load_config(TEST_TOML)


@pytest.fixture(scope="session")
def passages(config: Config) -> list[Passage]:
    return read_corpus([MINI], config.label_sets)


@pytest.fixture(scope="session")
def preprocessor(config: Config) -> Preprocessor:
    return Preprocessor(config.preprocess)


@pytest.fixture(scope="session")
def trained(tmp_path_factory: pytest.TempPathFactory,
            config: Config) -> tuple[Path, TraffickingModel]:
    """Train once on the fixture corpus (about 3 s); return the model dir and the fitted model."""
    out = tmp_path_factory.mktemp("models") / "mini"
    model = fit_and_save(config, [MINI], out)
    return out, model


@pytest.fixture(scope="session")
def model_dir(trained: tuple[Path, TraffickingModel]) -> Path:
    """The session model's directory. Do not modify it: copy it with ``model_copy``."""
    return trained[0]


@pytest.fixture(scope="session")
def fitted_model(trained: tuple[Path, TraffickingModel]) -> TraffickingModel:
    """The in-memory model returned by training (before save/load)."""
    return trained[1]


@pytest.fixture(scope="session")
def model(model_dir: Path) -> TraffickingModel:
    """The session model as loaded from disk."""
    return load_model(model_dir)


@pytest.fixture
def model_copy(model_dir: Path, tmp_path: Path) -> Path:
    """A private copy of the session model directory, free to damage."""
    dest = tmp_path / "model_copy"
    shutil.copytree(model_dir, dest)
    return dest


@pytest.fixture
def write_jsonl(tmp_path: Path):
    """Write records (dicts, or raw strings kept as-is) as JSONL lines under ``tmp_path``."""

    def write(name: str, records: list[dict | str]) -> Path:
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        lines = [r if isinstance(r, str) else json.dumps(r) for r in records]
        path.write_text("\n".join(lines) + "\n", encoding="utf-8")
        return path

    return write


def record(pid: str = "p1", text: str = "Recruiters posted fake jobs abroad.",
           stage: list[str] | None = None, technology: list[str] | None = None,
           **extra) -> dict:
    """A valid annotated record for the fixture label sets (helper for ``rec`` fixture)."""
    return {"id": pid, "text": text, "stage": ["recruitment"] if stage is None else stage,
            "technology": [] if technology is None else technology, **extra}


@pytest.fixture(scope="session")
def rec():
    """Build one annotated record: ``rec("p1", "text", stage=[...], technology=[...])``."""
    return record


LATIN1_TEXT = "Caf\u00e9 workers were forced to work without pay in the caf\u00e9 kitchen."


def build_pdf(pages: list[list[str]]) -> bytes:
    """A small valid PDF written by hand: one Helvetica text line per string, per page.

    A page with no lines has no text layer, like a scanned page.
    """
    objects: list[bytes] = []

    def add(body: bytes) -> int:
        objects.append(body)
        return len(objects)

    font = add(b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>")
    tree = add(b"")  # the page tree, filled in once the pages exist
    kids = []
    for lines in pages:
        ops = [b"BT /F1 12 Tf 72 720 Td 14 TL"]
        for line in lines:
            raw = line.encode("latin-1")
            raw = raw.replace(b"\\", b"\\\\").replace(b"(", b"\\(").replace(b")", b"\\)")
            ops.append(b"(" + raw + b") Tj T*")
        stream = b"\n".join([*ops, b"ET"]) if lines else b""
        content = add(b"<< /Length %d >>\nstream\n%s\nendstream" % (len(stream), stream))
        kids.append(add(b"<< /Type /Page /Parent %d 0 R /MediaBox [0 0 612 792] "
                        b"/Resources << /Font << /F1 %d 0 R >> >> /Contents %d 0 R >>"
                        % (tree, font, content)))
    objects[tree - 1] = b"<< /Type /Pages /Kids [%s] /Count %d >>" % (
        b" ".join(b"%d 0 R" % k for k in kids), len(kids))
    catalog = add(b"<< /Type /Catalog /Pages %d 0 R >>" % tree)
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root %d 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1, catalog, xref)
    return bytes(out)


@pytest.fixture(scope="session")
def make_pdf():
    """``make_pdf([["line", ...], ...])``: bytes of a PDF with those pages (see build_pdf)."""
    return build_pdf


class InputFolder:
    """A folder of mixed inputs for ``predict``, and what reading it must give.

    ``texts`` maps the id of every readable document to its text; ``errors`` maps the
    id of every unreadable one to a fragment of its error. ``locked`` is a file whose
    reading raises PermissionError once ``lock()`` is called (tests run as root, so
    chmod cannot make a file unreadable). The hidden files (``.hidden.txt``, ``.DS_Store``)
    give no record at all; ``sub/loop`` is a symlink to the folder containing it.
    """

    def __init__(self, root: Path, monkeypatch: pytest.MonkeyPatch) -> None:
        self.root = root
        self._monkeypatch = monkeypatch
        root.mkdir()
        self.texts: dict[str, str] = {}
        self.errors: dict[str, str] = {}

        def text_file(name: str, text: str) -> None:
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
            self.texts[str(path)] = text

        text_file("a.txt", "Her passport was taken on arrival.\n\n"
                           "She was sold on an escort website and paid through crypto exchanges.")
        text_file("b.md", "# Case notes\n\nRecruiters posted fake jobs abroad on social media.")
        text_file("sub/nested.txt", "Profits were laundered through crypto exchanges.")
        (root / "c.jsonl").write_text(
            '{"id": "j1", "text": "The boss tracked the women through an app."}\n'
            '\n'
            '{"id": "j2", "text": "Girls were exploited in prostitution."}\n'
            '{"id": "j3", "body": "no text field"}\n', encoding="utf-8")
        self.texts["j1"] = "The boss tracked the women through an app."
        self.texts["j2"] = "Girls were exploited in prostitution."
        self.errors["j3"] = "missing 'text' field"
        (root / "d.csv").write_text(
            'id,text\nc1,"Victims were filmed by cameras, then threatened."\n'
            'c2,Money mules moved the earnings abroad.\n', encoding="utf-8")
        self.texts["c1"] = "Victims were filmed by cameras, then threatened."
        self.texts["c2"] = "Money mules moved the earnings abroad."
        (root / "e_empty.txt").write_bytes(b"")
        self.errors[str(root / "e_empty.txt")] = "empty file"
        (root / "f_binary.txt").write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x01")
        self.errors[str(root / "f_binary.txt")] = "binary file"
        (root / "g_latin1.txt").write_bytes(LATIN1_TEXT.encode("latin-1"))
        self.texts[str(root / "g_latin1.txt")] = LATIN1_TEXT
        self.locked = root / "h_locked.txt"
        self.locked.write_text("You cannot read this file.", encoding="utf-8")
        self.errors[str(self.locked)] = "Permission denied"
        (root / ".hidden.txt").write_text("Hidden files are skipped.", encoding="utf-8")
        (root / ".DS_Store").write_bytes(b"\x00\x00\x00\x01Bud1")
        (root / "i_page.html").write_text(
            "<html><head><title>Site</title><script>var track = 1;</script></head><body>"
            "<nav><a href='/'>Home</a></nav><h1>Case notes</h1>"
            "<p>She was recruited through a fake job advert.</p></body></html>",
            encoding="utf-8")
        self.texts[str(root / "i_page.html")] = ("Case notes\n\n"
                                                 "She was recruited through a fake job advert.")
        (root / "j_report.pdf").write_bytes(build_pdf([["The recruiter kept her passport."],
                                                       ["Payments went through a crypto wallet."]]))
        self.texts[str(root / "j_report.pdf")] = ("The recruiter kept her passport.\n\n"
                                                  "Payments went through a crypto wallet.")
        (root / "k_scan.pdf").write_bytes(build_pdf([[]]))
        self.errors[str(root / "k_scan.pdf")] = "no extractable text (scanned?)"
        statement = docx.Document()
        statement.add_paragraph("The victims were advertised on an escort website.")
        statement.add_table(rows=1, cols=1).cell(0, 0).text = "Cash was moved by money mules."
        statement.save(root / "l_statement.docx")
        self.texts[str(root / "l_statement.docx")] = (
            "The victims were advertised on an escort website.\n\n"
            "Cash was moved by money mules.")
        pd.DataFrame({"id": ["q1", "q2"], "text": ["Workers were held in debt bondage.", None]}
                     ).to_parquet(root / "m_rows.parquet")
        self.texts["q1"] = "Workers were held in debt bondage."
        self.errors["q2"] = "missing 'text' field"
        (root / "n_notes.rtf").write_text("{\\rtf1 notes}", encoding="ascii")
        self.errors[str(root / "n_notes.rtf")] = "unsupported file type '.rtf'"
        (root / "sub" / "loop").symlink_to("..", target_is_directory=True)
        self.errors[str(root / "sub" / "loop")] = "symlink loop"

    @property
    def ids(self) -> set[str]:
        return set(self.texts) | set(self.errors)

    def lock(self) -> None:
        """Make reading ``locked`` raise PermissionError, as a chmod 000 file would."""
        locked = self.locked
        real = Path.read_bytes

        def read_bytes(path: Path) -> bytes:
            if Path(path) == locked:
                raise PermissionError(13, "Permission denied", str(path))
            return real(path)

        self._monkeypatch.setattr(Path, "read_bytes", read_bytes)


@pytest.fixture
def input_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> InputFolder:
    """A folder of every input kind, and empty, binary, latin-1, unreadable, unsupported
    and hidden files, and a symlink loop (see :class:`InputFolder`)."""
    folder = InputFolder(tmp_path / "inputs", monkeypatch)
    folder.lock()
    return folder
