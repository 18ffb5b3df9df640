"""`slipstream register PATH… --project P --domain D [--version V]`."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import click


@click.command("register")
@click.argument("paths", nargs=-1, required=True)
@click.option("-p", "--project", default=None, help="Default: the configured project (the sandbox: default).")
@click.option("-d", "--domain", default=None, help="Default: the configured domain (development).")
@click.option("-v", "--version", default=None, help="Default: the git commit of the code, marked if dirty.")
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def register(paths: tuple[str, ...], project: str | None, domain: str | None, version: str | None,
             as_json: bool) -> None:
    """Register every task, workflow and launch plan under PATHS, with a bundle of their source."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    client = ApiClient(config)
    specs, version = build_registration(client, list(paths), config.project, config.domain, version)
    results = client.register(specs)
    if as_json:
        click.echo(json.dumps({"version": version, "entities": results}))
        return
    created = sum(r["status"] == "created" for r in results)
    click.echo(f"Registered {len(results)} entities ({created} new, {len(results) - created} unchanged) "
               f"in {config.project}/{config.domain} at version {version}")
    for r in results:
        click.echo(f"  {r['status']:<9} {r['kind']:<11} {r['id']['name']}")


def build_registration(client: Any, paths: list[str], project: str, domain: str,
                       version: str | None, fast: bool = False) -> tuple[list[dict[str, Any]], str]:
    """Specs of everything under `paths`, their task specs pointing at the uploaded code bundle. With
    `fast` and no version, the version is the bundle's digest: the same code, the same version."""
    from slipstream.bundle import build_bundle
    from slipstream.collect import collect_entities
    from slipstream.loader import module_name_for, python_files
    from slipstream.serialization import SerializationSettings, serialize
    from slipstream.versioning import default_version

    roots = sorted({module_name_for(f)[0] for f in python_files(paths)})
    entities = collect_entities(paths)
    bundles: dict[Path, str] = {}
    digests = []
    for root in roots:
        data, digest = build_bundle(root)
        digests.append(digest)
        bundles[root] = client.upload_bundle(project, domain, digest, data)
    if version is None:
        version = "fast-" + hashlib.sha256("".join(digests).encode()).hexdigest()[:20] if fast \
            else default_version(paths)
    settings = SerializationSettings(project, domain, version)
    specs = serialize(entities, settings)
    for spec in specs:
        if spec["kind"] == "task":
            module = spec["function"]["module"]
            root = next((r for r in roots if (r / (module.replace(".", "/") + ".py")).exists()), None)
            spec["container"]["bundle"] = bundles.get(root) if root else None
    return specs, settings.version
