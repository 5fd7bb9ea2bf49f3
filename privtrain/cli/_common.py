"""Shared CLI plumbing: settings, passphrase prompt, output helpers."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from privtrain.config import Settings, load_settings

console = Console()
console_err = Console(stderr=True)


@dataclass
class CliState:
    home: str | None = None
    catalog_url: str | None = None
    identity: str | None = None
    sealing: bool = False  # `keys seal-catalog`: open an old, not yet sealed catalog
    _settings: Settings | None = field(default=None, repr=False)
    _ws: Any = field(default=None, repr=False)

    def settings(self) -> Settings:
        if self._settings is None:
            self._settings = load_settings(
                home=self.home, catalog_url=self.catalog_url, identity=self.identity
            )
        return self._settings

    def passphrase(self, *, confirm: bool = False) -> str:
        s = self.settings()
        if s.passphrase is not None:
            return s.passphrase.get_secret_value()
        if not os.isatty(0):
            from privtrain.errors import ConfigError

            raise ConfigError(
                "no passphrase: set PRIVTRAIN_PASSPHRASE or run interactively to be prompted"
            )
        return typer.prompt("keyring passphrase", hide_input=True, confirmation_prompt=confirm)

    def workspace(self):  # noqa: ANN201 - privtrain.workspace.Workspace
        if self._ws is None:
            from privtrain.workspace import Workspace

            os.umask(0o077)  # whatever privtrain creates is private to its user
            s = self.settings()
            s.require_initialized()
            self._ws = Workspace.open(s, self.passphrase(), sealing=self.sealing)
        return self._ws


def state(ctx: typer.Context) -> CliState:
    return ctx.find_root().obj


def emit_json(obj: Any) -> None:
    typer.echo(json.dumps(obj, indent=2, sort_keys=True, default=str))


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    t = Table(title=title, show_lines=False)
    for c in columns:
        t.add_column(c)
    for r in rows:
        t.add_row(*["" if v is None else str(v) for v in r])
    console.print(t)


def human_bytes(n: int) -> str:
    f = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if f < 1024 or unit == "TiB":
            return f"{f:.0f} {unit}" if unit == "B" else f"{f:.1f} {unit}"
        f /= 1024
    return f"{n} B"
