"""pynamodb models of the control plane's tables; `infra/template.json` defines the same keys.

Models are built per `Settings` (table names and endpoint come from the stage), so tests and the sandbox
hand in moto's endpoint exactly as Lambda hands in AWS's.

Keys and the access patterns they serve, none by scan:

    projects         pk=PROJECT  sk=name                    get; list (one small partition: a query, no scan)
    entities         pk=<kind>#<project>#<domain>#<name>   sk=V#<version>    get by identifier
                     LSI by_created (pk, created=<time>#<version>)           versions of a name, newest first
                     pk=NAMES#<kind>#<project>#<domain>    sk=N#<name>       names in a project/domain
                     pk=BATCH#<batch id>                   sk=COMMIT         a registration batch committed
                     (version and name items carry `batches`, the batches that wrote them: an item is
                     visible once one of them is committed; see chalicelib.registration)
    executions       pk=<project>#<domain>  sk=<name>                        get
                     LSI by_created                                          newest first
                     GSI by_phase (phase_key=<project>#<domain>#<phase>, created)         filter by phase
                     GSI by_workflow (workflow_key=<project>#<domain>#<workflow>, created) filter by workflow
    node-executions  pk=<project>#<domain>#<execution>  sk=<node path>       nodes of an execution
    task-cache       key=<cache key>                                         outputs of cached tasks
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

from pynamodb.attributes import (
    JSONAttribute,
    ListAttribute,
    NumberAttribute,
    UnicodeAttribute,
    UnicodeSetAttribute,
    UTCDateTimeAttribute,
)
from pynamodb.indexes import AllProjection, GlobalSecondaryIndex, LocalSecondaryIndex
from pynamodb.models import Model

from chalicelib.config import LOCAL_CREDENTIALS, Settings

PROJECTS_PARTITION = "PROJECT"
BATCH_COMMIT = "COMMIT"


@dataclass(frozen=True)
class Models:
    Project: Any
    Entity: Any
    RegistrationBatch: Any
    Execution: Any
    NodeExecution: Any
    TaskCache: Any


def _meta(settings: Settings, table: str) -> type:
    attrs: dict[str, Any] = {
        "table_name": table,
        "region": settings.region,
        "host": settings.endpoint_url,
        "max_retry_attempts": 3,
        "connect_timeout_seconds": 5,
        "read_timeout_seconds": 15,
    }
    if settings.endpoint_url:  # moto's server: never hand it real credentials
        attrs.update(aws_access_key_id=LOCAL_CREDENTIALS[0], aws_secret_access_key=LOCAL_CREDENTIALS[1])
    return type("Meta", (), attrs)


def _index_meta(name: str) -> type:
    return type("Meta", (), {"index_name": name, "projection": AllProjection()})


@functools.cache
def build_models(settings: Settings) -> Models:
    class Project(Model):
        Meta = _meta(settings, settings.projects_table)
        pk = UnicodeAttribute(hash_key=True, default=PROJECTS_PARTITION)
        name = UnicodeAttribute(range_key=True)
        description = UnicodeAttribute(default="")
        domains = ListAttribute(of=UnicodeAttribute)
        created_at = UTCDateTimeAttribute()

    class EntityByCreated(LocalSecondaryIndex):
        Meta = _index_meta("by_created")
        pk = UnicodeAttribute(hash_key=True)
        created = UnicodeAttribute(range_key=True)

    class Entity(Model):
        Meta = _meta(settings, settings.entities_table)
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        created = UnicodeAttribute(null=True)
        kind = UnicodeAttribute()
        project = UnicodeAttribute()
        domain = UnicodeAttribute()
        name = UnicodeAttribute()
        version = UnicodeAttribute(null=True)  # the latest version, on name items
        digest = UnicodeAttribute(null=True)
        spec_key = UnicodeAttribute(null=True)
        closure_key = UnicodeAttribute(null=True)
        registered_at = UTCDateTimeAttribute()
        batches = UnicodeSetAttribute(null=True)  # absent: visible (stored before batches existed)
        by_created = EntityByCreated()

    class RegistrationBatch(Model):
        """The commit point of one registration batch, in the entities table: once it exists, every
        item the batch wrote is visible."""

        Meta = _meta(settings, settings.entities_table)
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True, default=BATCH_COMMIT)
        entities = NumberAttribute()
        committed_at = UTCDateTimeAttribute()

    class ExecutionByCreated(LocalSecondaryIndex):
        Meta = _index_meta("by_created")
        pk = UnicodeAttribute(hash_key=True)
        created = UnicodeAttribute(range_key=True)

    class ExecutionByPhase(GlobalSecondaryIndex):
        Meta = _index_meta("by_phase")
        phase_key = UnicodeAttribute(hash_key=True)
        created = UnicodeAttribute(range_key=True)

    class ExecutionByWorkflow(GlobalSecondaryIndex):
        Meta = _index_meta("by_workflow")
        workflow_key = UnicodeAttribute(hash_key=True)
        created = UnicodeAttribute(range_key=True)

    class Execution(Model):
        Meta = _meta(settings, settings.executions_table)
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        created = UnicodeAttribute()
        phase_key = UnicodeAttribute()
        workflow_key = UnicodeAttribute()
        project = UnicodeAttribute()
        domain = UnicodeAttribute()
        name = UnicodeAttribute()
        phase = UnicodeAttribute()
        phase_rank = NumberAttribute(default=0)
        workflow = JSONAttribute()  # identifier
        launch_plan = JSONAttribute(null=True)
        inputs_key = UnicodeAttribute(null=True)
        outputs_key = UnicodeAttribute(null=True)
        outputs = JSONAttribute(null=True)
        error = JSONAttribute(null=True)
        state_machine_arn = UnicodeAttribute(null=True)
        request_digest = UnicodeAttribute(null=True)
        plan_key = UnicodeAttribute(null=True)
        sfn_execution_arn = UnicodeAttribute(null=True)
        started_at = UTCDateTimeAttribute(null=True)
        ended_at = UTCDateTimeAttribute(null=True)
        created_at = UTCDateTimeAttribute()
        running_nodes = UnicodeSetAttribute(null=True)  # task slots taken under a launch plan's max_parallelism
        by_created = ExecutionByCreated()
        by_phase = ExecutionByPhase()
        by_workflow = ExecutionByWorkflow()

    class NodeExecution(Model):
        Meta = _meta(settings, settings.node_executions_table)
        pk = UnicodeAttribute(hash_key=True)
        sk = UnicodeAttribute(range_key=True)
        task = JSONAttribute(null=True)
        phase = UnicodeAttribute(null=True)
        phase_rank = NumberAttribute(null=True)
        attempts = NumberAttribute(null=True)
        pod = UnicodeAttribute(null=True)
        outputs_key = UnicodeAttribute(null=True)
        error = JSONAttribute(null=True)
        cache_hit = UnicodeAttribute(null=True)
        started_at = UTCDateTimeAttribute(null=True)
        ended_at = UTCDateTimeAttribute(null=True)
        wait_token = UnicodeAttribute(null=True)
        finished_deps = UnicodeSetAttribute(null=True)  # dependencies seen succeeded, while the node waits
        gathered = UnicodeSetAttribute(null=True)  # a map's item chunks gathered so far
        map_items = JSONAttribute(null=True)  # a gathered map's items: count, succeeded, failed, failed_items
        attempt_log = ListAttribute(null=True)  # one map per attempt (chalicelib.attempts)

    class TaskCache(Model):
        Meta = _meta(settings, settings.task_cache_table)
        key = UnicodeAttribute(hash_key=True)
        outputs_key = UnicodeAttribute()
        task = JSONAttribute()
        created_at = UTCDateTimeAttribute()
        expires_at = NumberAttribute(null=True)

    return Models(Project, Entity, RegistrationBatch, Execution, NodeExecution, TaskCache)
