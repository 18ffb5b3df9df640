"""`python -m slipstream.sandbox STATE_DIR`: the background process behind `slipstream sandbox start`."""

import sys
from pathlib import Path

from slipstream.sandbox.server import serve

if __name__ == "__main__":  # task processes re-import the main module: serve only here
    serve(Path(sys.argv[1]))
