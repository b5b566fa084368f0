"""``python -m stepwork.compat app.py [args]``: see :mod:`stepwork.compat`."""

import sys

from stepwork._compat.launcher import main

__all__: list[str] = []

sys.exit(main())
