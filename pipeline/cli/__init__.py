"""The ``trafficlens`` command line (Typer): ``app`` is the entry point."""

from pipeline.cli.main import app

__all__ = ["app"]
