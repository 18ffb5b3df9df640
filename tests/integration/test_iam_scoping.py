"""The README's example policy scopes a principal to project `ml`, domain `development`, as the deployed API
authorizes requests: API Gateway's IAM authorization checks the caller's SigV4 signature, collects the
caller's identity policies and evaluates them for `execute-api:Invoke` on the method ARN
`arn:aws:execute-api:<region>:<account>:<api-id>/<stage>/<METHOD>/<path>`.

API Gateway cannot run here, so its part is played by moto's own IAM access control (`IAMRequest`, what moto
uses to authorize calls to its services): an IAM user is created on the sandbox's moto server with the
README's policy, a request is signed with the user's key, and moto checks the signature and evaluates the
user's policies against the method ARN of every route the app serves.
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import pytest
from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials
from moto.core import DEFAULT_ACCOUNT_ID
from moto.core.exceptions import AccessDeniedError, SignatureDoesNotMatchError
from moto.iam.access_control import IAMPolicy, IAMRequest, PermissionResult

import app

pytestmark = pytest.mark.integration

README = Path(__file__).resolve().parents[2] / "README.md"
REGION, API_ID, STAGE = "eu-west-1", "a1b2c3d4e5", "api"
HOST = f"{API_ID}.execute-api.{REGION}.amazonaws.com"
PUBLIC = {"/api/v1/health", "/api/v1/openapi.json", "/console", "/console/{asset}"}  # the console's files hold no data
ADMIN_ONLY = {("POST", "/api/v1/projects"), ("GET", "/api/v1/projects"),
              ("POST", "/api/v1/projects/{project}/provision")}
# Scopes the policy must refuse; name and version are chosen so that `.../ml/development` appears in paths of
# other projects (`/api/v1/tasks/other/development/ml/development`), which a loose wildcard would let through.
DENIED_SCOPES = [("ml", "production"), ("other", "development"), ("ml2", "development"), ("ml", "development2"),
                 ("development", "ml")]


def readme_policy() -> str:
    """The JSON block of the README's section on scoping callers, placeholders filled in."""
    section = README.read_text().split("## Scoping callers to a project and domain", 1)[1].split("\n## ", 1)[0]
    block = re.search(r"```json\n(.*?)\n```", section, re.S)
    assert block, "the README's scoping section has no ```json policy"
    return (block.group(1).replace("<region>", REGION).replace("<account>", DEFAULT_ACCOUNT_ID)
            .replace("<api-id>", API_ID))


def routes() -> list[tuple[str, str]]:
    """(METHOD, path template) of every route API Gateway authorizes with IAM."""
    found = [(method, path) for path, methods in app.app.routes.items() for method, entry in methods.items()
             if entry.authorizer is not None]
    assert {path for path in app.app.routes} - {path for _, path in found} == PUBLIC
    return found


def concrete(path: str, project: str, domain: str) -> str:
    values = {"project": project, "domain": domain, "name": "ml", "version": "development", "signal": "ml"}
    return re.sub(r"{(\w+)}", lambda m: values[m.group(1)], path)


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:{REGION}:{DEFAULT_ACCOUNT_ID}:{API_ID}/{STAGE}/{method}{path}"


class Authorizer:
    """IAM authorization of one caller, as API Gateway does it, by moto's access-control code."""

    def __init__(self, credentials: Credentials) -> None:
        self.credentials = credentials

    def allows(self, method: str, path: str) -> bool:
        body = b"{}" if method == "POST" else b""
        url = f"https://{HOST}/{STAGE}{path}"
        signed = AWSRequest(method=method, url=url, data=body, headers={"Content-Type": "application/json"})
        SigV4Auth(self.credentials, "execute-api", REGION).add_auth(signed)
        headers = {**dict(signed.headers.items()), "Host": HOST}
        request = IAMRequest(account_id=DEFAULT_ACCOUNT_ID, method=method, path=f"/{STAGE}{path}", data={},
                             body=body, headers=headers, action="Invoke")
        request.check_signature()  # raises if the signature is not the caller's
        try:
            request.check_action_permitted(method_arn(method, path))
        except AccessDeniedError:
            return False
        return True


@pytest.fixture(scope="module")
def scoped_caller(sandbox) -> Authorizer:
    """An IAM user on the sandbox's moto server whose only policy is the README's."""
    iam = sandbox.client("iam")
    user = "ml-development-" + sandbox.endpoint_url.rsplit(":", 1)[1]
    iam.create_user(UserName=user)
    iam.put_user_policy(UserName=user, PolicyName="slipstream-ml-development", PolicyDocument=readme_policy())
    key = iam.create_access_key(UserName=user)["AccessKey"]
    return Authorizer(Credentials(key["AccessKeyId"], key["SecretAccessKey"]))


def test_the_policy_uses_no_pattern_moto_and_iam_read_differently():
    """moto matches resources as regular expressions with `*` → `.*`; IAM also has `?` and takes every other
    character literally. With only `*` and characters that are literal in both, the two agree."""
    for statement in json.loads(readme_policy())["Statement"]:
        assert statement["Effect"] == "Allow" and statement["Action"] == "execute-api:Invoke"
        resources = statement["Resource"] if isinstance(statement["Resource"], list) else [statement["Resource"]]
        for resource in resources:
            assert re.fullmatch(r"[A-Za-z0-9:/_*-]+", resource), resource
            assert resource.startswith(f"arn:aws:execute-api:{REGION}:{DEFAULT_ACCOUNT_ID}:{API_ID}/{STAGE}/")


def test_every_route_of_ml_development_is_allowed(scoped_caller):
    for method, path in routes():
        if (method, path) in ADMIN_ONLY:
            continue
        concrete_path = concrete(path, "ml", "development")
        assert scoped_caller.allows(method, concrete_path), f"{method} {concrete_path}"


@pytest.mark.parametrize("project, domain", DENIED_SCOPES)
def test_every_route_of_another_project_or_domain_is_refused(scoped_caller, project, domain):
    for method, path in routes():
        if path == "/api/v1/projects/{project}" and project == "ml":
            continue  # the project itself: readable whatever the domain
        concrete_path = concrete(path, project, domain)
        assert not scoped_caller.allows(method, concrete_path), f"{method} {concrete_path}"


def test_project_administration_is_refused(scoped_caller):
    for method, path in ADMIN_ONLY:
        assert not scoped_caller.allows(method, concrete(path, "ml", "development")), f"{method} {path}"


def test_a_signature_that_is_not_the_callers_is_refused(scoped_caller):
    forged = Authorizer(Credentials(scoped_caller.credentials.access_key, "not-the-secret"))
    with pytest.raises(SignatureDoesNotMatchError):
        forged.allows("GET", "/api/v1/executions/ml/development")


def test_a_loose_wildcard_would_let_other_projects_through():
    """Why the README lists each route family: IAM's `*` matches `/` too."""
    prefix = f"arn:aws:execute-api:{REGION}:{DEFAULT_ACCOUNT_ID}:{API_ID}/{STAGE}/*/api/v1/*"
    loose = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Action": "execute-api:Invoke",
        "Resource": [f"{prefix}/ml/development", f"{prefix}/ml/development/*"]}]}
    other_task = concrete("/api/v1/tasks/{project}/{domain}/{name}/{version}", "other", "development")
    assert other_task == "/api/v1/tasks/other/development/ml/development"
    result: Any = IAMPolicy(json.dumps(loose)).is_action_permitted("execute-api:Invoke", method_arn("GET", other_task))
    assert result == PermissionResult.PERMITTED
