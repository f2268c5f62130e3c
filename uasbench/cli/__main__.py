"""``python -m uasbench.cli``: the same entry point as the ``uasbench`` console script."""

import sys

from uasbench.cli import main

sys.exit(main())
