"""How the CLI prints results: readable by default, one JSON line with --json."""

from __future__ import annotations

import json
from typing import Any

import click


def print_outputs(outputs: dict[str, Any], *, as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(outputs))
        return
    if not outputs:
        click.echo("(no outputs)")
    for name, value in outputs.items():
        shown = value if isinstance(value, str) else json.dumps(value)
        click.echo(f"{name}: {shown}")
