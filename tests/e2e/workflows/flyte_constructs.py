"""Flyte constructs run remotely by tests/e2e/test_flytekit_idioms_remote.py: pydantic models, pickled values,
launch plans as nodes with `>>`, `with_overrides`,
secrets from AWS Secrets Manager read through `current_context()`, a conditional case that calls a
subworkflow, a ShellTask, a bare `dict` and an ImageSpec's image (issue 10, part 3)."""

import typing
from pathlib import Path

import pydantic

from slipstream import (
    File,
    ImageSpec,
    LaunchPlan,
    OutputLocation,
    Secret,
    ShellTask,
    conditional,
    current_context,
    kwtypes,
    task,
    workflow,
)


class Box(pydantic.BaseModel):
    width: float
    tags: list[str] = []


class Opaque:  # no IR type: travels pickled between the pods, as in flytekit
    def __init__(self, items: set[int]) -> None:
        self.items = items


@task
def widen(box: Box, by: float) -> Box:
    return Box(width=box.width + by, tags=[*box.tags, "wider"])


@task
def make_opaque(n: int) -> Opaque:
    return Opaque(set(range(n)))


@task
def count_opaque(o: Opaque, extra: int) -> int:
    return len(o.items) + extra


@task
def scale(x: int, factor: int) -> int:
    return x * factor


@task
def flaky(marker_dir: str) -> str:
    """No retries of its own; fails twice, so it succeeds only with a node override of retries >= 2."""
    attempts = Path(marker_dir) / "attempts"
    count = int(attempts.read_text()) + 1 if attempts.exists() else 1
    attempts.write_text(str(count))
    if count < 3:
        raise RuntimeError(f"transient failure {count}")
    return f"attempt {count}"


@task(secret_requests=[Secret(group="db", key="password"), Secret(group="token")])
def whoami(tag: str) -> str:
    """Reads its secrets through current_context() (variables and files) and names its own execution."""
    ctx = current_context()
    password, token = ctx.secrets.get("db", "password"), ctx.secrets.get("token")
    files = sorted(p.name for p in (Path(ctx.working_directory) / "secrets").rglob("*") if p.is_file())
    ctx.logging.info("running %s", tag)
    return f"{tag}:{ctx.execution_id.project}/{ctx.execution_id.domain}:{password}:{token}:{files}"


shout = ShellTask(
    name="flyte_constructs.shout",
    script="printf '%s-%s!' {inputs.word} {inputs.n} | tr a-z A-Z > {outputs.loud}",
    inputs=kwtypes(word=str, n=int),
    output_locs=[OutputLocation(var="loud", var_type=File, location="{ctx.working_directory}/loud.txt")],
)

analysis_image = ImageSpec(name="flyte-constructs", registry="registry.example", packages=["pandas"])
other_image = ImageSpec(name="other", packages=["numpy"])


@task
def read_text(f: File) -> str:
    return Path(f).read_text()


@task
def make_config(n: int) -> dict:
    return {"n": n, "tags": ("a", "b"), "nested": {"ok": True, "none": None}}


@task
def describe_config(cfg: typing.Dict) -> str:
    return f"{cfg['n'] + 1}:{type(cfg['n']).__name__}:{cfg['tags']}"


@task(container_image=analysis_image)
def where_am_i() -> str:
    return f"{analysis_image.is_container()}:{other_image.is_container()}"


@workflow
def scaled(x: int, factor: int) -> int:
    return scale(x=x, factor=factor)


by_ten = LaunchPlan.get_or_create(scaled, "flyte_constructs.by_ten", fixed_inputs={"factor": 10},
                                  default_inputs={"x": 4})


@workflow
def constructs(box: Box, n: int, marker_dir: str) -> tuple[Box, float, int, int, int, str, str, str, dict, str, str]:
    wide = widen(box=box, by=2.5)
    counted = count_opaque(o=make_opaque(n=n), extra=1)
    first = scale(x=n, factor=2)
    planned = by_ten()
    first >> planned
    retried = flaky(marker_dir=marker_dir).with_overrides(retries=2)
    config = make_config(n=n)
    return (wide, wide.width, counted, by_ten(x=n), planned, retried, whoami(tag="t"),
            read_text(f=shout(word="hi", n=n)), config, describe_config(cfg=config), where_am_i())


@workflow
def branch_to_subworkflow(x: int) -> int:
    big = conditional("size").if_(x > 5).then(scaled(x=x, factor=3)).else_().then(scale(x=x, factor=-1))
    return scale(x=big, factor=2)
