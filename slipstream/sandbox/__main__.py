"""`python -m slipstream.sandbox STATE_DIR`: the background process behind `slipstream sandbox start`.

Once `serve` has stopped the sandbox and removed its files, the process ends at once (`os._exit`): all
its state is in memory and goes with it, and letting the interpreter tear down moto's objects (over half a
million after a few dozen executions) took 5–8 s of a loaded machine, which `slipstream sandbox stop`
waited for."""

import logging
import os
import sys
import traceback
from pathlib import Path

from slipstream.sandbox.server import serve

if __name__ == "__main__":  # task processes re-import the main module: serve only here
    code = 1
    try:
        serve(Path(sys.argv[1]))
        code = 0
    except BaseException:  # the plain traceback too: the start's failure message shows the log's last lines
        traceback.print_exc()
    finally:  # a failed start ends at once too
        logging.shutdown()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
