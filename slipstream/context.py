"""`current_context()`: what a running task may ask about its run, as flytekit's `current_context()` —
the execution id, a working directory of its own, a logger, and its secrets.

Secrets (`@task(secret_requests=[Secret(group, key)])`) live in AWS Secrets Manager under
`slipstream/<project>/<domain>/<group>`: a plain string, or a JSON object whose entries are the keys. The pod
entrypoint fetches the task's requested secrets with the project-domain's own task role (which may read only
`slipstream/<project>/<domain>/*`, chalicelib.dispatch.task_roles) and delivers each one both ways flytekit
offers: an environment variable `SLIPSTREAM_SECRET_<GROUP>_<KEY>` and a file `<secrets dir>/<group>/<key>`.
A Kubernetes Secret named like the group, where the cluster has one, is still honoured (the pod's env
references it optionally) and wins. Locally, and in any process, `secrets.get` reads the same variable or file,
so a task reads its secrets the same way wherever it runs.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator
from contextvars import ContextVar
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from chalicelib.errors import SlipstreamError, ValidationError

SECRETS_DIR_ENV = "SLIPSTREAM_SECRETS_DIR"
SECRET_PREFIX = "slipstream"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


class SecretNotFoundError(SlipstreamError):
    """A task asked for a secret it was not given (not requested, or not stored where the pod looks)."""

    code = "SecretNotFound"


def check_secret_name(what: str, name: str) -> None:
    """Group and key names: letters, digits, '_', '.', '-' (no '/', so a group stays inside its project's
    prefix in Secrets Manager and names one file in the secrets directory)."""
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValidationError(f"secret {what} [{name}] must be 1-64 letters, digits, '_', '.' or '-', starting with "
                              "a letter or digit")


def secret_id(project: str, domain: str, group: str) -> str:
    """The Secrets Manager name of a project-domain's secret group."""
    return f"{SECRET_PREFIX}/{project}/{domain}/{group}"


def secret_env_name(group: str, key: str | None = None) -> str:
    """The variable a secret reaches the task in (chalicelib.dispatch.pods names Kubernetes refs the same)."""
    return re.sub(r"[^A-Z0-9_]", "_", f"SLIPSTREAM_SECRET_{group}_{key or group}".upper())


class Secrets:
    """`current_context().secrets`: `get(group, key)` as in flytekit."""

    def __init__(self, directory: Path | None = None) -> None:
        self.directory = directory

    def get(self, group: str, key: str | None = None) -> str:
        env = secret_env_name(group, key)
        if os.environ.get(env) is not None:
            return os.environ[env]
        directory = self.directory or (Path(os.environ[SECRETS_DIR_ENV]) if os.environ.get(SECRETS_DIR_ENV) else None)
        path = directory / group / (key or group) if directory else None
        if path is not None and path.is_file():
            return path.read_text()
        raise SecretNotFoundError(
            f"secret [{group}/{key or group}] is not in environment variable [{env}] nor in file [{path}]; request "
            f"it with @task(secret_requests=[Secret(group={group!r}, key={key!r})]) and store it in AWS Secrets "
            f"Manager as [{secret_id('<project>', '<domain>', group)}]")


@dataclass(frozen=True)
class ExecutionId:
    project: str
    domain: str
    name: str


@dataclass(frozen=True)
class ExecutionContext:
    """What `current_context()` returns while a task runs."""

    execution_id: ExecutionId
    working_directory: str
    secrets: Secrets = field(default_factory=Secrets)
    logging: logging.Logger = field(default_factory=lambda: logging.getLogger("slipstream.task"))
    node_id: str = ""
    attempt: int = 0


_ACTIVE: ContextVar[ExecutionContext | None] = ContextVar("slipstream_context", default=None)


def current_context() -> ExecutionContext:
    """The running task's context; outside a pod, one for this process (execution `local`)."""
    active = _ACTIVE.get()
    if active is not None:
        return active
    execution = os.environ.get("SLIPSTREAM_EXECUTION", "local/development/local").split("/")
    project, domain, name = (execution + ["", "", ""])[:3]
    workdir = os.environ.get("SLIPSTREAM_WORKING_DIRECTORY") or tempfile.gettempdir()
    return ExecutionContext(ExecutionId(project, domain, name), workdir,
                            node_id=os.environ.get("SLIPSTREAM_NODE", ""),
                            attempt=int(os.environ.get("SLIPSTREAM_ATTEMPT") or 0))


@contextlib.contextmanager
def running(context: ExecutionContext) -> Iterator[ExecutionContext]:
    token = _ACTIVE.set(context)
    try:
        yield context
    finally:
        _ACTIVE.reset(token)


def deliver_secrets(requests: list[dict[str, Any]], project: str, domain: str, client: Any, directory: Path) -> None:
    """Fetch each requested secret from Secrets Manager (`client`, the pod's) into its variable and its file.
    A variable set already (a Kubernetes Secret the pod references) is kept."""
    values: dict[str, Any] = {}
    for request in requests:
        group, key = request["group"], request.get("key")
        name = secret_id(project, domain, group)
        if group not in values:
            try:
                values[group] = client.get_secret_value(SecretId=name)["SecretString"]
            except client.exceptions.ResourceNotFoundException:
                raise SecretNotFoundError(f"secret group [{group}] is not in AWS Secrets Manager as [{name}]; create "
                                          f"it with `aws secretsmanager create-secret --name {name} --secret-string "
                                          "...`") from None
        value = _entry(values[group], name, key)
        env = secret_env_name(group, key)
        os.environ.setdefault(env, value)
        path = directory / group / (key or group)
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        path.write_text(os.environ[env])
        path.chmod(0o600)
    os.environ[SECRETS_DIR_ENV] = str(directory)


def _entry(stored: str, name: str, key: str | None) -> str:
    """The whole string (no key, or a plain string), or one entry of a JSON object."""
    if key is None:
        return stored
    try:
        entries = json.loads(stored)
    except ValueError:
        return stored
    if not isinstance(entries, dict):
        return stored
    if key not in entries:
        raise SecretNotFoundError(f"secret [{name}] has no key [{key}]; its keys are {sorted(entries)}")
    return str(entries[key])
