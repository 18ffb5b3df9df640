"""`slipstream serialize FILE…`: write the IR of every task, workflow and launch plan found."""

from __future__ import annotations

import json
from pathlib import Path

import click


@click.command("serialize")
@click.argument("paths", nargs=-1, required=True)
@click.option("--project", default="local", show_default=True)
@click.option("--domain", default="development", show_default=True)
@click.option("--version", "version", default=None, help="Default: the git commit of the code (marked if dirty).")
@click.option("-o", "--output", type=click.Path(file_okay=False), default=None,
              help="Write one JSON file per spec into this folder; default: a JSON array on stdout.")
def serialize(paths: tuple[str, ...], project: str, domain: str, version: str | None, output: str | None) -> None:
    """Write the IR (JSON specs) of everything under PATHS."""
    from slipstream.collect import collect_specs

    specs = collect_specs(list(paths), project=project, domain=domain, version=version)
    if output is None:
        click.echo(json.dumps(specs, indent=2, sort_keys=True))
        return
    folder = Path(output)
    folder.mkdir(parents=True, exist_ok=True)
    for spec in specs:
        (folder / f"{spec['kind']}.{spec['id']['name']}.json").write_text(json.dumps(spec, indent=2, sort_keys=True))
    click.echo(f"wrote {len(specs)} specs to {folder}", err=True)
