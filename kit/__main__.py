"""``python -m kit`` is the ``kit`` command (for a system without it on PATH)."""

import sys

from kit.cli.main import main

sys.exit(main())
