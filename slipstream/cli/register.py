"""`slipstream register PATH… --project P --domain D [--version V] [--image IMAGE]`."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

# The image reference grammar of the OCI distribution spec (what `docker pull` and the kubelet accept):
# [host[:port]/]path[:tag][@algorithm:digest]; the first part is a host only if it has a "." or a ":" or is
# "localhost", and path components are lowercase.
_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?"
_HOST = re.compile(rf"{_LABEL}(?:\.{_LABEL})*(?::[0-9]+)?")
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_DIGEST = re.compile(r"[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*:[0-9a-fA-F]{32,}")
MAX_IMAGE_NAME = 255


def is_image_reference(value: str) -> bool:
    """Whether `value` names a container image (a registry's repository, a tag or a digest)."""
    rest, at, digest = value.partition("@")
    head, slash, last = rest.rpartition("/")
    name, colon, tag = last.partition(":")
    if (at and not _DIGEST.fullmatch(digest)) or (colon and not _TAG.fullmatch(tag)):
        return False
    parts = [*head.split("/"), name] if slash else [name]
    has_host = len(parts) > 1 and ("." in parts[0] or ":" in parts[0] or parts[0] == "localhost")
    if has_host and not _HOST.fullmatch(parts.pop(0)):
        return False
    return all(_COMPONENT.fullmatch(p) for p in parts) and len(rest) - len(colon + tag) <= MAX_IMAGE_NAME


def check_image(ctx: click.Context | None, param: click.Parameter | None, value: str | None) -> str | None:
    """A click callback: `value` if it is a container image reference, else a one-line usage error."""
    if value is not None and not is_image_reference(value):
        raise click.BadParameter(f"[{value}] is not a container image reference; give "
                                 "[registry/]name[:tag][@sha256:digest] with a lowercase name, "
                                 "e.g. ghcr.io/acme/tasks:1.4", ctx=ctx, param=param)
    return value


image_option = click.option(
    "--image", default=None, callback=check_image, metavar="IMAGE",
    help="The container image of every task that names none of its own (container_image); "
         "default: the control plane's task image.")


@click.command("register")
@click.argument("paths", nargs=-1, required=True)
@click.option("-p", "--project", default=None, help="Default: the configured project (the sandbox: default).")
@click.option("-d", "--domain", default=None, help="Default: the configured domain (development).")
@click.option("-v", "--version", default=None, help="Default: the git commit of the code, marked if dirty.")
@image_option
@click.option("--json", "as_json", is_flag=True, help="Print the results as JSON.")
def register(paths: tuple[str, ...], project: str | None, domain: str | None, version: str | None,
             image: str | None, as_json: bool) -> None:
    """Register every task, workflow and launch plan under PATHS, with a bundle of their source."""
    from slipstream.client import ApiClient
    from slipstream.config import load_config

    config = load_config(project=project, domain=domain)
    client = ApiClient(config)
    specs, version = build_registration(client, list(paths), config.project, config.domain, version, image=image)
    results = client.register(specs)
    if as_json:
        click.echo(json.dumps({"version": version, "entities": results}))
        return
    created = sum(r["status"] == "created" for r in results)
    click.echo(f"Registered {len(results)} entities ({created} new, {len(results) - created} unchanged) "
               f"in {config.project}/{config.domain} at version {version}")
    for r in results:
        click.echo(f"  {r['status']:<9} {r['kind']:<11} {r['id']['name']}")


def build_registration(client: Any, paths: list[str], project: str, domain: str, version: str | None,
                       fast: bool = False, image: str | None = None) -> tuple[list[dict[str, Any]], str]:
    """Specs of everything under `paths`, their task specs pointing at the uploaded code bundle, and at
    `image` where a task names no image of its own. With `fast` and no version, the version is the digest
    of the bundle and the image: the same code in the same image, the same version (and another image is
    another version, not a conflict with the immutable one)."""
    planned = Registration.plan(paths, project, domain, version, fast=fast, image=image)
    return planned.specs(client), planned.version


@dataclass(frozen=True)
class Registration:
    """A registration built locally (code bundles and their digests, the version), not yet sent: `run --remote`
    knows the fast version before any request, and skips uploading and registering when it is registered."""

    paths: list[str]
    project: str
    domain: str
    version: str
    image: str | None
    bundles: dict[Path, tuple[bytes, str]]  # source root -> (tar.gz, sha256)

    @classmethod
    def plan(cls, paths: list[str], project: str, domain: str, version: str | None, *, fast: bool = False,
             image: str | None = None) -> Registration:
        from slipstream.bundle import build_bundle
        from slipstream.loader import module_name_for, python_files
        from slipstream.versioning import default_version

        roots = sorted({module_name_for(f)[0] for f in python_files(paths)})
        bundles = {root: build_bundle(root) for root in roots}
        if version is None:
            digests = "".join(digest for _, digest in bundles.values())
            version = "fast-" + hashlib.sha256((digests + (image or "")).encode()).hexdigest()[:20] if fast \
                else default_version(paths)
        return cls(paths, project, domain, version, image, bundles)

    def specs(self, client: Any) -> list[dict[str, Any]]:
        """Upload the bundles the control plane lacks, and serialize every entity under the paths."""
        from slipstream.collect import collect_entities
        from slipstream.serialization import SerializationSettings, serialize

        entities = collect_entities(self.paths)
        uris = {root: client.upload_bundle(self.project, self.domain, digest, data)
                for root, (data, digest) in self.bundles.items()}
        specs = serialize(entities, SerializationSettings(self.project, self.domain, self.version))
        for spec in specs:
            if spec["kind"] == "task":
                module = spec["function"]["module"]
                root = next((r for r in uris if (r / (module.replace(".", "/") + ".py")).exists()), None)
                spec["container"]["bundle"] = uris.get(root) if root else None
                if self.image and not spec["container"].get("image"):
                    spec["container"]["image"] = self.image
        return specs
