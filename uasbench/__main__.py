"""``python -m uasbench``: the same entry point as the ``uasbench`` console script."""

import sys

from uasbench.cli import main

sys.exit(main())
