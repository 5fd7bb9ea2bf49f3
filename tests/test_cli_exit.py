"""Exit codes of the console entry point: ``typer.Exit(n)`` inside a command, Ctrl-C and
SIGTERM keep their codes (typer, not standalone, returns them instead of exiting)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest
import typer

from privtrain import cli


@pytest.fixture()
def command() -> Iterator[Callable[[Callable[[], None]], None]]:
    added = []

    def add(fn: Callable[[], None]) -> None:
        cli.app.command("test-only-cmd")(fn)
        added.append(cli.app.registered_commands[-1])

    yield add
    for c in added:
        cli.app.registered_commands.remove(c)
    cli._signalled.clear()


def _exit_code(capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    with pytest.raises(SystemExit) as e:
        cli.main(["test-only-cmd"])
    return int(e.value.code), capsys.readouterr().err


def test_typer_exit_code_is_kept(command, capsys) -> None:  # noqa: ANN001
    def fail() -> None:
        raise typer.Exit(12)

    command(fail)
    assert _exit_code(capsys)[0] == 12


def test_ctrl_c_is_130(command, capsys) -> None:  # noqa: ANN001
    def interrupted() -> None:
        raise KeyboardInterrupt

    command(interrupted)
    assert _exit_code(capsys) == (130, "interrupted\n")


def test_sigterm_is_143_after_finally_ran(command, capsys) -> None:  # noqa: ANN001
    ran = []
    old = signal.getsignal(signal.SIGTERM)

    def killed() -> None:
        try:
            os.kill(os.getpid(), signal.SIGTERM)
            signal.pause()  # not reached: the handler raises in the main thread
        finally:
            ran.append("cleanup")

    command(killed)
    try:
        assert _exit_code(capsys) == (143, "terminated\n")
    finally:
        signal.signal(signal.SIGTERM, old)
    assert ran == ["cleanup"]
