"""Issue 10, part 3: what Flyte's public examples needed most — ImageSpec, ShellTask with kwtypes, Echo, bare
`dict` outputs, `cache_serialize` — each with the values flytekit 1.16 gives for the same code (written
down here; flytekit is not a dependency), and the bench's change of imports."""

import datetime as dt
import re
import typing
from pathlib import Path

import pytest

from bench.flyte_examples import missing_names, rewrite_imports
from chalicelib.errors import TypeMismatchError, ValidationError
from chalicelib.spec import types as lt
from slipstream import (
    Directory,
    Echo,
    File,
    ImageSpec,
    OutputLocation,
    ShellTask,
    conditional,
    kwtypes,
    task,
    workflow,
)
from slipstream.engine import import_task
from slipstream.serialization import SerializationSettings, serialize
from slipstream.type_engine import literal_type_of, to_json

SETTINGS = SerializationSettings("p", "development", "v1")
TAG = re.compile(r"[a-z2-7]{26}")

# --- ImageSpec ---

pandas_image = ImageSpec(name="pandas", registry="ghcr.io/acme", packages=["pandas==2.2.2"], apt_packages=["git"],
                         env={"DEBUG": "1"})


@task(container_image=pandas_image)
def in_pandas_image(x: int) -> int:
    return x + 1


@workflow
def image_override_wf(x: int) -> int:
    return in_pandas_image(x=x).with_overrides(container_image=pandas_image.with_packages("numpy"))


def test_an_image_spec_names_a_deterministic_image_whose_tag_hashes_the_spec():
    name = pandas_image.image_name()
    repository, tag = name.rsplit(":", 1)
    assert repository == "ghcr.io/acme/pandas" and TAG.fullmatch(tag)
    same = ImageSpec(name="pandas", registry="ghcr.io/acme", packages=["pandas==2.2.2"], apt_packages=["git"],
                     env={"DEBUG": "1"})
    assert same.image_name() == name
    assert pandas_image.with_packages("numpy").image_name() != name
    assert ImageSpec(name="pandas", registry="ghcr.io/acme", packages=["pandas==2.2.3"]).tag != pandas_image.tag
    assert re.fullmatch(r"plain:[a-z2-7]{26}", ImageSpec(name="plain").image_name())  # no registry, as flytekit
    assert ImageSpec(name="x", tag_format="{spec_hash}-dev").tag.endswith("-dev")


def test_a_requirements_file_counts_by_its_contents(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "requirements.txt").write_text("pandas==2.2.2\n")
    first = ImageSpec(name="r", requirements="requirements.txt").tag
    (tmp_path / "requirements.txt").write_text("pandas==2.2.3\n")
    assert ImageSpec(name="r", requirements="requirements.txt").tag != first
    with pytest.raises(ValidationError, match=r"cannot read requirements \[missing.txt\]"):
        _ = ImageSpec(name="r", requirements="missing.txt").tag


def test_a_task_with_an_image_spec_runs_here_and_registers_the_image_uri():
    assert in_pandas_image(x=1) == 2  # locally: the current environment, nothing built
    specs = {s["id"]["name"]: s for s in serialize([image_override_wf], SETTINGS)}
    assert specs[in_pandas_image.name]["container"]["image"] == pandas_image.image_name()
    node = specs["tests.unit.sdk.test_flytekit_images_shell.image_override_wf"]["nodes"][0]
    assert node["overrides"]["container_image"] == pandas_image.with_packages("numpy").image_name()


def test_is_container_is_true_locally_and_in_its_own_pod_only(monkeypatch):
    assert pandas_image.is_container()
    monkeypatch.setenv("SLIPSTREAM_NODE", "n0")  # in a pod (chalicelib.dispatch.pods sets both variables)
    assert not pandas_image.is_container()  # the default image
    monkeypatch.setenv("SLIPSTREAM_TASK_IMAGE", "ghcr.io/acme/other:1")
    assert not pandas_image.is_container()
    monkeypatch.setenv("SLIPSTREAM_TASK_IMAGE", pandas_image.image_name())
    assert pandas_image.is_container()


def test_the_dockerfile_builds_on_slipstreams_task_image_and_runs_the_task_as_uid_1000():
    text = pandas_image.dockerfile()
    assert text.startswith("FROM ghcr.io/slipstream/task:")
    assert "apt-get install -y --no-install-recommends git" in text and 'ENV DEBUG="1"' in text
    assert "RUN pip install --no-cache-dir pandas==2.2.2" in text and text.endswith("USER 1000:1000\n")
    child = ImageSpec(name="child", base_image=pandas_image, commands=["echo hi"])
    assert child.dockerfile().startswith(f"FROM {pandas_image.image_name()}\n")
    with pytest.raises(ValidationError, match=r"task image has Python 3\.11, not \[3\.12\]; name a base_image"):
        ImageSpec(name="py", python_version="3.12").dockerfile()


@pytest.mark.parametrize("fields, message", [
    ({"name": "Pandas Image"}, r"name must be lowercase"),
    ({"name": "p", "registry": "https://ghcr.io/acme/"}, r"registry \[https://ghcr.io/acme/\] must be a host"),
    ({"name": "p", "packages": "pandas"}, r"packages must be a list of strings"),
    ({"name": "p", "tag_format": "dev"}, r"tag_format \[dev\] must contain \{spec_hash\}"),
])
def test_bad_image_specs_are_refused_naming_the_field(fields, message):
    with pytest.raises(ValidationError, match=message):
        ImageSpec(**fields)


def test_container_image_takes_a_reference_or_an_image_spec_only():
    with pytest.raises(ValidationError, match=r"container_image must be an image reference or an ImageSpec"):
        task(container_image=3)(double.fn)  # type: ignore[arg-type]


# --- ShellTask, kwtypes, Echo ---

count_chars = ShellTask(
    name="count_chars",
    script="""
    set -e
    printf '%s-%s' {inputs.word} {inputs.n} > {outputs.copy}
    wc -c < {outputs.copy} | tr -d ' ' > {outputs.count}
    mkdir -p {inputs.folder}/made && cp {outputs.copy} {inputs.folder}/made/
    """,
    inputs=kwtypes(word=str, n=int, folder=Directory),
    output_locs=[OutputLocation(var="copy", var_type=File, location="{inputs.folder}/copy.txt"),
                 OutputLocation(var="count", var_type=File, location="{inputs.folder}/count.txt"),
                 OutputLocation(var="made", var_type=Directory, location="{inputs.folder}/made")],
)

stamp = ShellTask(name="stamp", script="echo {inputs.when} ${{HOME:+home}} > {outputs.o}",
                  inputs=kwtypes(when=dt.datetime), output_locs=[OutputLocation("o", File, "{inputs.when:%Y}.txt")])

failing = ShellTask(name="failing", script="echo broken >&2; exit 3")

echo = Echo(name="echo", inputs={"radius": float})


@task
def read(f: File) -> str:
    return open(f).read()


@task
def double(radius: float) -> float:
    return radius * 2


@workflow
def shell_wf(word: str, folder: Directory) -> tuple[str, str, int]:
    copied, counted, made = count_chars(word=word, n=3, folder=folder)
    return read(f=copied), read(f=counted), len_of(d=made)


@task
def len_of(d: Directory) -> int:
    return len(d.files())


@workflow
def echo_wf(radius: float) -> float:
    return conditional("small").if_(radius < 1.0).then(echo(radius=radius)).else_().then(double(radius=radius))


def test_kwtypes_keeps_names_and_order():
    assert list(kwtypes(b=int, a=File).items()) == [("b", int), ("a", File)]


def test_a_shell_task_fills_in_inputs_and_outputs_and_returns_its_files(tmp_path):
    assert shell_wf(word="hi", folder=Directory(tmp_path)) == ("hi-3", "4\n", 1)  # flytekit: ('hi-3', '4\n', 1)
    result = count_chars(word="ab", n=10, folder=Directory(tmp_path))  # a direct call: a tuple reading `.name`
    assert result.copy == File(f"{tmp_path}/copy.txt") and Path(result.count).read_text() == "5\n"


def test_a_shell_script_keeps_doubled_braces_and_formats_datetimes(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = stamp(when=dt.datetime(2024, 5, 1, 12, 30, tzinfo=dt.UTC))
    # flytekit writes a datetime in ISO 8601 whatever its format spec: 2024-05-01T12:30:00+00:00.txt
    assert out == File("2024-05-01T12:30:00+00:00.txt")
    assert (tmp_path / "2024-05-01T12:30:00+00:00.txt").read_text() == "2024-05-01T12:30:00+00:00 home\n"


def test_a_failing_script_fails_the_task_with_its_exit_code_and_stderr():
    with pytest.raises(RuntimeError, match=r"ShellTask \[failing\]: the script exited with code 3: broken"):
        failing()


def test_a_shell_task_is_a_python_task_its_pod_finds_by_its_variable(tmp_path):
    spec = next(s for s in serialize([shell_wf], SETTINGS) if s["id"]["name"] == "count_chars")
    assert spec["task_type"] == "python"
    assert spec["function"] == {"module": "tests.unit.sdk.test_flytekit_images_shell", "name": "count_chars"}
    assert [v["name"] for v in spec["interface"]["outputs"]] == ["copy", "count", "made"]
    assert import_task(spec) is count_chars
    outputs = import_task(spec).execute({"word": "x", "n": 1, "folder": {"uri": str(tmp_path)}})
    assert outputs["copy"] == {"uri": f"{tmp_path}/copy.txt"} and (tmp_path / "copy.txt").read_text() == "x-1"


def test_a_shell_task_not_held_by_a_module_variable_cannot_be_registered():
    loose = ShellTask(name="loose", script="true")
    with pytest.raises(ValidationError, match=r"ShellTask \[loose\]: assign it to a module-level variable"):
        loose.to_spec(SETTINGS)


@pytest.mark.parametrize("kwargs, message", [
    ({}, r"give either script=\.\.\. or script_file=\.\.\."),
    ({"script": "x", "output_locs": [OutputLocation("n", int, "n.txt")]}, r"output \[n\] must be a File or a Dir"),
    ({"script": "x", "inputs": {"a b": int}}, r"input name \['a b'\] must be a Python identifier"),
    ({"script": "x", "task_config": object()}, r"task_config is not supported"),
])
def test_bad_shell_tasks_are_refused(kwargs, message):
    with pytest.raises(ValidationError, match=message):
        ShellTask(name="bad", **kwargs)


def test_echo_passes_its_input_through_a_conditional_branch():
    assert echo_wf(radius=0.5) == 0.5 and echo_wf(radius=2.0) == 4.0  # flytekit 1.16.31: 0.5 4.0


# --- bare dict: flytekit 1.16 carries it as msgpack of plain values (ints stay ints, tuples become lists) ---


@task
def make_config(n: int) -> dict:
    return {"n": n, "ratio": 0.5, "tags": ("a", "b"), "nested": {"ok": True, "none": None}}


@task
def read_config(cfg: typing.Dict) -> str:
    return f"{cfg['n'] + 1}:{type(cfg['n']).__name__}:{cfg['tags']}:{cfg['nested']}"


@workflow
def dict_wf(n: int) -> tuple[dict, str]:
    cfg = make_config(n=n)
    return cfg, read_config(cfg=cfg)


def test_a_bare_dict_travels_as_a_json_object_with_flytekits_values():
    cfg, text = dict_wf(n=2)
    assert cfg == {"n": 2, "ratio": 0.5, "tags": ["a", "b"], "nested": {"ok": True, "none": None}}
    assert text == "3:int:['a', 'b']:{'ok': True, 'none': None}"  # flytekit 1.16.31 gives the same two
    assert literal_type_of(dict) == literal_type_of(typing.Dict) == {"simple": "struct"}
    assert literal_type_of(typing.Optional[dict]) == {"optional": {"simple": "struct"}}
    lt.check_type({"simple": "struct"})
    lt.validate_value({"simple": "struct"}, {"a": [1]})
    with pytest.raises(TypeMismatchError, match=r"expected dict, got \[1\]"):
        lt.validate_value({"simple": "struct"}, [1])


@pytest.mark.parametrize("value, message", [
    ({1: "a"}, r"an untyped dict's keys must be strings"),
    ({"when": dt.date(2024, 1, 1)}, r"holds JSON values .*, not date"),
    ({"x": float("nan")}, r"expected dict"),
    ([1], r"expected dict, got \[1\]"),
])
def test_values_a_bare_dict_cannot_carry_are_refused(value, message):
    with pytest.raises(TypeMismatchError, match=message):
        to_json(value, dict, "output [o0]")


# --- cache_serialize ---


def test_cache_serialize_is_accepted_with_cache_and_changes_nothing_in_the_spec():
    @task(cache=True, cache_serialize=True, cache_version="1.0")
    def square(n: int) -> int:
        return n * n

    assert square(n=4) == 16 and square.cache_serialize
    assert square.to_spec(SETTINGS)["metadata"]["cache"] is True
    assert "cache_serialize" not in square.to_spec(SETTINGS)["metadata"]
    with pytest.raises(ValidationError, match=r"cache_serialize=True needs cache=True"):
        task(cache_serialize=True)(square.fn)


# --- the bench's change of imports ---


def test_the_bench_imports_names_of_flytekit_submodules_from_slipstream_where_it_exports_them():
    source = ("from flytekit.extras.tasks.shell import OutputLocation, ShellTask\n"
              "from flytekit.core.base_task import PythonTask, TaskMetadata\n"
              "from flytekit.types.file import FlyteFile as F\n")
    assert rewrite_imports(source).splitlines() == [
        "from slipstream import OutputLocation, ShellTask",
        "from slipstream import PythonTask; from slipstream.core.base_task import TaskMetadata",
        "from slipstream import File as F",
    ]
    import ast

    assert missing_names(ast.parse(source)) == ["TaskMetadata"]
