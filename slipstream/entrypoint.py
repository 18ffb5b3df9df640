"""`python -m slipstream.entrypoint`: what every task pod runs (and every sandbox task process).

Overlay the code bundle, read the inputs from S3, run the task, write the outputs to S3 (files and
directories uploaded once, passed on as URIs), heartbeat while it runs, and answer the task token:
success with the outputs' location, or failure classed as a user error (the task raised) or a system
error (anything around it). The traceback tail and the task's output are kept next to its outputs.

A batch of map items (`map_task(..., batch_size=n)`: inputs `{"$batch": {"first": i, "items": [...]}}`) runs
its items one after another in this one process and writes one results object for the batch (`run_batch`),
which the gather reads (chalicelib.dispatch.gather); a failed item does not stop the batch, and the token is
answered once, for the batch.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import hashlib
import io
import json
import os
import sys
import tempfile
import threading
import traceback
from pathlib import Path
from typing import Any

USER_ERROR = "slipstream.UserError"
SYSTEM_ERROR = "slipstream.SystemError"
TIMEOUT_ERROR = "slipstream.Timeout"
TIMED_OUT_EXIT = 4


class BundleDigestError(ValueError):
    """A code bundle whose bytes are not the ones its name promises (bundles/<project>/<domain>/<sha256>.tar.gz):
    another hand replaced it in the bucket. Refused before anything in it is unpacked or imported."""


def _bundle_digest(uri: str) -> str:
    """The sha256 a bundle URI names (its file name `<64 hex digits>.tar.gz`, as registration uploads it)."""
    name = uri.rsplit("/", 1)[-1]
    digest = name.removesuffix(".tar.gz")
    if name == digest or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise BundleDigestError(f"code bundle [{uri}] does not name its sha256 (…/<64 hex digits>.tar.gz), so it "
                                "cannot be verified before it runs; register the code again to upload it by digest")
    return digest


def _split(uri: str) -> tuple[str, str]:
    if not uri.startswith("s3://"):
        raise ValueError(f"[{uri}] is not an s3:// URI")
    bucket, _, key = uri[5:].partition("/")
    return bucket, key


class _Tee(io.TextIOBase):
    def __init__(self, *streams: Any) -> None:
        self.streams = streams

    def write(self, text: str) -> int:
        for stream in self.streams:
            stream.write(text)
            stream.flush()
        return len(text)


class Entrypoint:
    def __init__(self, args: argparse.Namespace) -> None:
        import boto3

        self.args = args
        self.token = os.environ["SLIPSTREAM_TASK_TOKEN"]
        region = os.environ.get("SLIPSTREAM_REGION") or os.environ.get("AWS_REGION") or "us-east-1"
        session = boto3.session.Session(region_name=region)
        self.s3 = session.client("s3")
        self.sfn = session.client("stepfunctions")
        self.bucket, self.prefix = _split(args.outputs)
        self.prefix = self.prefix.rstrip("/")
        self.log = io.StringIO()
        self.workdir = Path(tempfile.mkdtemp(prefix="slipstream-task-"))

    # S3

    def put_json(self, key: str, obj: Any) -> None:
        self.s3.put_object(Bucket=self.bucket, Key=key, Body=json.dumps(obj).encode(), ContentType="application/json")

    def get_json(self, uri: str) -> Any:
        bucket, key = _split(uri)
        return json.loads(self.s3.get_object(Bucket=bucket, Key=key)["Body"].read())

    def overlay_bundle(self) -> None:
        if not self.args.bundle:
            return
        from slipstream.bundle import extract_bundle

        bucket, key = _split(self.args.bundle)
        expected = _bundle_digest(self.args.bundle)
        target = Path(tempfile.gettempdir()) / "slipstream-bundles" / expected  # only verified bundles land here
        if not target.exists():
            data = self.s3.get_object(Bucket=bucket, Key=key)["Body"].read()
            actual = hashlib.sha256(data).hexdigest()
            if actual != expected:
                raise BundleDigestError(f"code bundle [{self.args.bundle}] has sha256 [{actual}], not the [{expected}] "
                                        "its name promises: it changed after it was uploaded, and none of it ran. "
                                        "Delete that object, then register again to upload the bundle anew")
            target.parent.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix="bundle-"))
            extract_bundle(data, staging)
            with contextlib.suppress(OSError):
                staging.rename(target)
        sys.path.insert(0, str(target if target.exists() else staging))

    def download_blob(self, kind: str, blob: dict[str, Any]) -> dict[str, Any]:
        uri = blob["uri"]
        if not uri.startswith("s3://"):
            return blob
        bucket, key = _split(uri)
        local = self.workdir / "inputs" / hashlib.sha256(uri.encode()).hexdigest()[:16]
        if kind == "file":
            local.mkdir(parents=True, exist_ok=True)
            path = local / Path(key).name
            self.s3.download_file(bucket, key, str(path))
            return {"uri": str(path)}
        paginator = self.s3.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=bucket, Prefix=key.rstrip("/") + "/"):
            for item in page.get("Contents", []):
                target = local / item["Key"][len(key.rstrip("/")) + 1:]
                target.parent.mkdir(parents=True, exist_ok=True)
                self.s3.download_file(bucket, item["Key"], str(target))
        local.mkdir(parents=True, exist_ok=True)
        return {"uri": str(local)}

    def upload_blob(self, kind: str, blob: dict[str, Any]) -> dict[str, Any]:
        uri = blob["uri"]
        if "://" in uri and not uri.startswith("file://"):
            return blob
        path = Path(uri.removeprefix("file://"))
        key = f"{self.prefix}/blobs/{hashlib.sha256(str(path).encode()).hexdigest()[:16]}/{path.name}"
        if kind == "file":
            self.s3.upload_file(str(path), self.bucket, key)
            return {"uri": f"s3://{self.bucket}/{key}"}
        for file in sorted(p for p in path.rglob("*") if p.is_file()):
            self.s3.upload_file(str(file), self.bucket, f"{key}/{file.relative_to(path).as_posix()}")
        return {"uri": f"s3://{self.bucket}/{key}"}

    # heartbeats

    def heartbeat(self, stop: threading.Event) -> None:
        interval = float(os.environ.get("SLIPSTREAM_HEARTBEAT_SECONDS", "20"))
        while not stop.wait(interval):
            try:
                self.sfn.send_task_heartbeat(taskToken=self.token)
            except Exception as exc:  # the token ended: the execution stopped or timed out; stop working
                print(f"slipstream: heartbeat refused ({exc}); stopping", file=sys.__stderr__)
                os._exit(3)

    def time_out(self, seconds: float) -> None:
        """The task's own clock, started with the task: a pod that waited to be scheduled lost no time."""
        message = f"task [{self.args.task_module}.{self.args.task_name}] exceeded its timeout of {seconds:g}s"
        print(f"slipstream: {message}", file=sys.__stderr__)
        with contextlib.suppress(Exception):
            self.put_json(f"{self.prefix}/error.json", {"kind": "timeout", "message": message, "traceback": "",
                                                        "ended": dt.datetime.now(dt.UTC).isoformat()})
            self.sfn.send_task_failure(taskToken=self.token, error=TIMEOUT_ERROR,
                                       cause=json.dumps({"message": message, "kind": "timeout"}))
        self.save_logs()
        os._exit(TIMED_OUT_EXIT)

    # the run

    def run(self) -> int:
        started = dt.datetime.now(dt.UTC)
        stop = threading.Event()
        threading.Thread(target=self.heartbeat, args=(stop,), daemon=True).start()
        timeout = float(os.environ.get("SLIPSTREAM_TASK_TIMEOUT_SECONDS") or 0)
        timer = threading.Timer(timeout, self.time_out, args=(timeout,)) if timeout > 0 else None
        if timer is not None:
            timer.daemon = True
            timer.start()
        stage = "loading the task"
        try:
            self.overlay_bundle()
            task = self.load_task()
            stage = "fetching secrets"
            self.deliver_secrets(task)
            stage = "reading inputs"
            raw = self.get_json(self.args.inputs)
            if "$batch" in raw:
                stage = "running a batch"
                summary = self.run_batch(task, raw["$batch"], started)
                self.sfn.send_task_success(taskToken=self.token, output=json.dumps(summary))
                return 0
            inputs = self.with_blobs(task, raw, self.download_blob, "inputs")
            stage = "running"
            try:
                result = self.execute(task, inputs)
            except Exception as exc:
                return self.fail(USER_ERROR, "user", f"{type(exc).__name__}: {exc}", exc)
            stage = "writing outputs"
            result = self.write_result(task, result, started)
            self.sfn.send_task_success(taskToken=self.token, output=json.dumps(result))
            return 0
        except Exception as exc:
            return self.fail(SYSTEM_ERROR, "system", f"{stage}: {type(exc).__name__}: {exc}", exc)
        finally:
            if timer is not None:
                timer.cancel()
            stop.set()
            self.save_logs()

    def run_batch(self, task: Any, batch: dict[str, Any], started: dt.datetime) -> dict[str, Any]:
        """Each item as its own pod would run it, one after another; then ONE object for the whole batch,
        `<execution>/<node>.<first>/batch.json`: every item's outputs (None for a failed one) and the failed
        items' errors. The gather reads one object per batch instead of one per item, and the pod writes one
        instead of one per item (100,000 items in pods of 1,000: 100 writes and reads, not 100,000 of each).
        Written once, at the end: a batch that dies midway is retried whole (map_task's docstring)."""
        outputs: list[dict[str, Any] | None] = []
        errors: dict[str, dict[str, Any]] = {}
        for index, values in enumerate(batch["items"], start=batch["first"]):
            try:
                inputs = self.with_blobs(task, values, self.download_blob, "inputs")
                outputs.append(self.with_blobs(task, self.execute(task, inputs), self.upload_blob, "outputs"))
            except Exception as exc:
                outputs.append(None)
                tail = "".join(traceback.format_exception(exc)[-6:])
                print(f"item {index}: {tail}", file=sys.stderr)
                errors[str(index)] = {"kind": "user", "message": f"item {index}: {type(exc).__name__}: {exc}",
                                      "traceback": tail[-2000:]}
        batch_key = f"{self.prefix.rsplit('/', 1)[0]}/batch.json"  # <execution>/<node>.<first>/<attempt>
        self.put_json(batch_key, {"first": batch["first"], "outputs": outputs, "errors": errors})
        ended = dt.datetime.now(dt.UTC).isoformat()
        failed = sorted(int(i) for i in errors)[:100]
        return {"batch": len(batch["items"]), "failed": failed, "started": started.isoformat(), "ended": ended}

    def deliver_secrets(self, task: Any) -> None:
        """The task's secret requests from AWS Secrets Manager, into variables and files (slipstream.context)."""
        os.environ["SLIPSTREAM_WORKING_DIRECTORY"] = str(self.workdir)
        requests = (getattr(task, "container", None) or {}).get("secrets") or []
        if requests:
            import boto3

            from slipstream.context import deliver_secrets

            project, domain = os.environ["SLIPSTREAM_EXECUTION"].split("/")[:2]
            client = boto3.session.Session(region_name=self.s3.meta.region_name).client("secretsmanager")
            deliver_secrets(requests, project, domain, client, self.workdir / "secrets")

    def load_task(self) -> Any:
        from slipstream.engine import import_task

        return import_task({"function": {"module": self.args.task_module, "name": self.args.task_name},
                            "id": {"name": f"{self.args.task_module}.{self.args.task_name}"}})

    def with_blobs(self, task: Any, values: dict[str, Any], fn: Any, direction: str) -> dict[str, Any]:
        from chalicelib.spec.types import transform_blobs
        from slipstream.type_engine import literal_type_of

        types = task.interface.inputs if direction == "inputs" else task.interface.outputs
        return {k: transform_blobs(literal_type_of(types[k]), v, fn) if k in types else v for k, v in values.items()}

    def execute(self, task: Any, inputs: dict[str, Any]) -> dict[str, Any]:
        if task.task_type == "dynamic":
            from slipstream.serialization import SerializationSettings

            project, domain = os.environ["SLIPSTREAM_EXECUTION"].split("/")[:2]
            workflow = task.expand(inputs)
            closure = workflow.compile(SerializationSettings(project, domain, "dynamic")).closure()
            image = os.environ.get("SLIPSTREAM_TASK_IMAGE")
            for spec in closure["tasks"].values():
                spec["container"]["bundle"] = self.args.bundle
                if image and not spec["container"].get("image"):  # the tasks it built run where it ran
                    spec["container"]["image"] = image
            key = f"{self.prefix}/dynamic.json"
            self.put_json(key, closure)
            return {"dynamic": f"{key}"}
        return task.outputs_to_json(task.fn(**task.python_inputs(inputs)))

    def write_result(self, task: Any, outputs: dict[str, Any], started: dt.datetime) -> dict[str, Any]:
        ended = dt.datetime.now(dt.UTC).isoformat()
        if task.task_type == "dynamic":
            return {"dynamic": outputs["dynamic"], "started": started.isoformat(), "ended": ended}
        outputs = self.with_blobs(task, outputs, self.upload_blob, "outputs")
        key = f"{self.prefix}/outputs.json"
        self.put_json(key, outputs)
        final = f"{self.prefix.rsplit('/', 1)[0]}/outputs.json"
        self.s3.copy_object(Bucket=self.bucket, Key=final, CopySource={"Bucket": self.bucket, "Key": key})
        return {"outputs": final, "started": started.isoformat(), "ended": ended}

    def fail(self, error: str, kind: str, message: str, exc: BaseException) -> int:
        tail = "".join(traceback.format_exception(exc)[-6:])
        print(tail, file=sys.stderr)
        details = {"kind": kind, "message": message, "traceback": tail[-4000:],
                   "ended": dt.datetime.now(dt.UTC).isoformat()}  # the attempt's end (chalicelib.attempts)
        try:
            self.put_json(f"{self.prefix}/error.json", details)
            self.sfn.send_task_failure(taskToken=self.token, error=error,
                                       cause=json.dumps({"message": message, "kind": kind})[:32000])
        except Exception as report_exc:  # nothing left to tell: the reconciler fails the token
            print(f"slipstream: could not report the failure: {report_exc}", file=sys.__stderr__)
            return 1
        return 0

    def save_logs(self) -> None:
        with contextlib.suppress(Exception):
            self.s3.put_object(Bucket=self.bucket, Key=f"{self.prefix}/logs.txt", Body=self.log.getvalue().encode())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m slipstream.entrypoint")
    parser.add_argument("--inputs", required=True)
    parser.add_argument("--outputs", required=True)
    parser.add_argument("--task-module", required=True)
    parser.add_argument("--task-name", required=True)
    parser.add_argument("--bundle", default=None)
    args = parser.parse_args(argv)
    entrypoint = Entrypoint(args)
    sys.stdout = _Tee(sys.__stdout__, entrypoint.log)  # type: ignore[assignment]
    sys.stderr = _Tee(sys.__stderr__, entrypoint.log)  # type: ignore[assignment]
    return entrypoint.run()


if __name__ == "__main__":
    sys.exit(main())
