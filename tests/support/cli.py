"""Running the `slipstream` command as a user would, for the end-to-end tests."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def slipstream(home: Path, *args: str, timeout: float = 240.0) -> subprocess.CompletedProcess[str]:
    """`python -m slipstream ARGS` from the repository root, with its own SLIPSTREAM_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLIPSTREAM_")}
    env.update(SLIPSTREAM_HOME=str(home), COLUMNS="160")
    return subprocess.run([sys.executable, "-m", "slipstream", *args], capture_output=True, text=True, cwd=ROOT,
                          env=env, timeout=timeout)


def succeeded(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, f"{done.args} exited {done.returncode}:\n{done.stdout}\n{done.stderr}"
    return done
