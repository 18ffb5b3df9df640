"""ImageSpec: a task's container image described by what goes into it, as flytekit's `ImageSpec`.

    pandas_image = ImageSpec(name="pandas", registry="ghcr.io/acme", packages=["pandas==2.2.2"])

    @task(container_image=pandas_image)
    def summarize(...) -> ...: ...

The spec resolves to a deterministic image URI, `<registry>/<name>:<tag>` (`<name>:<tag>` without a registry),
whose tag is a hash of every field that changes the image's contents (a requirements file and a source root
by their contents) — flytekit's scheme: the same spec names the same image everywhere, and any change to it
names a new one. That URI is the task's container image in its registered spec, so its pods run there.

Locally tasks run in the current environment, whatever their image. slipstream builds no images (the control
plane runs no Docker): build and push the image before running remotely, from the Dockerfile the spec renders,

    python -c "import wf; print(wf.pandas_image.dockerfile())" > Dockerfile
    docker build -t "$(python -c 'import wf; print(wf.pandas_image.image_name())')" . && docker push …

which starts `FROM` the base image (by default slipstream's task image, infra/image/Dockerfile, which holds
slipstream itself; a base image of your own must have slipstream installed for the pod's entrypoint).
"""

from __future__ import annotations

import base64
import dataclasses
import hashlib
import json
import os
import re
import shlex
from pathlib import Path
from typing import Any

from chalicelib.errors import ValidationError

DEFAULT_BASE_IMAGE = "ghcr.io/slipstream/task"  # + ":<slipstream's version>"; Python 3.11
_BASE_PYTHON = "3.11"
_COMPONENT = re.compile(r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*")
_REGISTRY = re.compile(r"[A-Za-z0-9.-]+(?::[0-9]+)?(?:/[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*)*")
_TAG = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.-]{0,127}")
_NOT_HASHED = ("builder", "registry_config", "builder_options", "builder_config")  # how to build, not what is built


@dataclasses.dataclass
class ImageSpec:
    """A container image by its contents (flytekit's constructor fields). `image_name()` is the URI a task
    with `container_image=<this spec>` runs in remotely; locally nothing is built or pulled. Build it with
    `docker build` from `dockerfile()` (see the module docstring): slipstream has no image builder."""

    name: str = "slipstream"
    python_version: str | None = None
    builder: str | None = None
    source_root: str | None = None
    env: dict[str, str] | None = None
    registry: str | None = None
    packages: list[str] | None = None
    conda_packages: list[str] | None = None
    conda_channels: list[str] | None = None
    requirements: str | None = None
    apt_packages: list[str] | None = None
    cuda: str | None = None
    cudnn: str | None = None
    base_image: str | ImageSpec | None = None
    platform: str = "linux/amd64"
    pip_index: str | None = None
    pip_extra_index_url: list[str] | None = None
    pip_secret_mounts: list[tuple[str, str]] | None = None
    pip_extra_args: str | None = None
    registry_config: str | None = None
    entrypoint: list[str] | None = None
    commands: list[str] | None = None
    tag_format: str | None = None
    source_copy_mode: Any = None
    copy: list[str] | None = None
    python_exec: str | None = None
    runtime_packages: list[str] | None = None  # flytekit installs these when the task starts; here, in the image
    builder_options: dict[str, Any] | None = None
    builder_config: dict[str, Any] | None = None

    def __post_init__(self) -> None:
        where = f"ImageSpec [{self.name}]"
        if not isinstance(self.name, str) or not _COMPONENT.fullmatch(self.name):
            raise ValidationError(f"{where}: name must be lowercase letters, digits and . _ - (a Docker repository "
                                  "name), e.g. name=\"pandas-image\"")
        if self.registry is not None and not _REGISTRY.fullmatch(self.registry):
            raise ValidationError(f"{where}: registry [{self.registry}] must be a host and path without a scheme "
                                  "or a trailing slash, e.g. ghcr.io/acme")
        for field in ("packages", "apt_packages", "conda_packages", "conda_channels", "commands", "copy",
                      "pip_extra_index_url", "entrypoint", "runtime_packages"):
            value = getattr(self, field)
            if value is not None and (isinstance(value, str) or not all(isinstance(v, str) for v in value)):
                raise ValidationError(f"{where}: {field} must be a list of strings, e.g. {field}=[\"...\"]")
        if self.env is not None and not all(isinstance(k, str) and isinstance(v, str) for k, v in self.env.items()):
            raise ValidationError(f"{where}: env must map strings to strings")
        if self.base_image is not None and not isinstance(self.base_image, (str, ImageSpec)):
            raise ValidationError(f"{where}: base_image must be an image reference or another ImageSpec")
        if self.tag_format is not None and "{spec_hash}" not in self.tag_format:
            raise ValidationError(f"{where}: tag_format [{self.tag_format}] must contain {{spec_hash}}")

    @property
    def tag(self) -> str:
        """A hash of the spec: 26 characters of base32 of a SHA-256, lower case (always a valid Docker tag)."""
        digest = hashlib.sha256(json.dumps(self._hashed_fields(), sort_keys=True, default=str).encode()).digest()
        spec_hash = base64.b32encode(digest[:16]).decode().rstrip("=").lower()
        tag = self.tag_format.format(spec_hash=spec_hash) if self.tag_format else spec_hash
        if not _TAG.fullmatch(tag):
            raise ValidationError(f"ImageSpec [{self.name}]: tag [{tag}] from tag_format is not a valid image tag")
        return tag

    def image_name(self) -> str:
        """The image's URI: `<registry>/<name>:<tag>`, or `<name>:<tag>` without a registry."""
        repository = f"{self.registry}/{self.name}" if self.registry else self.name
        return f"{repository}:{self.tag}"

    def is_container(self) -> bool:
        """True inside a pod running this image, and outside pods (local runs run every task here); False in
        a pod of another image or of the default one: guard imports only this image has with it, as in
        flytekit. A pod knows its node (SLIPSTREAM_NODE) and, when its task names one, its image."""
        if "SLIPSTREAM_NODE" not in os.environ:
            return True
        return os.environ.get("SLIPSTREAM_TASK_IMAGE") == self.image_name()

    def exist(self) -> bool | None:
        """Whether the image is in its registry: None, unknown (slipstream does not query registries)."""
        return None

    def with_packages(self, packages: str | list[str]) -> ImageSpec:
        return self._with("packages", packages)

    def with_apt_packages(self, apt_packages: str | list[str]) -> ImageSpec:
        return self._with("apt_packages", apt_packages)

    def with_commands(self, commands: str | list[str]) -> ImageSpec:
        return self._with("commands", commands)

    def force_push(self) -> ImageSpec:
        return self

    def _with(self, field: str, more: str | list[str]) -> ImageSpec:
        added = [more] if isinstance(more, str) else list(more)
        changes: dict[str, Any] = {field: [*(getattr(self, field) or []), *added]}
        return dataclasses.replace(self, **changes)

    def _hashed_fields(self) -> dict[str, Any]:
        fields = {f.name: getattr(self, f.name) for f in dataclasses.fields(self) if f.name not in _NOT_HASHED}
        if isinstance(self.base_image, ImageSpec):
            fields["base_image"] = self.base_image.image_name()
        if self.requirements:
            fields["requirements"] = _file_digest(Path(self.requirements), "requirements")
        if self.source_root:
            fields["source_root"] = _tree_digest(Path(self.source_root))
        return fields

    def dockerfile(self) -> str:
        """A Dockerfile that builds this image (`docker build -t <image_name()> .` beside it): the base image,
        then apt packages, env, pip packages and requirements, copied files and commands, as root; the task
        then runs as uid 1000, as slipstream's pods require."""
        if self.conda_packages or self.cuda or self.cudnn:
            raise ValidationError(f"ImageSpec [{self.name}]: conda packages and CUDA need a base image that has "
                                  "them; name it with base_image=... and leave these fields out")
        lines = [f"FROM {self._base()}", "USER root"]
        if self.apt_packages:
            lines.append("RUN apt-get update && apt-get install -y --no-install-recommends "
                         f"{_quoted(self.apt_packages)} && rm -rf /var/lib/apt/lists/*")
        if self.env:
            lines.append("ENV " + " ".join(f"{k}={json.dumps(v)}" for k, v in sorted(self.env.items())))
        pip = "pip install --no-cache-dir" + self._pip_options()
        if self.requirements:
            lines += [f"COPY {self.requirements} /tmp/requirements.txt", f"RUN {pip} -r /tmp/requirements.txt"]
        if self.packages or self.runtime_packages:
            lines.append(f"RUN {pip} {_quoted([*(self.packages or []), *(self.runtime_packages or [])])}")
        lines += [f"COPY {path} /home/task/{path}" for path in self.copy or []]
        lines += [f"RUN {command}" for command in self.commands or []]
        lines += ["WORKDIR /home/task", "USER 1000:1000"]
        if self.entrypoint:
            lines.append(f"ENTRYPOINT {json.dumps(self.entrypoint)}")
        return "\n".join(lines) + "\n"

    def _base(self) -> str:
        if isinstance(self.base_image, ImageSpec):
            return self.base_image.image_name()
        if self.base_image:
            return self.base_image
        if self.python_version and self.python_version != _BASE_PYTHON:
            raise ValidationError(f"ImageSpec [{self.name}]: slipstream's task image has Python {_BASE_PYTHON}, not "
                                  f"[{self.python_version}]; name a base_image with that Python and slipstream")
        from slipstream import __version__

        return f"{DEFAULT_BASE_IMAGE}:{__version__}"

    def _pip_options(self) -> str:
        options = f" --index-url {shlex.quote(self.pip_index)}" if self.pip_index else ""
        options += "".join(f" --extra-index-url {shlex.quote(u)}" for u in self.pip_extra_index_url or [])
        return options + (f" {self.pip_extra_args}" if self.pip_extra_args else "")


def image_uri(owner: str, image: str | ImageSpec | None) -> str | None:
    """A task's `container_image` as the URI its spec records: an ImageSpec by its image_name()."""
    if image is None or isinstance(image, str):
        return image
    if isinstance(image, ImageSpec):
        return image.image_name()
    raise ValidationError(f"{owner}: container_image must be an image reference or an ImageSpec, not {image!r}")


def _quoted(items: list[str]) -> str:
    return " ".join(shlex.quote(i) for i in items)


def _file_digest(path: Path, what: str) -> str:
    try:
        return hashlib.sha256(path.read_bytes().strip()).hexdigest()
    except OSError as exc:
        raise ValidationError(f"ImageSpec: cannot read {what} [{path}] ({exc.strerror}); give an existing "
                              "file, relative to the current folder") from exc


def _tree_digest(root: Path) -> str:
    if not root.is_dir():
        raise ValidationError(f"ImageSpec: source_root [{root}] is not a folder")
    digest = hashlib.sha256()
    for path in sorted(p for p in root.rglob("*") if p.is_file() and "__pycache__" not in p.parts):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()
