import sys

from uasbench.cli import main

sys.exit(main())
