"""Upload locations over HTTP: content-addressed keys for code bundles and input files, presigned PUTs
to moto's S3, and the digest and name checks."""

from __future__ import annotations

import hashlib
import urllib.request

import pytest

from tests.integration.api_http import DOMAIN, call, error_of, upload_path

pytestmark = pytest.mark.integration


def put(url: str, data: bytes, content_type: str = "application/gzip") -> int:
    request = urllib.request.Request(url, data=data, method="PUT", headers={"Content-Type": content_type})
    with urllib.request.urlopen(request, timeout=30) as response:
        return response.status


def location(api, project: str, digest: str, **extra) -> dict:
    status, body = call(api, "POST", upload_path(project), {"digest": digest, **extra})
    assert status == 200, body
    return body


@pytest.mark.parametrize("digest", ["", "abc", "a" * 63, "a" * 65, "AB" * 32, "g" * 64, " " + "a" * 63,
                                    "a" * 63 + "\n", 5, None, ["a" * 64]])
def test_a_digest_that_is_not_a_sha256_is_400(api, project, digest):
    error = error_of(call(api, "POST", upload_path(project), {"digest": digest}), 400)
    assert "digest must be the sha256" in error["message"]


def test_a_missing_digest_is_400(api, project):
    error = error_of(call(api, "POST", upload_path(project), {}), 400)
    assert "digest" in error["message"]


def test_a_bundle_is_uploaded_once(api, sandbox, project):
    data = b"\x1f\x8b pretend this is a gzipped tarball"
    digest = hashlib.sha256(data).hexdigest()
    first = location(api, project, digest)
    bucket = sandbox.settings.data_bucket
    assert first["exists"] is False
    assert first["uri"] == f"s3://{bucket}/bundles/{project}/{DOMAIN}/{digest}.tar.gz"
    assert isinstance(first["upload_url"], str) and first["upload_url"].startswith("http://127.0.0.1:")
    assert location(api, project, digest)["exists"] is False  # asking again uploads nothing

    assert put(first["upload_url"], data) == 200
    stored = sandbox.client("s3").get_object(Bucket=bucket, Key=f"bundles/{project}/{DOMAIN}/{digest}.tar.gz")
    assert stored["Body"].read() == data

    again = location(api, project, digest)
    assert again == {"uri": first["uri"], "exists": True, "upload_url": None}


def test_bundles_are_per_project_and_domain(api, project):
    data = b"per-project bundle"
    digest = hashlib.sha256(data).hexdigest()
    assert put(location(api, project, digest)["upload_url"], data) == 200
    assert location(api, project, digest)["exists"] is True
    assert location(api, "default", digest)["exists"] is False
    status, staging = call(api, "POST", upload_path(project, "staging"), {"digest": digest})
    assert status == 200 and staging["exists"] is False


def test_the_api_client_uploads_a_bundle_once(api, sandbox, project):
    data = b"bundle through the client"
    digest = hashlib.sha256(data).hexdigest()
    sent = api.requests_sent
    uri = api.upload_bundle(project, DOMAIN, digest, data)
    assert api.requests_sent - sent == 2  # ask, then PUT
    assert api.upload_bundle(project, DOMAIN, digest, data) == uri
    assert api.requests_sent - sent == 3  # asked only: it exists
    key = uri.split("/", 3)[3]
    assert sandbox.client("s3").get_object(Bucket=sandbox.settings.data_bucket, Key=key)["Body"].read() == data


def test_input_files_are_keyed_by_digest_and_name(api, sandbox, project, tmp_path):
    data = b"a,b\n1,2\n"
    digest = hashlib.sha256(data).hexdigest()
    first = location(api, project, digest, filename="table.csv")
    assert first["exists"] is False
    assert first["uri"] == f"s3://{sandbox.settings.data_bucket}/uploads/{project}/{DOMAIN}/{digest}/table.csv"
    assert put(first["upload_url"], data, "application/octet-stream") == 200
    assert location(api, project, digest, filename="table.csv")["exists"] is True
    assert location(api, project, digest, filename="other.csv")["exists"] is False
    path = tmp_path / "table.csv"
    path.write_bytes(data)
    assert api.upload_file(project, DOMAIN, path) == first["uri"]


@pytest.mark.parametrize("filename", ["../escape", "a/b", "", "sp ace.txt", "x" * 201, 5, "..", "a\n"])
def test_a_filename_that_is_not_a_plain_name_is_400(api, project, filename):
    error = error_of(call(api, "POST", upload_path(project), {"digest": "a" * 64, "filename": filename}), 400)
    assert "filename" in error["message"]


@pytest.mark.parametrize("path", [upload_path("Bad_Project"), upload_path("default", "Bad%20Domain"),
                                  upload_path("default", "nowhere")])
def test_bad_scopes_are_400(api, path):
    error = error_of(call(api, "POST", path, {"digest": "a" * 64}), 400)
    assert error["code"] == "ValidationError"


@pytest.mark.parametrize("body", [[], "x", None])
def test_bodies_that_are_not_objects_are_400(api, body):
    error = error_of(call(api, "POST", upload_path("default"), body), 400)
    assert error["code"] == "ValidationError"


@pytest.mark.parametrize("body", [{"project": "other", "digest": "a" * 64}, {"domain": "staging", "digest": "a" * 64}])
def test_a_body_naming_another_scope_than_the_path_is_400(api, project, body):
    error = error_of(call(api, "POST", upload_path(project), body), 400)
    assert "but the path is" in error["message"] and f"/{project}/{DOMAIN}" in error["message"]


def test_a_body_naming_the_paths_own_scope_is_accepted(api, project):
    status, body = call(api, "POST", upload_path(project), {"project": project, "domain": DOMAIN, "digest": "b" * 64})
    assert status == 200 and f"/bundles/{project}/{DOMAIN}/" in body["uri"]
