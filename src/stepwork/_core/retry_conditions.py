"""Retry conditions: which errors are worth another attempt.

A retry condition is called with the error a step raised and answers whether to retry. Conditions
compose with ``|`` (either) and ``&`` (both); plain functions of one error compose with them too.

Invariants:
    * Conditions are pure predicates of the error; they never look at time or attempt counts
      (that is the stop condition's job).
    * ``retry_any`` and ``retry_all`` evaluate left to right and stop at the first decisive answer.
    * Class names are lower-case because LlamaIndex Workflows code spells them that way.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Protocol

__all__ = [
    "RetryCondition",
    "RetryConditionBase",
    "retry_all",
    "retry_always",
    "retry_any",
    "retry_if_exception",
    "retry_if_exception_cause_type",
    "retry_if_exception_message",
    "retry_if_exception_type",
    "retry_if_not_exception_message",
    "retry_if_not_exception_type",
    "retry_never",
    "retry_unless_exception_type",
]

ExceptionTypes = type[BaseException] | tuple[type[BaseException], ...]


class RetryCondition(Protocol):
    """Anything that decides from an error whether the step should be retried."""

    def __call__(self, error: BaseException) -> bool:
        """Return ``True`` to retry after ``error``."""
        ...


class RetryConditionBase:
    """Shared ``|`` / ``&`` composition for the built-in retry conditions."""

    def __call__(self, error: BaseException) -> bool:
        """Return ``True`` to retry after ``error``."""
        raise NotImplementedError

    def __or__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(self, other)

    def __ror__(self, other: RetryCondition) -> retry_any:
        if not callable(other):
            return NotImplemented
        return retry_any(other, self)

    def __and__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(self, other)

    def __rand__(self, other: RetryCondition) -> retry_all:
        if not callable(other):
            return NotImplemented
        return retry_all(other, self)


class retry_always(RetryConditionBase):
    """Retry after every error."""

    def __call__(self, error: BaseException) -> bool:
        """Return ``True``."""
        return True


class retry_never(RetryConditionBase):
    """Never retry."""

    def __call__(self, error: BaseException) -> bool:
        """Return ``False``."""
        return False


class retry_if_exception(RetryConditionBase):
    """Retry when a predicate of the error holds.

    Args:
        predicate: Called with the error; a truthy result means retry.
    """

    def __init__(self, predicate: Callable[[BaseException], bool]) -> None:
        self.predicate = predicate

    def __call__(self, error: BaseException) -> bool:
        """Return the predicate's verdict on ``error``."""
        return bool(self.predicate(error))


class retry_if_exception_type(retry_if_exception):
    """Retry when the error is an instance of one of the given types.

    Args:
        exception_types: A type or a tuple of types; subclasses match too.
    """

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(lambda error: isinstance(error, exception_types))


class retry_if_not_exception_type(retry_if_exception):
    """Retry when the error is *not* an instance of any of the given types.

    Args:
        exception_types: A type or a tuple of types that should not be retried.
    """

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types
        super().__init__(lambda error: not isinstance(error, exception_types))


class retry_unless_exception_type(retry_if_not_exception_type):
    """Another name for :class:`retry_if_not_exception_type`.

    Args:
        exception_types: A type or a tuple of types that should not be retried.
    """


class retry_if_exception_message(RetryConditionBase):
    """Retry when the error's message equals ``message`` or contains a match of ``match``.

    ``match`` is searched anywhere in ``str(error)`` (``re.search``), not anchored at its start.

    Args:
        message: The exact message to retry on.
        match: A regular expression, as text or compiled.

    Raises:
        TypeError: Unless exactly one of ``message`` and ``match`` is given.
        re.error: If ``match`` is not a valid regular expression.
    """

    def __init__(
        self, message: str | None = None, match: str | re.Pattern[str] | None = None
    ) -> None:
        if message is not None and match is not None:
            raise TypeError(
                "retry_if_exception_message() takes either 'message' or 'match', not both"
            )
        if message is None and match is None:
            raise TypeError(
                "retry_if_exception_message() missing 1 required argument 'message' or 'match'"
            )
        self.message = message
        self.match = match
        self._pattern = None if match is None else re.compile(match)

    def __call__(self, error: BaseException) -> bool:
        """Return whether the message of ``error`` qualifies."""
        text = str(error)
        if self._pattern is not None:
            return self._pattern.search(text) is not None
        return text == self.message


class retry_if_not_exception_message(retry_if_exception_message):
    """Retry when the error's message does *not* qualify (see :class:`retry_if_exception_message`).

    Args:
        message: The exact message not to retry on.
        match: A regular expression, as text or compiled.

    Raises:
        TypeError: Unless exactly one of ``message`` and ``match`` is given.
    """

    def __call__(self, error: BaseException) -> bool:
        """Return whether the message of ``error`` does not qualify."""
        return not super().__call__(error)


class retry_if_exception_cause_type(RetryConditionBase):
    """Retry when any error in the ``__cause__`` chain (``raise ... from``) has a given type.

    The error itself is not checked, nor its implicit ``__context__``.

    Args:
        exception_types: A type or a tuple of types to look for among the causes.
    """

    def __init__(self, exception_types: ExceptionTypes = Exception) -> None:
        self.exception_types = exception_types

    def __call__(self, error: BaseException) -> bool:
        """Return whether a cause of ``error`` has one of the types."""
        cause = error.__cause__
        seen: set[int] = set()
        # A hand-built cycle of causes must not loop forever.
        while cause is not None and id(cause) not in seen:
            if isinstance(cause, self.exception_types):
                return True
            seen.add(id(cause))
            cause = cause.__cause__
        return False


class retry_any(RetryConditionBase):
    """Retry when any of the conditions says so (what ``a | b`` builds); none means never.

    Args:
        *retries: The conditions to consult.
    """

    def __init__(self, *retries: RetryCondition) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        """Return whether any condition holds."""
        return any(condition(error) for condition in self.retries)


class retry_all(RetryConditionBase):
    """Retry when every condition says so (what ``a & b`` builds); none means always.

    Args:
        *retries: The conditions to consult.
    """

    def __init__(self, *retries: RetryCondition) -> None:
        self.retries = retries

    def __call__(self, error: BaseException) -> bool:
        """Return whether all conditions hold."""
        return all(condition(error) for condition in self.retries)
