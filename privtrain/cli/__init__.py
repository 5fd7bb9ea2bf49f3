"""The ``privtrain`` command line: a thin shell over the library.

Parses options, calls the library, renders with rich, and maps every
:class:`privtrain.errors.PrivtrainError` to one ``error: ...`` line on stderr and its stable
exit code (README, "Exit codes").
"""

from __future__ import annotations

import signal
import sys

import click
import typer

from privtrain.cli._common import CliState, console_err
from privtrain.errors import PrivtrainError

app = typer.Typer(
    name="privtrain",
    help="Privacy-preserving training: de-identify, encrypt at rest, train under DP, audit.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback(invoke_without_command=True)
def _root(
    ctx: typer.Context,
    home: str = typer.Option(
        None, "--home", help="privtrain home directory [env: PRIVTRAIN_HOME; default ./.privtrain]"
    ),
    catalog_url: str = typer.Option(
        None, "--catalog-url", help="SQLAlchemy URL of the catalog [env: PRIVTRAIN_CATALOG_URL]"
    ),
    identity: str = typer.Option(
        None, "--as", help="acting identity recorded in the audit log [env: PRIVTRAIN_IDENTITY]"
    ),
    version: bool = typer.Option(
        False, "--version", is_eager=True, help="print the version and exit"
    ),
) -> None:
    if version:
        from privtrain import __version__

        typer.echo(f"privtrain {__version__}")
        raise typer.Exit(0)
    if ctx.invoked_subcommand is None:
        typer.echo(ctx.get_help())
        raise typer.Exit(0)
    ctx.obj = CliState(home=home, catalog_url=catalog_url, identity=identity)


def _register() -> None:
    from privtrain.cli import _audit, _datasets, _home, _keys

    _home.register(app)
    app.add_typer(_datasets.app, name="datasets", help="Encrypted datasets in the catalog.")
    app.add_typer(_keys.app, name="keys", help="Key-encryption keys.")
    app.add_typer(_audit.app, name="audit", help="The tamper-evident audit log.")
    # Optional command groups: each module's register(app) adds its commands; a module that
    # is not present is skipped.
    for name in ("_deid", "_train", "_features", "_access", "_fed", "_pipeline"):
        try:
            mod = __import__(f"privtrain.cli.{name}", fromlist=["register"])
        except ModuleNotFoundError as e:
            if e.name != f"privtrain.cli.{name}":
                raise
            continue
        mod.register(app)


_register()


class _Terminated(KeyboardInterrupt):
    """SIGTERM, raised in the main thread so that ``finally`` blocks run: temp files are
    removed, reservations settled and child processes (``fed local``) stopped, as on Ctrl-C."""


_signalled: list[int] = []


def _on_sigterm(signum: int, frame: object) -> None:
    _signalled.append(signum)
    raise _Terminated()


def _interrupted() -> None:
    if _signalled:
        console_err.print("terminated")
        sys.exit(143)
    console_err.print("interrupted")
    sys.exit(130)


def main(argv: list[str] | None = None) -> None:
    """Console entry point. Exit codes: README "Exit codes"."""
    signal.signal(signal.SIGTERM, _on_sigterm)
    try:
        # Not standalone: typer then *returns* the code of ``typer.Exit`` and of an interrupt
        # (130) instead of exiting; commands themselves return None.
        rv = app(args=argv, standalone_mode=False)
    except PrivtrainError as e:
        console_err.print(f"[bold red]error:[/] {e.message}", highlight=False, soft_wrap=True)
        sys.exit(e.exit_code)
    except click.exceptions.Abort:
        if _signalled:
            _interrupted()
        console_err.print("aborted")
        sys.exit(130)
    except click.exceptions.Exit as e:
        sys.exit(e.exit_code)
    except click.ClickException as e:
        e.show()
        sys.exit(e.exit_code)
    except KeyboardInterrupt:
        _interrupted()
    if isinstance(rv, int) and not isinstance(rv, bool):
        if rv == 130:
            _interrupted()
        sys.exit(rv)
    sys.exit(0)
