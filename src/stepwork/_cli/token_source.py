"""Where ``stepwork serve`` gets its token: ``--token``, ``--token-file``, ``$STEPWORK_TOKEN`` or
``$STEPWORK_TOKEN_FILE``, in that order (a flag wins over the environment).

A file keeps the secret out of ``ps`` and shell history; its trailing line ending is dropped.
An empty value anywhere is an error, never "no token": ``STEPWORK_TOKEN=`` that silently turned
auth off, or ``--token ""`` that turned it on with an empty secret, are what this prevents.

Example:
    >>> resolve_token(None, None, {"STEPWORK_TOKEN": "s3cret"})
    's3cret'
    >>> resolve_token(None, None, {}) is None
    True
    >>> resolve_token("", None, {})
    Traceback (most recent call last):
    ...
    stepwork.errors.ServerConfigurationError: --token is empty: ...
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from stepwork._core.errors import ServerConfigurationError

__all__ = ["TOKEN_ENV", "TOKEN_FILE_ENV", "resolve_token"]

TOKEN_ENV = "STEPWORK_TOKEN"
"""The environment variable holding the token."""

TOKEN_FILE_ENV = "STEPWORK_TOKEN_FILE"
"""The environment variable naming a file that holds the token."""


def _from_file(path: str, source: str) -> str:
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        reason = getattr(error, "strerror", None) or str(error)
        raise ServerConfigurationError(
            f"cannot read the token file {path!r} ({source}): {reason}"
        ) from None
    token = text.removesuffix("\n").removesuffix("\r")
    if not token.strip():
        raise ServerConfigurationError(
            f"the token file {path!r} ({source}) is empty: write the token into it"
        )
    return token


def resolve_token(
    flag: str | None, file_flag: str | None, environ: Mapping[str, str]
) -> str | None:
    """The token to serve with, or ``None`` for none.

    Args:
        flag: ``--token``'s value, if given.
        file_flag: ``--token-file``'s value, if given.
        environ: The environment (``os.environ``).

    Raises:
        ServerConfigurationError: If both flags (or both variables) are given, a value or a
            file is empty, or the file cannot be read.
    """
    if flag is not None and file_flag is not None:
        raise ServerConfigurationError("give --token or --token-file, not both")
    if flag is not None:
        if not flag.strip():
            raise ServerConfigurationError(
                "--token is empty: give a real token, or leave --token out to serve without one"
            )
        return flag
    if file_flag is not None:
        return _from_file(file_flag, "--token-file")
    value, path = environ.get(TOKEN_ENV), environ.get(TOKEN_FILE_ENV)
    if value is not None and path is not None:
        raise ServerConfigurationError(f"set ${TOKEN_ENV} or ${TOKEN_FILE_ENV}, not both")
    if value is not None:
        if not value.strip():
            raise ServerConfigurationError(
                f"{TOKEN_ENV} is empty: set it to a real token, or unset it to serve without one"
            )
        return value
    if path is not None:
        return _from_file(path, f"${TOKEN_FILE_ENV}")
    return None
