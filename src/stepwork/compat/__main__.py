"""``python -m stepwork.compat app.py [args]``: see :mod:`stepwork.compat`."""

import sys

from stepwork._compat.launcher import main

__all__ = ["main"]

if __name__ == "__main__":
    sys.exit(main())
