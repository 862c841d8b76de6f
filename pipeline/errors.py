"""The one error type for bad input, and helpers that format its messages.

Library code raises :class:`PipelineError` naming the file, line and field; the CLI
turns it into one line on stderr and exit code 1. Tracebacks are kept for bugs.
"""

from __future__ import annotations

from pathlib import Path


class PipelineError(Exception):
    """A problem with the user's input (data, config, model file), not a bug."""


def where(path: Path | str, line: int | None = None, field: str | None = None) -> str:
    """Return ``file:line: field`` for an error message, leaving out unknown parts."""
    out = str(path)
    if line is not None:
        out += f":{line}"
    if field:
        out += f": {field}"
    return out


def collect(problems: list[str], header: str, limit: int = 50) -> PipelineError:
    """Build one error that lists several problems at once (e.g. all bad corpus lines)."""
    if len(problems) == 1:
        return PipelineError(f"{header}: {problems[0]}")
    shown = problems[:limit]
    more = len(problems) - len(shown)
    text = f"{header} ({len(problems)} problem{'s' if len(problems) != 1 else ''}):\n  "
    text += "\n  ".join(shown)
    if more:
        text += f"\n  ... and {more} more"
    return PipelineError(text)
