"""Text from data (ids, passages, file and label names) made safe to put in Markdown.

Reports are opened in viewers that render Markdown and the HTML inside it, so a
passage holding ``<script>``, ``<img onerror=...>``, ``</td></table>`` or a tracking
image ``![x](http://...)`` must be shown as text, never run, fetched or allowed to
break the table it stands in.
"""

from __future__ import annotations

import html
import re

#: Characters that start Markdown inline syntax: code, emphasis, links and images,
#: strike-through, table cells, and the backslash itself.
_INLINE = re.compile(r"([\\`*_\[\]()!|~])")


def md_escape(value: object) -> str:
    """``value`` as literal Markdown text on one line: HTML special characters become
    entities, Markdown syntax characters are backslash-escaped, line breaks spaces."""
    text = " ".join(str(value).split())
    return _INLINE.sub(r"\\\1", html.escape(text, quote=False))
