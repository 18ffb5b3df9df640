"""EKS bearer tokens and cluster clients, made with a real botocore STS client and fake static credentials.
Presigning is local: the tests forbid any network connection."""

from __future__ import annotations

import base64
import socket
import urllib.parse

import botocore.session
import pytest

from chalicelib.dispatch import core_v1_for_cluster, core_v1_for_eks, eks_bearer_token
from chalicelib.dispatch import kube as kube_module

CA_PEM = b"-----BEGIN CERTIFICATE-----\nMIIBfake\n-----END CERTIFICATE-----\n"


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    """Any connection attempt fails the test; no AWS configuration of the machine leaks in."""

    def refuse(*args, **kwargs):
        raise AssertionError(f"the test tried to connect to {args[1:] or kwargs}")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)
    for name in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_STS", "AWS_STS_REGIONAL_ENDPOINTS"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent/aws-config")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/aws-credentials")


@pytest.fixture()
def sts():
    return botocore.session.get_session().create_client(
        "sts", region_name="us-east-1", aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="fake-secret")


def presigned_url(token: str) -> urllib.parse.ParseResult:
    assert token.startswith("k8s-aws-v1.")
    encoded = token.removeprefix("k8s-aws-v1.")
    assert "=" not in encoded and "+" not in encoded and "/" not in encoded  # base64url, unpadded
    return urllib.parse.urlparse(base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4)).decode())


def test_the_token_is_a_presigned_get_caller_identity_naming_the_cluster(sts):
    url = presigned_url(eks_bearer_token(sts, "prod-cluster"))
    query = urllib.parse.parse_qs(url.query)
    assert url.scheme == "https" and url.hostname.startswith("sts.") and url.hostname.endswith(".amazonaws.com")
    assert url.path == "/" and query["Action"] == ["GetCallerIdentity"] and query["Version"] == ["2011-06-15"]
    assert query["X-Amz-Expires"] == ["60"] and query["X-Amz-Algorithm"] == ["AWS4-HMAC-SHA256"]
    assert set(query["X-Amz-SignedHeaders"][0].split(";")) == {"host", "x-k8s-aws-id"}
    assert "/us-east-1/sts/aws4_request" in query["X-Amz-Credential"][0]
    assert "x-k8s-aws-id" not in query  # a signed header, not a parameter


def test_one_client_signs_for_each_cluster_apart(sts):
    first = urllib.parse.parse_qs(presigned_url(eks_bearer_token(sts, "cluster-a")).query)
    second = urllib.parse.parse_qs(presigned_url(eks_bearer_token(sts, "cluster-b")).query)
    assert first["X-Amz-Signature"] != second["X-Amz-Signature"]
    plain = urllib.parse.parse_qs(urllib.parse.urlparse(
        sts.generate_presigned_url("get_caller_identity", ExpiresIn=60)).query)
    assert plain["X-Amz-SignedHeaders"] == ["host"]  # the handlers do nothing to other presigned calls


def test_a_cluster_client_trusts_the_cluster_ca_and_sends_the_token():
    api = core_v1_for_cluster("https://ABC.gr7.us-east-1.eks.amazonaws.com", base64.b64encode(CA_PEM).decode(),
                              "k8s-aws-v1.token")
    configuration = api.api_client.configuration
    assert configuration.host == "https://ABC.gr7.us-east-1.eks.amazonaws.com"
    with open(configuration.ssl_ca_cert, "rb") as ca:
        assert ca.read() == CA_PEM
    assert configuration.get_api_key_with_prefix("authorization") == "Bearer k8s-aws-v1.token"


def test_an_eks_client_mints_a_new_token_once_the_old_one_ages(sts, monkeypatch):
    signed: list[str] = []
    sts.meta.events.register("before-sign.sts.GetCallerIdentity", lambda request, **_: signed.append("x"))
    api = core_v1_for_eks(sts, "prod-cluster", "https://ABC.eks.amazonaws.com", base64.b64encode(CA_PEM).decode())
    configuration = api.api_client.configuration
    assert configuration.get_api_key_with_prefix("authorization").startswith("Bearer k8s-aws-v1.")
    assert len(signed) == 1  # fresh: no new token per request
    monkeypatch.setattr(kube_module, "_TOKEN_REFRESH_SECONDS", -1)
    configuration.get_api_key_with_prefix("authorization")
    assert len(signed) == 2
