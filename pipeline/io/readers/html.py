"""``.html`` / ``.htm``: the text a reader of the page sees, one paragraph per block.

Only the standard library's ``html.parser`` is used. Dropped: scripts, styles and
other invisible parts (``script style noscript template title iframe svg``),
page furniture (``nav header footer aside form``) and elements marked ``hidden`` or
``style="display: none"``. Block elements (paragraphs, headings, list items, table
cells, ...) become paragraphs separated by a blank line, so a heading never runs into
the next sentence; ``<br>`` becomes a line break; other white space collapses as a
browser shows it. A missing end tag closes where the enclosing element closes.

Bytes are decoded in this order: byte-order mark; UTF-8 if the bytes are valid UTF-8
(pages re-saved by an editor often keep a stale ``<meta charset>``, and legacy text is
practically never valid UTF-8 by accident); the charset the page declares in
``<meta charset>``, ``<meta http-equiv="Content-Type">`` or an XML declaration (with
the WHATWG aliases, e.g. ``iso-8859-1`` read as ``windows-1252``); else the charset
:func:`~pipeline.io.readers.encoding.decode` detects.
"""

from __future__ import annotations

import codecs
import re
from html.parser import HTMLParser
from pathlib import Path

from pipeline.io.readers.base import ReadOptions, whole_file
from pipeline.io.readers.encoding import decode, has_bom, without_nuls

SKIP = frozenset({"script", "style", "noscript", "template", "title", "iframe", "svg", "math",
                  "nav", "header", "footer", "aside", "form"})
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta",
                  "param", "source", "track", "wbr"})
BLOCK = frozenset({"address", "article", "blockquote", "body", "caption", "center", "dd",
                   "details", "dialog", "dir", "div", "dl", "dt", "fieldset", "figcaption",
                   "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hgroup", "html", "legend",
                   "li", "main", "menu", "ol", "p", "pre", "section", "summary", "table",
                   "tbody", "td", "tfoot", "th", "thead", "tr", "ul"})
_INVISIBLE_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.I)
_SPACE = re.compile(r"\s+")
_META_CHARSET = re.compile(rb"""<meta\b[^>]*?\bcharset\s*=\s*["']?\s*([a-z0-9._:-]+)""", re.I)
_XML_ENCODING = re.compile(rb"""^\s*<\?xml\b[^>]*?\bencoding\s*=\s*["']([a-z0-9._:-]+)""", re.I)
# WHATWG Encoding Standard: labels browsers read with a wider decoder than their name says
_BROWSER_ALIASES = {"ascii": "cp1252", "iso8859-1": "cp1252", "iso8859-9": "cp1254",
                    "iso8859-11": "cp874", "tis-620": "cp874", "gb2312": "gb18030",
                    "gbk": "gb18030", "euc_kr": "cp949", "shift_jis": "cp932",
                    "utf-16": "utf-8", "utf-16-le": "utf-8", "utf-16-be": "utf-8"}
_PRESCAN = 4096  # bytes searched for a charset declaration


def declared_charset(data: bytes) -> str | None:
    """The Python codec for the charset the page declares near its start, if any."""
    head = data[:_PRESCAN]
    match = _XML_ENCODING.search(head) or _META_CHARSET.search(head)
    if match is None:
        return None
    try:
        name = codecs.lookup(match.group(1).decode("ascii")).name
    except LookupError:
        return None
    return _BROWSER_ALIASES.get(name, name)


def decode_html(data: bytes) -> str:
    """Decode a page: BOM, else valid UTF-8, else its declared charset, else detection."""
    declared = declared_charset(data)
    if declared is None or declared == "utf-8" or has_bom(data) or b"\x00" in data[:8192]:
        return decode(data)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    try:
        return data.decode(declared)
    except UnicodeDecodeError:  # the declaration is wrong: detect instead
        return decode(data)


def html_to_text(markup: str) -> str:
    """Visible text of an HTML page, block elements as blank-line-separated paragraphs."""
    parser = _VisibleText()
    parser.feed(markup)
    parser.close()
    return "\n\n".join(parser.paragraphs)


def html_text(path: Path, options: ReadOptions) -> str:
    """Visible text of an HTML file; ``ValueError`` when nothing visible is left."""
    text = html_to_text(without_nuls(decode_html(path.read_bytes()), str(path)))
    if not text:
        raise ValueError("no visible text")
    return text


read_html_file = whole_file(html_text)


class _VisibleText(HTMLParser):
    """Collects visible text into ``paragraphs``; see the module docstring for the rules."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.paragraphs: list[str] = []
        self._open: list[str] = []  # open elements, outermost first (void ones never open)
        self._skip_at: int | None = None  # index in _open of the element being dropped
        self._lines: list[list[str]] = [[]]  # the current paragraph, split at <br>

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            if self._skip_at is None:
                if tag == "br":
                    self._lines.append([])
                elif tag == "hr":
                    self._end_paragraph()
            return
        self._open.append(tag)
        if self._skip_at is not None:
            return
        if tag in SKIP or _hidden(attrs):
            self._skip_at = len(self._open) - 1
            self._end_paragraph()
        elif tag in BLOCK:
            self._end_paragraph()

    def handle_endtag(self, tag: str) -> None:
        if tag not in self._open:
            return  # a stray end tag: browsers ignore it too
        index = len(self._open) - 1 - self._open[::-1].index(tag)
        del self._open[index:]  # also closes any element left open inside it
        if self._skip_at is not None:
            if index <= self._skip_at:
                self._skip_at = None
                self._end_paragraph()
        elif tag in BLOCK:
            self._end_paragraph()

    def handle_data(self, data: str) -> None:
        if self._skip_at is not None:
            return
        if "pre" in self._open:
            first, *rest = data.split("\n")
            self._lines[-1].append(first)
            self._lines.extend([part] for part in rest)
        else:
            self._lines[-1].append(data)

    def close(self) -> None:
        super().close()
        self._end_paragraph()

    def _end_paragraph(self) -> None:
        lines = (_SPACE.sub(" ", "".join(parts)).strip() for parts in self._lines)
        text = "\n".join(line for line in lines if line)
        if text:
            self.paragraphs.append(text)
        self._lines = [[]]


def _hidden(attrs: list[tuple[str, str | None]]) -> bool:
    for name, value in attrs:
        if name == "hidden" or (name == "style" and value and _INVISIBLE_STYLE.search(value)):
            return True
    return False
