"""The `pipelet` command. One module per command group; this file only assembles them."""

from __future__ import annotations

import typer

from pipelet_app.cli import api_key, db, reconstruct, run, seed, simulate, tax, worker

app = typer.Typer(help="Pipelet: EV charging where solar and money meet.", no_args_is_help=True)
app.command("run")(run.run)
app.command("csms")(run.csms)
app.command("seed-demo")(seed.seed_demo)
app.command("worker")(worker.worker)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("simulate-surplus")(simulate.simulate_surplus)
app.add_typer(db.app, name="db")
app.add_typer(api_key.app, name="api-key")
app.add_typer(tax.app, name="tax")
