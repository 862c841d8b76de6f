"""The Typer application, its command groups, and what every command shares."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any

import typer

from pipeline import __version__
from pipeline.config import Config
from pipeline.errors import PipelineError

app = typer.Typer(
    name="trafficlens",
    help="Label report text by human-trafficking stage and technology.\n\n"
         "The labels are defined in docs/labeling-guide.md (in the project's repository).\n\n"
         "Example: trafficlens predict data/examples --out predictions.jsonl",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
data_app = typer.Typer(help="Check, split and compare annotated corpora.\n\n"
                            "Example: trafficlens data check data/corpus",
                       no_args_is_help=True)
app.add_typer(data_app, name="data")

OVERRIDES = {"allow_extra_args": True, "ignore_unknown_options": True}
CONFIG_HELP = ("Default: configs/default.toml of the working directory, else that of "
               "this checkout.")


MASK_HELP = ("Replace phone numbers, e-mails, URLs, handles, IBANs, card numbers, wallet "
             "addresses and names in every output text with [PHONE], [EMAIL], ... "
             "(after classification: labels do not change; ids and file names are kept).")


def pii_settings(cfg: Config | None) -> Any:
    """The ``[pii]`` settings of ``--mask-pii``: the run config's, else the defaults. The
    masker is built here (and kept for this process: ``masker_for``), so a bad setting
    fails before any work starts."""
    from pipeline.batch.predict import masker_for
    from pipeline.config import Pii

    settings = cfg.pii if cfg is not None else Pii()
    masker_for(settings).load()
    return settings


def default_config() -> Path | None:
    """``configs/default.toml`` of the working directory, else of this checkout (so the
    CLI finds the default config from any folder); chosen when a command runs."""
    here = Path("configs/default.toml")
    shipped = Path(__file__).resolve().parents[2] / "configs" / "default.toml"
    if here.is_file():
        return here
    return shipped if shipped.is_file() else None


def run_config(path: Path | None, overrides: dict | None = None, *,
               optional: bool = False) -> Config | None:
    """The config a command runs with: ``path``, else the default one. A default taken
    from the working directory that cannot be read says so, and how to choose another."""
    from pipeline.config import load_config

    if path is not None:
        return load_config(path, overrides)
    chosen = default_config()
    if chosen is None:
        if optional:
            return None
        raise PipelineError("no --config given and no configs/default.toml here or in this "
                            "checkout; give --config")
    try:
        return load_config(chosen, overrides)
    except PipelineError as err:
        if chosen.is_absolute():
            raise
        raise PipelineError(f"{err} (the default config, taken from the working directory "
                            f"{Path.cwd()}; give --config to use another)") from None


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn bad-input errors into one line on stderr and exit code 1."""
    try:
        yield
    except PipelineError as err:
        typer.echo(f"error: {err}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(130) from None


def _say(message: str) -> None:
    typer.echo(message, err=True)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"trafficlens {__version__}")
        raise typer.Exit()


@app.callback()
def main(version: Annotated[bool | None, typer.Option(
        "--version", callback=_version, is_eager=True, help="Show the version and exit.")] = None
         ) -> None:
    """Label report text by human-trafficking stage and technology."""
    warnings.formatwarning = _one_line_warning


def _one_line_warning(message, category, filename, lineno, line=None) -> str:
    return f"warning: {message}\n"
