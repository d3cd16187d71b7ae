"""Entry point the policy analyzer runs: ``python <this directory> <engine address> ...``.

Run that way, Python puts this directory itself on sys.path; the rules are imported as the
``policy`` package, as tests import them, so its parent goes on sys.path first.
"""

import sys
from pathlib import Path

if __package__ in (None, ""):
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from policy.pack import serve

serve()
