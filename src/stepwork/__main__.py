"""``python -m stepwork ...``: the same as the ``stepwork`` command."""

from stepwork._cli.entry import main

__all__ = ["main"]

if __name__ == "__main__":
    main()
