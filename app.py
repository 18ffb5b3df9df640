"""The control plane's HTTP API and event handlers: AWS Lambda behind API Gateway, or served locally by
the sandbox. Each route is a few lines that delegate to chalicelib; paths follow FlyteAdmin's REST shape.

On AWS every route uses IAM (SigV4) authorization; the sandbox listens on 127.0.0.1 only. Every route that
touches a project's data has `{project}/{domain}` in its path, where an IAM policy's resource ARN can scope a
caller to one project-domain (chalicelib.scope; README "Scoping callers to a project and domain").
"""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

from chalice import Chalice, IAMAuthorizer, Rate, Response

from chalicelib.api import handles_errors, json_response, query_param, read_json
from chalicelib.config import Settings
from chalicelib.errors import ValidationError
from chalicelib.executions import EXECUTION_NAME, Watch
from chalicelib.scope import check_specs_in_scope, path_scope, scoped_body
from chalicelib.services import Services, kubernetes_launcher
from chalicelib.spec import Identifier, check_name
from chalicelib.store.pagination import parse_limit

app = Chalice(app_name="slipstream")
iam = IAMAuthorizer()
OPENAPI_PATH = Path(__file__).parent / "chalicelib" / "openapi.json"
ENTITY_ROUTES = (("tasks", "task_ids", "task"), ("workflows", "workflow_ids", "workflow"),
                 ("launch_plans", "launch_plan_ids", "launch_plan"))

MAX_DESCRIPTION = 1000
# A node of an execution: its id, `<id>.<index>` for a map item, `<parent>/<id>` below a dynamic node.
NODE_PATH = re.compile(r"^[A-Za-z0-9_.\-]{1,128}(/[A-Za-z0-9_.\-]{1,128}){0,7}$(?!\n)")

_services: Services | None = None


def services() -> Services:
    """Built once per Lambda container (or per sandbox process) from the stage's environment."""
    global _services
    if _services is None:
        settings = Settings.from_env()
        _services = Services.build(settings, launcher=kubernetes_launcher(settings))
    return _services


def use_services(value: Services | None) -> None:
    """Hand the app prebuilt services (the sandbox and the tests point them at moto's server)."""
    global _services
    _services = value


@app.middleware("http")
def publish_phase_events(event: Any, get_response: Any) -> Any:
    """A request's phase changes go out in batches once it is answered (chalicelib.events). Reads move no phase
    (and a long poll would hold the sandbox's shared batch open), and a cold container's first request builds the
    services inside its route: their changes, if any, are put one by one."""
    if _services is None or event.method == "GET":
        return get_response(event)
    with _services.events.batch():
        return get_response(event)


def _body() -> Any:
    return read_json(app.current_request, services().settings.max_body_bytes)


@app.route("/api/v1/health", methods=["GET"])
@handles_errors
def health() -> dict[str, str]:
    return {"status": "ok"}


@app.route("/api/v1/openapi.json", methods=["GET"])
@handles_errors
def openapi() -> dict[str, Any]:
    return json.loads(OPENAPI_PATH.read_text())


@app.route("/api/v1/projects", methods=["POST"], authorizer=iam)
@handles_errors
def create_project() -> Any:
    """Store a project and, when tasks run on Kubernetes, make its namespaces (see chalicelib.projects)."""
    body = _body()
    if not isinstance(body, dict) or "name" not in body:
        raise ValidationError('send {"name": "<project>", "description": "..."}')
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise ValidationError(f"description must be a string of at most {MAX_DESCRIPTION} characters")
    project = services().projects.create(check_name("project", body["name"]), description)
    return json_response(project, 201)


@app.route("/api/v1/projects/{project}/provision", methods=["POST"], authorizer=iam)
@handles_errors
def provision_project(project: str) -> dict[str, Any]:
    """Apply a project's namespaces and service accounts on the cluster again; idempotent."""
    return services().projects.provision(check_name("project", project))


@app.route("/api/v1/projects", methods=["GET"], authorizer=iam)
@handles_errors
def list_projects() -> dict[str, Any]:
    return {"projects": services().metadata.list_projects()}


@app.route("/api/v1/projects/{project}", methods=["GET"], authorizer=iam)
@handles_errors
def get_project(project: str) -> dict[str, Any]:
    return services().metadata.get_project(check_name("project", project))


@app.route("/api/v1/projects/{project}/domains/{domain}/register", methods=["POST"], authorizer=iam)
@handles_errors
def register_batch(project: str, domain: str) -> Any:
    """Register tasks, workflows and launch plans of one project-domain together, checked as one batch."""
    scope = path_scope(project, domain)
    body = _body()
    specs = body.get("specs") if isinstance(body, dict) else None
    check_specs_in_scope(specs, *scope)
    return json_response({"entities": services().registration.register(specs)}, 201)


def _add_entity_routes(plural: str, ids_path: str, kind: str) -> None:
    def register(project: str, domain: str) -> Any:
        scope = path_scope(project, domain)
        body = _body()
        specs = body.get("specs") if isinstance(body, dict) and "specs" in body else [body]
        if not isinstance(specs, list) or not all(isinstance(s, dict) for s in specs):
            raise ValidationError(f'send one {kind} spec (a JSON object) or {{"specs": [...]}} of them')
        wrong = [s.get("kind") for s in specs if s.get("kind") != kind]
        if wrong:
            raise ValidationError(f"/api/v1/{plural}/{{project}}/{{domain}} registers {kind} specs only, got kind "
                                  f"{wrong[0]!r}; use /api/v1/projects/{{project}}/domains/{{domain}}/register for "
                                  "a mixed batch")
        check_specs_in_scope(specs, *scope)
        return json_response({"entities": services().registration.register(specs)}, 201)

    def list_names(project: str, domain: str) -> dict[str, Any]:
        request = app.current_request
        items, token = services().metadata.list_names(
            kind, *path_scope(project, domain), parse_limit(query_param(request, "limit")),
            query_param(request, "token"))
        return {"entities": items, "token": token}

    def list_versions(project: str, domain: str, name: str) -> dict[str, Any]:
        request = app.current_request
        items, token = services().metadata.list_versions(
            kind, *path_scope(project, domain), check_name("name", name),
            parse_limit(query_param(request, "limit")), query_param(request, "token"))
        if kind == "launch_plan":  # the console marks the active version in the list it shows
            return {"entities": items, "token": token, "active_version": _console().active_version(
                *path_scope(project, domain), name)}
        return {"entities": items, "token": token}

    def get_one(project: str, domain: str, name: str, version: str) -> dict[str, Any]:
        return services().registration.get(kind, Identifier(project, domain, name, version))

    app.route(f"/api/v1/{plural}/{{project}}/{{domain}}", methods=["POST"], authorizer=iam,
              name=f"register_{kind}")(handles_errors(register))
    app.route(f"/api/v1/{ids_path}/{{project}}/{{domain}}", methods=["GET"], authorizer=iam,
              name=f"list_{kind}_names")(handles_errors(list_names))
    app.route(f"/api/v1/{plural}/{{project}}/{{domain}}/{{name}}", methods=["GET"], authorizer=iam,
              name=f"list_{kind}_versions")(handles_errors(list_versions))
    app.route(f"/api/v1/{plural}/{{project}}/{{domain}}/{{name}}/{{version}}", methods=["GET"], authorizer=iam,
              name=f"get_{kind}")(handles_errors(get_one))


for _plural, _ids, _kind in ENTITY_ROUTES:
    _add_entity_routes(_plural, _ids, _kind)


@app.route("/api/v1/dataproxy/{project}/{domain}/upload_location", methods=["POST"], authorizer=iam)
@handles_errors
def upload_location(project: str, domain: str) -> dict[str, Any]:
    """Where the CLI uploads a code bundle: content-addressed, so an unchanged tree is uploaded once."""
    project, domain = path_scope(project, domain)
    body = scoped_body(_body(), project, domain)
    if not isinstance(body, dict):
        raise ValidationError('send {"digest": "<sha256 of the content>", "filename"?: "<name of an input file>"}')
    digest = body.get("digest")
    if not isinstance(digest, str) or len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ValidationError("digest must be the sha256 of the bundle, 64 lowercase hex characters")
    domains = services().metadata.get_project(project)["domains"]
    if domain not in domains:
        raise ValidationError(f"domain [{domain}] is not a domain of project [{project}]; use one of {domains}")
    blobs = services().blobs
    key = f"bundles/{project}/{domain}/{digest}.tar.gz"
    filename = body.get("filename")
    if filename is not None:  # an input file of a remote run
        if not isinstance(filename, str) or not re.fullmatch(r"[A-Za-z0-9_.\-]{1,200}", filename) or ".." in filename:
            raise ValidationError(f"filename [{filename}] must be a plain file name (letters, digits, '_', '.', '-')")
        key = f"uploads/{project}/{domain}/{digest}/{filename}"
    exists = blobs.exists(key)
    return {"uri": blobs.uri(key), "exists": exists, "upload_url": None if exists else blobs.presigned_put(key)}


def _execution(project: str, domain: str, name: str) -> tuple[str, str, str]:
    scope = path_scope(project, domain)
    if not EXECUTION_NAME.fullmatch(name):
        raise ValidationError(f"execution name [{name[:100]}] is not valid: use lowercase letters, digits and '-', "
                              "starting with a letter, at most 40 characters")
    return *scope, name


@app.route("/api/v1/executions/{project}/{domain}", methods=["POST"], authorizer=iam)
@handles_errors
def create_execution(project: str, domain: str) -> Any:
    """Start a workflow or launch plan; a client-given name makes this idempotent (200 when it exists)."""
    execution, created = services().executions.create(scoped_body(_body(), *path_scope(project, domain)))
    return json_response(execution, 201 if created else 200)


@app.route("/api/v1/executions/{project}/{domain}", methods=["GET"], authorizer=iam)
@handles_errors
def list_executions(project: str, domain: str) -> dict[str, Any]:
    request = app.current_request
    phase = query_param(request, "phase")
    if phase == "":
        raise ValidationError("phase [] is empty: name one (?phase=RUNNING) or leave ?phase= out for all")
    return services().executions.list(
        *path_scope(project, domain), phase=phase,
        workflow=query_param(request, "workflow"), limit=parse_limit(query_param(request, "limit")),
        token=query_param(request, "token"))


@app.route("/api/v1/executions/{project}/{domain}/{name}", methods=["GET"], authorizer=iam)
@handles_errors
def get_execution(project: str, domain: str, name: str) -> dict[str, Any]:
    """With ?since=<change_token>&wait_seconds=N, answered at the execution's next change or after N seconds
    (a long poll: chalicelib.executions.Watch); ?nodes=true adds its nodes."""
    execution = _execution(project, domain, name)
    request = app.current_request
    watch = Watch.from_query(query_param(request, "wait_seconds"), query_param(request, "since"),
                             query_param(request, "nodes"))
    return services().executions.get(*execution, watch)


@app.route("/api/v1/executions/{project}/{domain}/{name}/nodes", methods=["GET"], authorizer=iam)
@handles_errors
def list_node_executions(project: str, domain: str, name: str) -> dict[str, Any]:
    return {"nodes": services().executions.nodes(*_execution(project, domain, name))}


@app.route("/api/v1/executions/{project}/{domain}/{name}/logs", methods=["GET"], authorizer=iam)
@handles_errors
def node_logs(project: str, domain: str, name: str) -> dict[str, Any]:
    execution = _execution(project, domain, name)
    node = query_param(app.current_request, "node")
    if not node:
        raise ValidationError("name the node: ?node=<node id>")
    if not NODE_PATH.fullmatch(node):
        raise ValidationError(f"node [{node[:200]}] is not a node id: use <node id>, <node id>.<item> or "
                              "<parent node>/<node id>, as `slipstream get execution <name>` lists them")
    return {"node": node, "logs": services().executions.logs(*execution, node)}


@app.route("/api/v1/executions/{project}/{domain}/{name}/terminate", methods=["POST"], authorizer=iam)
@handles_errors
def terminate_execution(project: str, domain: str, name: str) -> dict[str, Any]:
    return services().executions.terminate(*_execution(project, domain, name))


@app.route("/api/v1/executions/{project}/{domain}/{name}/relaunch", methods=["POST"], authorizer=iam)
@handles_errors
def relaunch_execution(project: str, domain: str, name: str) -> Any:
    execution = _execution(project, domain, name)
    raw = app.current_request.raw_body
    body = _body() if raw and raw.strip() else {}
    new_name = body.get("name") if isinstance(body, dict) else None
    if not isinstance(body, dict) or (new_name is not None and not isinstance(new_name, str)):
        raise ValidationError('send {} or {"name": "<new execution name>"}')
    return json_response(services().executions.relaunch(*execution, new_name), 201)


@app.route("/api/v1/executions/{project}/{domain}/{name}/signals/{signal}", methods=["POST"], authorizer=iam)
@handles_errors
def signal_execution(project: str, domain: str, name: str, signal: str) -> dict[str, Any]:
    """Answer a gate: wait_for_input's value or an approval's true/false (chalicelib.gates)."""
    from chalicelib.gates import Gates

    return Gates(services().dispatcher).signal(*_execution(project, domain, name), signal, _body())


_built: dict[str, tuple[Services, Any]] = {}


def _built_for_services(name: str, build: Any) -> Any:
    """A service the routes share, built on first use and again when the services change (tests swap them)."""
    current = services()
    held = _built.get(name)
    if held is None or held[0] is not current:
        held = _built[name] = (current, build(current))
    return held[1]


def _activation() -> Any:
    """Launch plan activation (chalicelib.schedules)."""
    from chalicelib.schedules import activation_for

    return _built_for_services("activation", activation_for)


@app.route("/api/v1/launch_plans/{project}/{domain}/{name}/activate", methods=["POST"], authorizer=iam)
@handles_errors
def activate_launch_plan(project: str, domain: str, name: str) -> dict[str, Any]:
    """Make one version the active one; its schedule (if any) fires from now on. Another active version is replaced."""
    scope = path_scope(project, domain)
    body = _body()
    if not isinstance(body, dict) or not isinstance(body.get("version"), str):
        raise ValidationError('send {"version": "<launch plan version>"}')
    return _activation().activate(*scope, check_name("name", name), check_name("version", body["version"]))


@app.route("/api/v1/launch_plans/{project}/{domain}/{name}/deactivate", methods=["POST"], authorizer=iam)
@handles_errors
def deactivate_launch_plan(project: str, domain: str, name: str) -> dict[str, Any]:
    """Stop the plan's schedule; the plan still launches by hand."""
    return _activation().deactivate(*path_scope(project, domain), check_name("name", name))


@app.route("/api/v1/active_launch_plans/{project}/{domain}", methods=["GET"], authorizer=iam)
@handles_errors
def list_active_launch_plans(project: str, domain: str) -> dict[str, Any]:
    return {"launch_plans": _activation().list_active(*path_scope(project, domain))}


def _console() -> Any:
    """The console's aggregate reads (chalicelib.console)."""
    from chalicelib.console import Console

    return _built_for_services("console", lambda current: Console(current.executions, current.registration))


@app.route("/console", methods=["GET"])
def console_page() -> Response:
    """The console's page lives at /console/index.html, so that its files resolve relative to it."""
    return Response(body="", status_code=301, headers={"Location": "console/index.html"})


@app.route("/console/{asset}", methods=["GET"])
@handles_errors
def console_asset(asset: str) -> Response:
    """The console's static files: public, they hold no data (chalicelib.console)."""
    from chalicelib.console import read_asset

    text, content_type = read_asset(asset)
    return Response(body=text, headers={"Content-Type": content_type, "Cache-Control": "no-cache"})


@app.route("/api/v1/executions/{project}/{domain}/{name}/graph", methods=["GET"], authorizer=iam)
@handles_errors
def execution_graph(project: str, domain: str, name: str) -> dict[str, Any]:
    """One execution, its workflow's graph and every node execution: the console's execution view."""
    return _console().execution_graph(*_execution(project, domain, name))


@app.route("/api/v1/launch_plans/{project}/{domain}/{name}/{version}/form", methods=["GET"], authorizer=iam)
@handles_errors
def launch_form(project: str, domain: str, name: str, version: str) -> dict[str, Any]:
    """A launch plan with the fields of its launch form (each input's type, default, fixed value)."""
    scope = path_scope(project, domain)
    return _console().launch_form(*scope, check_name("name", name), check_name("version", version))


@app.lambda_function(name="schedule_handler")
def schedule_handler(event: dict[str, Any], context: Any) -> dict[str, Any] | None:
    """EventBridge Scheduler → one execution per (launch plan, scheduled time); see chalicelib.schedules."""
    from chalicelib.schedules import ScheduleHandler

    with services().events.batch():
        execution = ScheduleHandler(_activation(), services().executions).fire(event)
    return None if execution is None else {"execution": execution["id"]}


@app.on_sqs_message(queue="slipstream-dispatch", batch_size=10)
def dispatch(event: Any) -> dict[str, Any]:
    """Dispatch queue → the dispatcher, reporting partial batch failures."""
    from chalicelib.handlers import dispatch_batch  # Powertools' batch utility: this function's alone

    return dispatch_batch(event.to_dict(), services().dispatcher)


@app.on_cw_event({"source": ["aws.states"], "detail-type": ["Step Functions Execution Status Change"]})
def execution_status_changed(event: Any) -> None:
    from chalicelib.handlers import status_changed

    status_changed(event.to_dict(), services().status)


@app.schedule(Rate(1, unit=Rate.MINUTES))
def reconcile_pods(event: Any) -> None:
    """Fail the tokens of pods that died without reporting, and remove finished pods."""
    reconciler = services().reconciler()
    if reconciler is not None:
        reconciler.run_once()
