"""`privtrain init`."""

from __future__ import annotations

import typer

from privtrain.cli._common import console, emit_json, state


def register(app: typer.Typer) -> None:
    @app.command("init")
    def init(
        ctx: typer.Context,
        json_out: bool = typer.Option(False, "--json", help="machine-readable output"),
    ) -> None:
        """Create a new home: passphrase-protected keyring, catalog, audit log."""
        import os

        from privtrain.workspace import Workspace

        os.umask(0o077)  # the home and everything in it private to its user
        st = state(ctx)
        s = st.settings()
        ws = Workspace.init(s, st.passphrase(confirm=True))
        info = {
            "home": str(s.home),
            "catalog": ws.catalog.safe_url,
            "kek_id": ws.keys.active_kek_id(),
        }
        if json_out:
            emit_json(info)
        else:
            console.print(f"initialized privtrain home [bold]{s.home}[/] (KEK {info['kek_id']})")
