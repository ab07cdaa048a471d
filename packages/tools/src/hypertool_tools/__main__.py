"""``python -m hypertool_tools``: the ``hypertool`` command."""

import sys

from hypertool_tools.cli import main

sys.exit(main())
