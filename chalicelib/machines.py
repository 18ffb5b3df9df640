"""Step Functions adapter: state machines named by content hash (created once, shared by identical
workflows) and executions. The client is passed in."""

from __future__ import annotations

import contextlib
import hashlib
import json
import re
from typing import Any


class StateMachines:
    def __init__(self, sfn: Any, role_arn: str, region: str) -> None:
        self.sfn = sfn
        self.role_arn = role_arn
        self.account = role_arn.split(":")[4] if role_arn.count(":") >= 5 else "123456789012"
        self.region = region
        self._known: set[str] = set()

    def arn(self, name: str) -> str:
        return f"arn:aws:states:{self.region}:{self.account}:stateMachine:{name}"

    def ensure(self, definitions: dict[str, dict[str, Any]]) -> dict[str, str]:
        """Create the machines that do not exist yet; their names are content hashes, so an existing
        machine of that name has this definition."""
        for name, definition in definitions.items():
            if name in self._known:
                continue
            with contextlib.suppress(self.sfn.exceptions.StateMachineAlreadyExists):
                self.sfn.create_state_machine(name=name, definition=json.dumps(definition), roleArn=self.role_arn,
                                              type="STANDARD")
            self._known.add(name)
        return {name: self.arn(name) for name in definitions}

    def start(self, machine_arn: str, name: str, execution_input: dict[str, Any]) -> str:
        """Start (idempotently: the same name and input give the same execution) and return its ARN."""
        try:
            response = self.sfn.start_execution(stateMachineArn=machine_arn, name=name,
                                                input=json.dumps(execution_input))
        except self.sfn.exceptions.ExecutionAlreadyExists:
            return f"{machine_arn.replace(':stateMachine:', ':execution:')}:{name}"
        return response["executionArn"]


def sfn_execution_name(key: str) -> str:
    """A Step Functions execution name (≤ 80 characters, unique per machine) for an execution key."""
    readable = re.sub(r"[^A-Za-z0-9_-]", "-", key)[-50:].strip("-")
    return f"{readable}-{hashlib.sha256(key.encode()).hexdigest()[:16]}"
