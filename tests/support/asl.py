"""Amazon States Language checked by a real validator: the npm package `asl-validator` (pinned by the
repository's package-lock.json), run once per call in one `node` process for any number of definitions.

moto creates state machines that AWS refuses (duplicate state names across Map item processors, for
one), so executing a definition on the emulator is not proof that AWS takes it; every definition the
tests compile or create goes through here too.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]

# stdin: {name: definition}; stdout: {name: ["<error code>: <message>", ...]} for the invalid ones only
_SCRIPT = """
// asl-validator builds a new Ajv and compiles all its schemas for every definition (~60 ms each). Its
// options are the same for every definition here, so the first instance is kept and later constructions
// get it back with its (identical) formats and keywords already registered: ~1 ms a definition.
const ajv = require("ajv");
const Ajv = ajv.default;
let shared = null;
ajv.default = function SharedAjv(options) {
  if (shared === null) {
    shared = new Ajv(options);
    return shared;
  }
  const configured = new Set(["addFormat", "addKeyword", "addVocabulary"]);
  return new Proxy(shared, {get: (target, key, receiver) =>
    configured.has(key) ? (() => receiver) : Reflect.get(target, key, receiver)});
};
const validate = require("asl-validator");
let text = "";
process.stdin.setEncoding("utf8");
process.stdin.on("data", (chunk) => { text += chunk; });
process.stdin.on("end", () => {
  const found = {};
  for (const [name, definition] of Object.entries(JSON.parse(text))) {
    const result = validate(definition, {checkPaths: true, checkArn: true});
    if (!result.isValid) {
      found[name] = result.errors.map((e) => `${e["Error code"]}: ${e.Message}`);
    }
  }
  process.stdout.write(JSON.stringify(found));
});
"""


def asl_errors(definitions: Mapping[str, dict[str, Any]]) -> dict[str, list[str]]:
    """The validator's errors by definition name, for the invalid definitions only (`{}`: all valid).

    Fails the test, never skips it, when Node or the validator is missing: a check that silently does
    not run is worse than none."""
    node = shutil.which("node")
    if node is None:
        pytest.fail("asl-validator needs Node.js (node on PATH); install Node 18+ and run `npm ci` in the repo root")
    if not (ROOT / "node_modules" / "asl-validator" / "package.json").exists():
        pytest.fail(f"asl-validator is not installed: run `npm ci` in the repo root ({ROOT})")
    if not definitions:
        return {}
    done = subprocess.run([node, "-e", _SCRIPT], input=json.dumps(dict(definitions)), capture_output=True,
                          text=True, cwd=ROOT, check=False)
    if done.returncode != 0:
        pytest.fail(f"asl-validator crashed (exit {done.returncode}): {done.stderr.strip()[-2000:]}")
    return json.loads(done.stdout)


def deployed_definitions(sfn: Any) -> dict[str, dict[str, Any]]:
    """Every state machine on a Step Functions endpoint (moto's server), definition by machine name."""
    found: dict[str, dict[str, Any]] = {}
    for page in sfn.get_paginator("list_state_machines").paginate():
        for machine in page["stateMachines"]:
            described = sfn.describe_state_machine(stateMachineArn=machine["stateMachineArn"])
            found[machine["name"]] = json.loads(described["definition"])
    return found


def assert_deployed_valid(sfn: Any, where: str) -> int:
    """Fail with each refused machine's name and errors unless AWS would accept every state machine created
    on `sfn`'s endpoint; returns how many were checked. For the teardown of fixtures that start one."""
    definitions = deployed_definitions(sfn)
    errors = asl_errors(definitions)
    report = "\n".join(f"  {name}: {'; '.join(found)}" for name, found in sorted(errors.items()))
    assert not errors, f"{len(errors)} of {len(definitions)} state machines created in {where} are invalid:\n{report}"
    return len(definitions)
