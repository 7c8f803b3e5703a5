"""``python -m rfisher``: the same as the ``rfisher`` command."""

import sys

from rfisher.cli import main

sys.exit(main())
