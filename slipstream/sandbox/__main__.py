"""`python -m slipstream.sandbox STATE_DIR`: the background process behind `slipstream sandbox start`."""

import sys
from pathlib import Path

from slipstream.sandbox.server import serve

serve(Path(sys.argv[1]))
