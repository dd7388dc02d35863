"""``python -m engine`` runs the ``nnplay`` command line."""

import sys

from .cli import main

sys.exit(main())
