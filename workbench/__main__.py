"""``python -m workbench``: the ``workbench`` command without its script."""

import sys

from workbench.cli import main

sys.exit(main())
