"""Document readers for ``trafficlens predict``, one small module per kind of file.

``base`` (Document, ReadOptions, the reader type), ``encoding`` (bytes to text),
``text`` (.txt .md), ``html`` (.html .htm), ``pdf``, ``docx``, ``tables`` (.jsonl .csv
.parquet) and ``walk`` (folders). :mod:`pipeline.io.inputs` registers them by extension
and is the entry point the rest of the package uses. Heavy libraries (pypdf,
python-docx, pandas) are imported only when a file of their kind is read.
"""

from pipeline.io.readers.base import Document, Reader, ReadOptions, whole_file
from pipeline.io.readers.docx import read_docx_file
from pipeline.io.readers.encoding import decode
from pipeline.io.readers.html import html_to_text, read_html_file
from pipeline.io.readers.pdf import read_pdf_file
from pipeline.io.readers.tables import read_csv_file, read_jsonl_file, read_parquet_file
from pipeline.io.readers.text import read_text_file
from pipeline.io.readers.walk import walk

__all__ = ["Document", "ReadOptions", "Reader", "decode", "html_to_text", "read_csv_file",
           "read_docx_file", "read_html_file", "read_jsonl_file", "read_parquet_file",
           "read_pdf_file", "read_text_file", "walk", "whole_file"]
