"""The default task image, built as far as a machine without Docker can: the build context that
infra/image/Dockerfile.dockerignore admits, installed with the Dockerfile's own `pip install` line into a
fresh venv (no system site-packages), then one task attempt run there as a pod runs it:
`python -m slipstream.entrypoint` against moto's server, answering a real Step Functions task token.

It proves that the `task` extra suffices at run time (the bundle overlay, S3 downloads and uploads through
s3transfer, SendTaskSuccess), which tests/unit/test_task_extra.py checks at import time.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

import boto3
import pytest

from slipstream.bundle import build_bundle
from tests.conftest import EXAMPLES
from tests.support.dockerfile import copy_context, instructions, shell_commands
from tests.support.task_tokens import waiting_task_token

pytestmark = pytest.mark.integration

REGION = "us-east-1"
BUCKET = "task-image-data"
# what the extra must not bring: the control plane's and the sandbox's distributions
CONTROL_PLANE = {"kubernetes", "pynamodb", "chalice", "moto", "jsonschema", "aws-lambda-powertools", "croniter"}


def _clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if k not in ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME") and not k.startswith(("SLIPSTREAM_", "AWS_"))}
    return {**env, **extra}


@pytest.fixture(scope="module")
def task_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A venv holding what the image's install line installs from the image's build context. The venv gets no
    pip of its own (ensurepip costs seconds): this process's pip installs into it with `--python`, which runs
    the install under the venv's interpreter, as the image's pip runs under the image's."""
    root = tmp_path_factory.mktemp("task-image")
    context = root / "src"
    copy_context(context)
    (install,) = [argv for run in instructions() if run.keyword == "RUN" for argv in shell_commands(run)
                  if argv[:2] == ["pip", "install"]]
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True, timeout=120)
    done = subprocess.run([sys.executable, "-m", "pip", "--python", str(venv / "bin" / "python"), *install[1:]],
                          cwd=context, env=_clean_env(), capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"{install} failed in the image's context:\n{done.stdout}\n{done.stderr}"
    return venv


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="module")
def moto_endpoint():
    """moto's server in a process of its own (its Step Functions interpreter reads MOTO_PORT from its own
    environment, which must not be this process's: the session's sandbox sets it here)."""
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
                              env=_clean_env(MOTO_PORT=str(port)), stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL)
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # bounded: up to a minute for the server to answer
            try:
                urllib.request.urlopen(f"{endpoint}/moto-api/data.json", timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        config = urllib.request.Request(f"{endpoint}/moto-api/config", method="POST",
                                        data=json.dumps({"stepfunctions": {"execute_state_machine": True}}).encode(),
                                        headers={"Content-Type": "application/json"})
        urllib.request.urlopen(config, timeout=10).close()
        yield endpoint
    finally:
        server.terminate()
        server.wait(timeout=30)


def _client(endpoint: str, service: str) -> Any:
    return boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                 region_name=REGION).client(service, endpoint_url=endpoint)


def test_only_the_task_extra_is_installed(task_venv):
    listed = subprocess.run([str(task_venv / "bin" / "python"), "-c", "import importlib.metadata as m, json; "
                             "print(json.dumps([d.metadata['Name'] for d in m.distributions()]))"],
                            capture_output=True, text=True, check=True, env=_clean_env(), cwd=task_venv).stdout
    installed = {name.lower() for name in json.loads(listed)}
    assert {"slipstream", "boto3", "botocore", "s3transfer"} <= installed
    assert not installed & CONTROL_PLANE
    where = subprocess.run([str(task_venv / "bin" / "python"), "-c", "import slipstream; print(slipstream.__file__)"],
                           capture_output=True, text=True, check=True, env=_clean_env(), cwd=task_venv).stdout
    assert "site-packages" in where, "the venv must run the installed package, not the checkout"


def test_a_task_runs_through_the_entrypoint_in_the_task_venv(task_venv, moto_endpoint, tmp_path):
    s3, sfn = _client(moto_endpoint, "s3"), _client(moto_endpoint, "stepfunctions")
    s3.create_bucket(Bucket=BUCKET)
    bundle, digest = build_bundle(EXAMPLES)
    s3.put_object(Bucket=BUCKET, Key=f"bundles/{digest}.tar.gz", Body=bundle)
    s3.put_object(Bucket=BUCKET, Key="uploads/lines.txt", Body="".join(f"line {i}\n" for i in range(5)).encode())
    s3.put_object(Bucket=BUCKET, Key="p/d/x1/n0/0/inputs.json",
                  Body=json.dumps({"f": {"uri": f"s3://{BUCKET}/uploads/lines.txt"}, "parts": 2}).encode())
    execution, token = waiting_task_token(_client(moto_endpoint, "sqs"), sfn, "task-image")

    command = [str(task_venv / "bin" / "python"), "-m", "slipstream.entrypoint",
               "--inputs", f"s3://{BUCKET}/p/d/x1/n0/0/inputs.json", "--outputs", f"s3://{BUCKET}/p/d/x1/n0/0/",
               "--task-module", "files", "--task-name", "split", "--bundle", f"s3://{BUCKET}/bundles/{digest}.tar.gz"]
    env = _clean_env(AWS_ENDPOINT_URL=moto_endpoint, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
                     AWS_REGION=REGION, AWS_DEFAULT_REGION=REGION, SLIPSTREAM_TASK_TOKEN=token,
                     SLIPSTREAM_REGION=REGION, SLIPSTREAM_EXECUTION="p/d/x1", SLIPSTREAM_NODE="n0",
                     SLIPSTREAM_ATTEMPT="0", SLIPSTREAM_DATA_BUCKET=BUCKET, HOME=str(tmp_path))
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"the entrypoint failed:\n{done.stdout}\n{done.stderr}"

    answer = sfn.describe_execution(executionArn=execution)
    for _ in range(100):  # bounded: SendTaskSuccess ends the execution at once
        if answer["status"] != "RUNNING":
            break
        time.sleep(0.1)
        answer = sfn.describe_execution(executionArn=execution)
    assert answer["status"] == "SUCCEEDED", answer
    result = json.loads(answer["output"])
    assert result["outputs"] == "p/d/x1/n0/outputs.json"  # a key of the data bucket, as the dispatcher reads it
    outputs = json.loads(s3.get_object(Bucket=BUCKET, Key="p/d/x1/n0/outputs.json")["Body"].read())
    directory = outputs["o0"]["uri"]
    assert directory.startswith(f"s3://{BUCKET}/p/d/x1/n0/0/blobs/")
    prefix = directory.removeprefix(f"s3://{BUCKET}/")
    parts = {o["Key"].rsplit("/", 1)[1]: s3.get_object(Bucket=BUCKET, Key=o["Key"])["Body"].read().decode()
             for o in s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix + "/")["Contents"]}
    assert parts == {"part-0.txt": "line 0\nline 2\nline 4\n", "part-1.txt": "line 1\nline 3\n"}
