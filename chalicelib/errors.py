"""The one exception hierarchy shared by the SDK, the compiler and the control plane.

    SlipstreamError
    ├── UserError                  the caller can fix it; the API answers 4xx, the CLI exits 2
    │   ├── ValidationError        a spec, a name, a value or a workflow graph is wrong      (400)
    │   │   ├── TypeMismatchError  a value or an output does not fit the type it must have
    │   │   ├── CycleError         a workflow's nodes depend on each other in a loop
    │   │   └── UnknownReferenceError  a node, input, output, task or workflow does not exist
    │   ├── NotFoundError          the entity asked for is not stored                        (404)
    │   ├── ConflictError          a version is taken by different content                   (409)
    │   └── PayloadTooLargeError   a request body is over the limit                          (413)
    └── ExecutionError             a run failed: a task raised, a conditional took `.fail`
        └── TaskFailedError        one task failed after its retries

Messages name the thing in brackets and say what would fix it.
"""

from __future__ import annotations


class SlipstreamError(Exception):
    """Base of every error slipstream raises on purpose."""

    status_code = 500
    code = "InternalError"


class UserError(SlipstreamError):
    status_code = 400
    code = "BadRequest"


class ValidationError(UserError):
    code = "ValidationError"


class TypeMismatchError(ValidationError):
    code = "TypeMismatch"


class CycleError(ValidationError):
    code = "Cycle"


class UnknownReferenceError(ValidationError):
    code = "UnknownReference"


class NotFoundError(UserError):
    status_code = 404
    code = "NotFound"


class ConflictError(UserError):
    status_code = 409
    code = "Conflict"


class PayloadTooLargeError(UserError):
    status_code = 413
    code = "PayloadTooLarge"


class ExecutionError(SlipstreamError):
    code = "ExecutionFailed"


class TaskFailedError(ExecutionError):
    """A task raised (after its retries). `kind` is "user" for the task's own exception, "system" otherwise."""

    def __init__(self, message: str, *, node_id: str = "", kind: str = "user", traceback_tail: str = "") -> None:
        super().__init__(message)
        self.node_id = node_id
        self.kind = kind
        self.traceback_tail = traceback_tail
