"""slipstream: Flyte's workflow model with a serverless control plane on AWS.

    from slipstream import task, workflow

    @task
    def add(a: int, b: int) -> int:
        return a + b

Names and semantics follow flytekit, so porting a Flyte workflow is a change of imports.
"""

from chalicelib.errors import (
    CycleError,
    ExecutionError,
    SlipstreamError,
    TaskFailedError,
    TypeMismatchError,
    UnknownReferenceError,
    UserError,
    ValidationError,
)
from slipstream.conditional import ConditionalSection, conditional
from slipstream.context import current_context
from slipstream.dynamic import DynamicTask, dynamic
from slipstream.files import Directory, File
from slipstream.gates import approve, sleep, wait_for_input
from slipstream.image_spec import ImageSpec
from slipstream.instance_task import Echo
from slipstream.interface import kwtypes
from slipstream.launch_plan import (
    SNS,
    CronSchedule,
    Email,
    FixedRate,
    LaunchPlan,
    PagerDuty,
    Slack,
    WorkflowExecutionPhase,
)
from slipstream.map_task import MapTask, map_task
from slipstream.resources import Resources
from slipstream.shell_task import OutputLocation, ShellTask
from slipstream.task import PythonTask, Secret, task
from slipstream.workflow import Workflow, workflow

__version__ = "0.1.0"

__all__ = [
    "SNS",
    "ConditionalSection",
    "CronSchedule",
    "CycleError",
    "Directory",
    "DynamicTask",
    "Echo",
    "Email",
    "ExecutionError",
    "File",
    "FixedRate",
    "ImageSpec",
    "LaunchPlan",
    "MapTask",
    "OutputLocation",
    "PagerDuty",
    "PythonTask",
    "Resources",
    "Secret",
    "ShellTask",
    "Slack",
    "SlipstreamError",
    "TaskFailedError",
    "TypeMismatchError",
    "UnknownReferenceError",
    "UserError",
    "ValidationError",
    "Workflow",
    "WorkflowExecutionPhase",
    "approve",
    "conditional",
    "current_context",
    "dynamic",
    "kwtypes",
    "map_task",
    "sleep",
    "task",
    "wait_for_input",
    "workflow",
]
