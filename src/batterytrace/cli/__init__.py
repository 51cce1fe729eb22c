"""The ``batterytrace`` command: a thin layer over the services (:mod:`batterytrace.services`).

One module per area holds its commands and their printing: :mod:`.events`, :mod:`.ledger`,
:mod:`.masterdata`, :mod:`.custody`, :mod:`.contracts`, :mod:`.trace`, :mod:`.carbon`,
:mod:`.demo`, :mod:`.server`; :mod:`.common` what they all use. The root ``app`` here
registers them all, by name: the top-level commands (``app.command(NAME)(function)``) and the
groups, each a Typer sub-app of its area (``app.add_typer(sub_app, name=NAME)``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import typer
from typer._click.core import Context
from typer.core import TyperGroup
from typer.exceptions import TyperException

from batterytrace.cli import (
    carbon,
    certificates,
    contracts,
    custody,
    demo,
    diligence,
    events,
    ledger,
    masterdata,
    organisations,
    server,
    summary,
    trace,
)
from batterytrace.cli.common import fail
from batterytrace.errors import BatteryTraceError

if TYPE_CHECKING:
    from batterytrace.settings import Settings


class _Guarded(TyperGroup):
    """The edge of every command: the settings read from the environment once (a bad value is
    one line and exit 1), and the last resort around the command: what reaches the top is one
    line and exit 1, never a traceback (unless BATTERYTRACE_DEBUG=1 asks for one)."""

    def invoke(self, ctx: Context) -> Any:
        debug = False
        try:
            ctx.obj = _read_settings()  # the commands' contexts inherit it: current_settings()
            debug = ctx.obj.debug
            return super().invoke(ctx)
        except (typer.Exit, typer.Abort, TyperException):  # usage errors, --help: typer's
            raise
        except (BatteryTraceError, OSError, UnicodeDecodeError) as exc:  # unreadable file...
            fail("error:", str(exc))
        except (RecursionError, MemoryError) as exc:
            fail("error:", f"input too large or too deeply nested ({type(exc).__name__})")
        except Exception as exc:
            if debug:
                raise
            fail("internal error:", f"{type(exc).__name__}: {exc} (a bug: please report it, "
                 "with the traceback BATTERYTRACE_DEBUG=1 shows)")  # fmt: skip


def _read_settings() -> Settings:
    """This command's settings, the limits of the process set from them."""
    from batterytrace import limits
    from batterytrace.settings import Settings  # here: `batterytrace --help` loads no pydantic

    settings = Settings()
    limits.configure(settings.limits)
    return settings


app = typer.Typer(
    cls=_Guarded,
    help="EPCIS 2.0 event repository with a tamper-evident ledger, for battery raw materials.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    rich_markup_mode=None,  # plain help: typer's rich help formatter alone takes 0.15 s to load
)

# The top-level commands, in the order `batterytrace --help` lists them (before the groups).
app.command("init")(ledger.init)
app.command("capture")(events.capture)
app.command("events")(events.events)
app.command("hash")(events.hash_)
app.command("verify")(ledger.verify)
app.command("changes")(ledger.changes)
app.command("rebuild")(ledger.rebuild)
app.command("imports")(ledger.imports_command)
app.command("scenario")(demo.scenario)
app.command("check")(trace.check_balance)
app.command("demo")(demo.demo)
app.command("footprint")(carbon.footprint_command)
app.command("targets")(carbon.targets_command)
app.command("summary")(summary.summary)
app.command("diligence")(diligence.diligence)
app.command("serve")(server.serve)

app.add_typer(ledger.checkpoint_app, name="checkpoint")
app.add_typer(ledger.key_app, name="key")
app.add_typer(masterdata.masterdata_app, name="masterdata")
app.add_typer(custody.custody_app, name="custody")
app.add_typer(contracts.contract_app, name="contract")
app.add_typer(trace.trace_app, name="trace")
app.add_typer(carbon.carbon_app, name="carbon")
app.add_typer(carbon.pact_app, name="pact")
app.add_typer(server.client_app, name="client")
app.add_typer(organisations.org_app, name="org")
app.add_typer(organisations.site_app, name="site")
app.add_typer(organisations.share_app, name="share")
app.add_typer(certificates.certificate_app, name="certificate")
