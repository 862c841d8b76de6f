"""The ``trafficlens`` command line (Typer): one module per command group.

Importing this package registers every command on ``app``, the entry point.
"""

from pipeline.cli import data, model, predict  # noqa: F401  (registers the commands)
from pipeline.cli.app import app

__all__ = ["app"]
