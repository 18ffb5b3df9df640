"""`slipstream deploy` and `slipstream teardown`: one CloudFormation stack per stage.

deploy = package (Chalice) → assemble (slipstream.deploy.template, pure) → upload + change set
(slipstream.deploy.aws) → the CLI pointed at the stage's API. `--dry-run --output DIR` stops after
assembling and writes the template and the cluster's Kubernetes manifests, touching no AWS.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

import click

from chalicelib.errors import UserError

SERVICES = ("cloudformation", "s3", "sts", "eks", "iam", "dynamodb")
TEMPLATE_FILE = "template.json"
RBAC_FILE = "rbac.yaml"


def _region(explicit: str | None) -> str:
    import boto3

    region = explicit or boto3.session.Session().region_name
    if not region:
        raise UserError("no AWS region: pass --region, or set AWS_REGION (or a region in your AWS profile)")
    return region


def _stack(stage: str, stack_name: str | None, region: str) -> str:
    from slipstream.deploy.template import check_stack_name, stack_name_for

    return check_stack_name(stack_name or stack_name_for(stage), region)


def _deployer(stack: str, region: str) -> Any:
    """boto3 clients from the environment (credentials, profile, AWS_ENDPOINT_URL) for one region."""
    import boto3

    from slipstream.deploy.aws import Deployer

    session = boto3.session.Session(region_name=region)
    return Deployer({name: session.client(name) for name in SERVICES}, stack, region, echo=click.echo)


def write_outputs(directory: Path, template: dict[str, Any], stack: str) -> list[Path]:
    """The template and the cluster's RBAC manifests under `directory`; the paths written."""
    from chalicelib.dispatch.namespaces import rbac_yaml

    kubernetes = directory / "kubernetes"
    kubernetes.mkdir(parents=True, exist_ok=True)
    template_path = directory / TEMPLATE_FILE
    template_path.write_text(json.dumps(template, indent=2) + "\n")
    rbac_path = kubernetes / RBAC_FILE
    rbac_path.write_text(rbac_yaml(stack))
    return [template_path, rbac_path]


def _write_client_config(api_url: str, region: str) -> Path:
    """Point the CLI at the stage: api_url, SigV4 auth and region in $SLIPSTREAM_HOME/config.json, keeping
    the project and domain already there."""
    from slipstream.cache import slipstream_home

    path = slipstream_home() / "config.json"
    current: dict[str, Any] = {}
    if path.exists():
        try:
            current = json.loads(path.read_text())
        except ValueError as exc:
            raise UserError(f"config file [{path}] is not valid JSON ({exc}); fix or remove it") from None
    current.update(api_url=api_url.rstrip("/"), auth="sigv4", region=region)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_suffix(".json.partial")
    partial.write_text(json.dumps(current, indent=2) + "\n")
    os.replace(partial, path)
    return path


@click.command("deploy")
@click.option("--stage", required=True, help="The stage to deploy: its stack is slipstream-<stage>.")
@click.option("--region", help="AWS region (default: AWS_REGION or your profile's).")
@click.option("--eks-cluster", help="The EKS cluster that runs task pods (kept from the last deploy if omitted).")
@click.option("--image", help="The default task image (kept from the last deploy if omitted).")
@click.option("--stack-name", help="Name the stack yourself instead of slipstream-<stage>.")
@click.option("--dry-run", is_flag=True, help="Package and write the template and manifests; touch no AWS.")
@click.option("--output", type=click.Path(file_okay=False, path_type=Path),
              help="Write template.json and kubernetes/*.yaml here.")
@click.option("--project-dir", type=click.Path(file_okay=False, exists=True, path_type=Path),
              help="The slipstream checkout to package (default: the one holding app.py).")
def deploy(stage: str, region: str | None, eks_cluster: str | None, image: str | None, stack_name: str | None,
           dry_run: bool, output: Path | None, project_dir: Path | None) -> None:
    """Deploy the control plane as one CloudFormation stack and point the CLI at it."""
    from slipstream.deploy.package import find_project_dir, package
    from slipstream.deploy.template import assemble
    from slipstream.sandbox.infra import load_template

    if dry_run and output is None:
        raise UserError("--dry-run writes what it would deploy: name a directory with --output DIR")
    region = _region(region)
    stack = _stack(stage, stack_name, region)
    project = find_project_dir(project_dir)
    with tempfile.TemporaryDirectory(prefix="slipstream-package-") as tmp:
        packaged = package(project, stage, region, Path(tmp))
        template = assemble(packaged.sam, load_template(), packaged.artifacts)
        written = write_outputs(output, template, stack) if output is not None else []
        for path in written:
            click.echo(f"wrote {path}")
        if dry_run:
            click.echo(f"dry run: stack [{stack}] in [{region}] not deployed")
            return
        deployer = _deployer(stack, region)
        parameters = {"DefaultImage": image} if image else {}
        if eks_cluster:
            parameters.update(deployer.cluster_parameters(eks_cluster))
        deployer.upload(packaged)
        outputs = deployer.deploy(template, parameters)
    api_url = outputs.get("ApiUrl", "")
    if not api_url:
        raise UserError(f"stack [{stack}] has no ApiUrl output; was it created by another tool?")
    config = _write_client_config(api_url, region)
    click.echo(f"deployed stack [{stack}]: {api_url}")
    click.echo(f"the CLI now talks to it ({config})")
    rbac = output / "kubernetes" / RBAC_FILE if output is not None else f"DIR/kubernetes/{RBAC_FILE}"
    hint = "" if output is not None else " (write it with `--output DIR`)"
    click.echo(f"once per cluster, apply what the control plane may do there: kubectl apply -f {rbac}{hint}")


@click.command("teardown")
@click.option("--stage", required=True, help="The stage whose stack to delete.")
@click.option("--region", help="AWS region (default: AWS_REGION or your profile's).")
@click.option("--stack-name", help="The stack's name, if it is not slipstream-<stage>.")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
def teardown(stage: str, region: str | None, stack_name: str | None, yes: bool) -> None:
    """Delete a stage's stack. Its tables and data bucket are retained, with their data."""
    region = _region(region)
    stack = _stack(stage, stack_name, region)
    if not yes:
        click.confirm(f"delete stack [{stack}] in [{region}]? Tables and the data bucket are kept", abort=True)
    deployer = _deployer(stack, region)
    kept = deployer.teardown()
    click.echo(f"deleted stack [{stack}]")
    if kept:
        click.echo("kept, with their data (DeletionPolicy Retain; they are still billed for storage):")
        for line in kept:
            click.echo(f"  {line}")
        click.echo("delete them yourself once the data is no longer needed (`aws dynamodb delete-table`, and "
                   "`aws s3 rb` after removing every object version); until then a new stack of this stage "
                   "cannot be created")
