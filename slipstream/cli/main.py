"""The `slipstream` command. Subcommands import what they need when they run, so start-up stays quick."""

from __future__ import annotations

import os
import sys

import click

from slipstream.cli.compile import compile_command
from slipstream.cli.console import console
from slipstream.cli.deploy import deploy, teardown
from slipstream.cli.executions import execution, get_execution, get_executions, logs
from slipstream.cli.gates import approve, signal
from slipstream.cli.get import create, get
from slipstream.cli.launch import launch
from slipstream.cli.launchplan import launchplan
from slipstream.cli.register import register
from slipstream.cli.run import run
from slipstream.cli.sandbox import sandbox
from slipstream.cli.serialize import serialize


@click.group()
@click.version_option(package_name="slipstream")
def cli() -> None:
    """slipstream: Flyte workflows with a serverless control plane on AWS."""


for command in (run, register, get, create, execution, logs, sandbox, serialize, compile_command, deploy,
                teardown, launch, console):
    cli.add_command(command)
cli.add_command(launchplan)
get.add_command(get_executions)
get.add_command(get_execution)
execution.add_command(signal)
execution.add_command(approve)


def main(argv: list[str] | None = None) -> None:
    """Entry point: project errors become one line on stderr (exit 2 for the caller's mistakes, 1 for
    failed runs), never a traceback."""
    from chalicelib.errors import ExecutionError, SlipstreamError, UserError

    try:
        cli.main(args=argv, prog_name="slipstream", standalone_mode=False)
    except click.exceptions.Abort:
        click.echo("Aborted.", err=True)
        sys.exit(130)
    except click.ClickException as exc:
        exc.show()
        sys.exit(exc.exit_code)
    except UserError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)
    except ExecutionError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except SlipstreamError as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except Exception as exc:
        if os.environ.get("SLIPSTREAM_DEBUG"):
            raise
        click.echo(f"Internal error: {type(exc).__name__}: {exc} (set SLIPSTREAM_DEBUG=1 for a traceback)", err=True)
        sys.exit(1)
