"""The `pipelet` command. One module per command group; this file only assembles them."""

from __future__ import annotations

import sys
from typing import Any

import typer
from typer import rich_utils
from typer._click import exceptions as click_errors  # typer 0.29 vendors click
from typer.core import TyperGroup

from pipelet_app.cli import api_key, db, mqtt_acl, reconstruct, run, seed, simulate, tax, worker


class _OneLineUsageErrors(TyperGroup):
    """A mistyped or missing option is bad input like any other: exit 2 with one line naming it
    (docs/interfaces.md), not Typer's boxed usage panel. Help on no arguments stays as it is."""

    def main(self, *args: Any, standalone_mode: bool = True, **kwargs: Any) -> Any:
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except click_errors.NoArgsIsHelpError as exc:
            rich_utils.rich_format_error(exc)  # the help, as before
            sys.exit(exc.exit_code)
        except click_errors.UsageError as exc:
            print(f"error: {' '.join(exc.format_message().split())}", file=sys.stderr)
            sys.exit(2)
        except click_errors.ClickException as exc:
            exc.show()
            sys.exit(exc.exit_code)
        except typer.Abort:
            print("Aborted!", file=sys.stderr)
            sys.exit(1)
        sys.exit(code if isinstance(code, int) else 0)


app = typer.Typer(
    help="Pipelet: EV charging where solar and money meet.", no_args_is_help=True, cls=_OneLineUsageErrors
)
app.command("run")(run.run)
app.command("csms")(run.csms)
app.command("seed-demo")(seed.seed_demo)
app.command("worker")(worker.worker)
app.command("reconstruct")(reconstruct.reconstruct)
app.command("simulate-surplus")(simulate.simulate_surplus)
app.command("mqtt-acl")(mqtt_acl.mqtt_acl)
app.command("mqtt-dynsec")(mqtt_acl.mqtt_dynsec)
app.add_typer(db.app, name="db")
app.add_typer(api_key.app, name="api-key")
app.add_typer(tax.app, name="tax")
