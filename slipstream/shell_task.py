"""ShellTask: a task whose body is a shell script, as flytekit's `flytekit.extras.tasks.shell.ShellTask`.

    t = ShellTask(name="count", script="wc -m < {inputs.x} > {outputs.n}", inputs=kwtypes(x=File),
                  output_locs=[OutputLocation(var="n", var_type=File, location="count.txt")])

The script is a Python format string: `{inputs.x}` is an input's value (a File or Directory by its local
path, a datetime in ISO 8601), `{outputs.n}` an output's location, `{ctx.working_directory}` the task's
context. Output locations are format strings of the inputs too (`"{inputs.y}.tar.gz"`). The script runs with
`shell` (flytekit's default, /bin/sh); a non-zero exit fails the task with the script's stderr. Outputs are
the files or folders at their locations after the script ran.

To the control plane a ShellTask is an ordinary Python task (slipstream.instance_task): its pod runs the
script, the control plane never does. Locally it runs in the current process's environment.
"""

from __future__ import annotations

import datetime as dt
import os
import string
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chalicelib.errors import ValidationError
from slipstream.files import Directory, File
from slipstream.instance_task import InstanceTask, caller_module


@dataclass(frozen=True)
class OutputLocation:
    """An output of a ShellTask: its name, File or Directory (or a subclass), and where the script leaves it."""

    var: str
    var_type: type
    location: str | os.PathLike[str]


class _Namespace:
    """`inputs.x` in a format string: the values as attributes (so `{outputs.copy}` is an output, not a
    method), with the missing name in the error."""

    def __init__(self, values: dict[str, Any]) -> None:
        self.__dict__.update(values)

    def __getattr__(self, name: str) -> Any:
        raise ValidationError(f"the script names [{name}], which is not among {sorted(self.__dict__)}")


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, (File, Directory)):
            return value.path
        if isinstance(value, dt.datetime):
            return value.isoformat()
        return super().format_field(value, format_spec)


def interpolate(template: str, inputs: dict[str, Any], outputs: dict[str, Any] | None = None) -> str:
    """`template` with `{inputs.x}`, `{outputs.y}` and `{ctx.…}` filled in (doubled braces stay literal)."""
    from slipstream.context import current_context

    try:
        return _Formatter().format(template, inputs=_Namespace(inputs), outputs=_Namespace(outputs or {}),
                                   ctx=current_context())
    except (KeyError, IndexError) as exc:
        raise ValidationError(f"cannot fill in [{exc}]: a script names inputs as {{inputs.x}}, outputs as "
                              "{outputs.y}; write a literal brace as {{ or }}") from None


class ShellTask(InstanceTask):
    """A task that runs a shell script (module docstring). Takes @task's options as keywords (retries,
    requests, container_image, …); `task_config` (a flytekitplugins Pod config) is not supported."""

    def __init__(
        self,
        name: str,
        debug: bool = False,
        script: str | None = None,
        script_file: str | None = None,
        task_config: Any = None,
        shell: str = "/bin/sh",
        inputs: dict[str, Any] | None = None,
        output_locs: list[OutputLocation] | None = None,
        **options: Any,
    ) -> None:
        where = f"ShellTask [{name}]"
        if (script is None) == (script_file is None):
            raise ValidationError(f"{where}: give either script=... or script_file=..., not both or neither")
        if script_file is not None and not Path(script_file).is_file():
            raise ValidationError(f"{where}: script_file [{script_file}] does not exist")
        if task_config is not None:
            raise ValidationError(f"{where}: task_config is not supported; use requests=/limits= for resources")
        for loc in output_locs or []:
            if not isinstance(loc, OutputLocation):
                raise ValidationError(f"{where}: output_locs takes OutputLocation(var=, var_type=, location=)")
            if not (isinstance(loc.var_type, type) and issubclass(loc.var_type, (File, Directory))):
                raise ValidationError(f"{where}: output [{loc.var}] must be a File or a Directory (the script "
                                      f"leaves it at its location), not {loc.var_type!r}")
        self.debug, self.shell = debug, shell
        self.script, self.script_file = script, os.path.abspath(script_file) if script_file else None
        self.output_locs = list(output_locs or [])
        super().__init__(name, inputs, {loc.var: loc.var_type for loc in self.output_locs}, caller_module(),
                         **options)

    def execute_instance(self, inputs: dict[str, Any]) -> Any:
        return self.run_script(inputs)

    def run_script(self, inputs: dict[str, Any]) -> Any:
        """Fill in the script, run it, and return the outputs found at their locations."""
        where = f"ShellTask [{self.instance_name}]"
        locations = {loc.var: interpolate(os.fspath(loc.location), inputs) for loc in self.output_locs}
        values = dict(inputs)
        if isinstance(values.get("env"), dict):  # flytekit's portable shell task: `{inputs.export_env}`
            values["export_env"] = "\n".join(f"export {k}={v}" for k, v in values["env"].items())
        template = Path(self.script_file).read_text() if self.script_file else str(self.script)
        script = interpolate(template, values, locations)
        if self.debug:
            print(f"\n{'=' * 46}\n{script}\n{'=' * 46}\n")
        done = subprocess.run(script, shell=True, executable=self.shell, capture_output=True, text=True,
                              check=False)
        sys.stdout.write(done.stdout)
        sys.stderr.write(done.stderr)
        if done.returncode != 0:
            tail = done.stderr.strip()[-2000:] or "(no stderr)"
            raise RuntimeError(f"{where}: the script exited with code {done.returncode}: {tail}")
        found = [loc.var_type(locations[loc.var]) for loc in self.output_locs]
        if not found:
            return None
        return found[0] if len(found) == 1 else tuple(found)
