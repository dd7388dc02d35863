"""``python -m playground``: open Network Playground."""

import sys

from .app import main

sys.exit(main())
