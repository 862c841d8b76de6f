"""The ``trafficlens`` command line (Typer): one module per command group.

Importing this package registers every command on ``app``; :func:`main` is the
console entry point.
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys

from pipeline.cli import data, model, predict  # noqa: F401  (registers the commands)
from pipeline.cli.app import app

__all__ = ["app", "main"]


def main() -> None:
    """Run the command line, then end the process at once.

    Tearing down the interpreter (spaCy, its dependencies and their modules) takes
    about 0.3 s, a fifth of a one-document ``predict``. By the time a command returns,
    every output file is written, flushed and closed (each is a context manager), so
    the process only flushes the standard streams and logging, runs the exit handlers
    and exits with the command's code. An exception other than ``SystemExit`` ends the
    interpreter normally.
    """
    try:
        app(prog_name="trafficlens")
        code: object = 0
    except SystemExit as done:
        code = done.code
    if code is None:
        code = 0
    elif not isinstance(code, int):  # as the interpreter does with sys.exit("message")
        print(code, file=sys.stderr)
        code = 1
    import atexit

    atexit._run_exitfuncs()  # multiprocessing and logging clean-ups, as at normal exit
    logging.shutdown()
    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError, AttributeError):  # closed: nothing
            stream.flush()                                              # more to write
    os._exit(code)
