"""Code bundles are verified against their digest before they run: the real entrypoint (`python -m
slipstream.entrypoint`, as a pod runs it) against the sandbox's moto server, answering a real Step Functions
task token. A bundle replaced in the bucket under another bundle's name — what a tenant with write access
to `bundles/` could do to inject code into another project's runs — is refused as a system error naming
both digests, and none of its code runs; the genuine bundle runs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from slipstream.bundle import build_bundle
from tests.conftest import ROOT
from tests.support.task_tokens import waiting_task_token

pytestmark = pytest.mark.integration

GENUINE = '''
from slipstream import task


@task
def greet(name: str) -> str:
    return f"hello {name}"
'''
# The same task, plus code that runs at import: it leaves a mark if it ever runs.
TAMPERED = '''
import os
from pathlib import Path

from slipstream import task

Path(os.environ["TAMPERED_MARK"]).write_text("the injected code ran")


@task
def greet(name: str) -> str:
    return "pwned"
'''


def bundle_of(tmp_path: Path, label: str, source: str) -> tuple[bytes, str]:
    root = tmp_path / label
    root.mkdir()
    (root / "tenant_code.py").write_text(source)
    return build_bundle(root)


@pytest.fixture()
def bucket(sandbox) -> str:
    name = f"bundle-digest-{uuid.uuid4().hex[:8]}"
    sandbox.client("s3").create_bucket(Bucket=name)
    return name


def ended(sandbox, execution: str) -> dict[str, Any]:
    sfn = sandbox.client("stepfunctions")
    for _ in range(200):  # bounded: the answer ends the execution at once
        answer = sfn.describe_execution(executionArn=execution)
        if answer["status"] != "RUNNING":
            return answer
        time.sleep(0.05)
    raise AssertionError(f"execution [{execution}] did not end")


def error_of(sandbox, bucket: str, prefix: str) -> dict[str, Any]:
    """The error.json an attempt wrote next to its outputs (its message is the cause it sent)."""
    return json.loads(sandbox.client("s3").get_object(Bucket=bucket, Key=f"{prefix}/error.json")["Body"].read())


def run_entrypoint(sandbox, tmp_path: Path, bucket: str, bundle_uri: str) -> tuple[subprocess.CompletedProcess[str],
                                                                                 dict[str, Any], str]:
    """Run one attempt of `tenant_code.greet` with the bundle; (the process, the execution's end, the prefix)."""
    s3 = sandbox.client("s3")
    prefix = f"victim/production/x{uuid.uuid4().hex[:8]}/n0/0"
    s3.put_object(Bucket=bucket, Key=f"{prefix}/inputs.json", Body=json.dumps({"name": "ada"}).encode())
    execution, token = waiting_task_token(sandbox.client("sqs"), sandbox.client("stepfunctions"), "bundle-digest")
    work = tmp_path / f"work-{uuid.uuid4().hex[:6]}"
    work.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SLIPSTREAM_", "AWS_"))}
    env.update(AWS_ENDPOINT_URL=sandbox.settings.endpoint_url, AWS_ACCESS_KEY_ID="sandbox",
               AWS_SECRET_ACCESS_KEY="sandbox", AWS_REGION=sandbox.settings.region, SLIPSTREAM_TASK_TOKEN=token,
               SLIPSTREAM_REGION=sandbox.settings.region, SLIPSTREAM_EXECUTION=prefix.rsplit("/", 2)[0],
               SLIPSTREAM_NODE="n0", SLIPSTREAM_ATTEMPT="0", SLIPSTREAM_DATA_BUCKET=bucket,
               TAMPERED_MARK=str(tmp_path / "mark"), PYTHONPATH=str(ROOT), TMPDIR=str(work))
    done = subprocess.run([sys.executable, "-m", "slipstream.entrypoint", "--inputs", f"s3://{bucket}/{prefix}/inputs.json",
                           "--outputs", f"s3://{bucket}/{prefix}/", "--task-module", "tenant_code",
                           "--task-name", "greet", "--bundle", bundle_uri],
                          cwd=work, env=env, capture_output=True, text=True, timeout=300)
    return done, ended(sandbox, execution), prefix


def test_a_bundle_replaced_in_the_bucket_is_refused_before_any_of_it_runs(sandbox, tmp_path, bucket):
    # GIVEN the victim's bundle, registered under its digest, then overwritten by other bytes
    _, digest = bundle_of(tmp_path, "genuine", GENUINE)
    tampered, tampered_digest = bundle_of(tmp_path, "tampered", TAMPERED)
    key = f"bundles/victim/production/{digest}.tar.gz"
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=tampered)
    # WHEN a pod runs a task of it
    done, answer, prefix = run_entrypoint(sandbox, tmp_path, bucket, f"s3://{bucket}/{key}")
    # THEN the task fails as a system error naming the expected and the actual digest
    assert done.returncode == 0, done.stderr  # it reported the failure itself
    assert answer["status"] == "FAILED", answer
    assert answer["error"] == "slipstream.SystemError"  # (moto keeps no cause: the one sent is error.json's)
    error = error_of(sandbox, bucket, prefix)
    assert error["kind"] == "system"
    assert error["message"].startswith("loading the task: BundleDigestError: code bundle [")
    assert f"has sha256 [{tampered_digest}], not the [{digest}] its name promises" in error["message"]
    # AND nothing of the replaced bundle ran, nor was unpacked where a later run would find it
    assert not (tmp_path / "mark").exists()
    assert not list(tmp_path.glob("work-*/slipstream-bundles/*"))


def test_the_genuine_bundle_runs(sandbox, tmp_path, bucket):
    genuine, digest = bundle_of(tmp_path, "genuine", GENUINE)
    key = f"bundles/victim/production/{digest}.tar.gz"
    sandbox.client("s3").put_object(Bucket=bucket, Key=key, Body=genuine)
    done, answer, prefix = run_entrypoint(sandbox, tmp_path, bucket, f"s3://{bucket}/{key}")
    assert done.returncode == 0, done.stderr
    assert answer["status"] == "SUCCEEDED", answer
    outputs = sandbox.client("s3").get_object(Bucket=bucket, Key=f"{prefix.rsplit('/', 1)[0]}/outputs.json")
    assert json.loads(outputs["Body"].read()) == {"o0": "hello ada"}


def test_a_bundle_that_does_not_name_its_digest_is_refused(sandbox, tmp_path, bucket):
    genuine, _ = bundle_of(tmp_path, "genuine", GENUINE)
    sandbox.client("s3").put_object(Bucket=bucket, Key="bundles/victim/production/latest.tar.gz", Body=genuine)
    done, answer, prefix = run_entrypoint(sandbox, tmp_path, bucket,
                                          f"s3://{bucket}/bundles/victim/production/latest.tar.gz")
    assert done.returncode == 0, done.stderr
    assert answer["status"] == "FAILED" and answer["error"] == "slipstream.SystemError"
    assert "does not name its sha256" in error_of(sandbox, bucket, prefix)["message"]
