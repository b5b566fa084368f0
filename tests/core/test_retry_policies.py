"""Retry policies, part two: conditions, stops, whole policies, ``compute_retry_delay`` and
``RetryInfo``, ours against LlamaIndex Workflows' ``workflows.retry_policy``, call for call
(waits and composition are in ``test_retry.py``)."""

from __future__ import annotations

import dataclasses
import importlib
import re
import types
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import workflows.retry_policy as anchor

from stepwork._core.retry import compute_retry_delay, policy_accepts_seed

# The top-level package also exports the retry_policy() function under the module's name, so
# fetch the module itself rather than the package attribute.
ours = importlib.import_module("stepwork.retry_policy")

Builder = Callable[[Any], Any]


def both(build: Builder) -> tuple[Any, Any]:
    return build(ours), build(anchor)


# --- retry conditions ------------------------------------------------------------------------


class Base(Exception):
    pass


class Derived(Base):
    pass


def caused(outer: BaseException, cause: BaseException, *, implicit: bool = False) -> BaseException:
    if implicit:
        outer.__context__ = cause
    else:
        outer.__cause__ = cause
    return outer


ERRORS: list[BaseException] = [
    ValueError("boom"),
    Derived("boom 42"),
    KeyError("k"),
    KeyboardInterrupt(),
    caused(RuntimeError("x"), Base("y")),
    caused(RuntimeError("x"), caused(TypeError("t"), Derived("deep"))),
    caused(RuntimeError("x"), Base("c"), implicit=True),
    Base("prefix boom suffix"),
    ValueError(""),
]

CONDITIONS: dict[str, Builder] = {
    "always": lambda m: m.retry_always(),
    "never": lambda m: m.retry_never(),
    "predicate": lambda m: m.retry_if_exception(lambda e: "x" in str(e)),
    "type-default": lambda m: m.retry_if_exception_type(),
    "type-one": lambda m: m.retry_if_exception_type(Base),
    "type-tuple": lambda m: m.retry_if_exception_type((KeyError, Derived)),
    "type-base-exception": lambda m: m.retry_if_exception_type(BaseException),
    "not-type": lambda m: m.retry_if_not_exception_type(Base),
    "not-type-default": lambda m: m.retry_if_not_exception_type(),
    "unless-type": lambda m: m.retry_unless_exception_type((Base, KeyError)),
    "message": lambda m: m.retry_if_exception_message(message="boom"),
    "message-empty": lambda m: m.retry_if_exception_message(message=""),
    "match-prefix": lambda m: m.retry_if_exception_message(match="boo"),
    "match-anchored": lambda m: m.retry_if_exception_message(match=r"boom$"),
    "match-start": lambda m: m.retry_if_exception_message(match=r"^boom"),
    "match-compiled": lambda m: m.retry_if_exception_message(match=re.compile("b..m")),
    "match-digits": lambda m: m.retry_if_exception_message(match=r"\d+"),
    "match-empty": lambda m: m.retry_if_exception_message(match=""),
    "not-message": lambda m: m.retry_if_not_exception_message(message="boom"),
    "not-match": lambda m: m.retry_if_not_exception_message(match="boo"),
    "cause-default": lambda m: m.retry_if_exception_cause_type(),
    "cause-base": lambda m: m.retry_if_exception_cause_type(Base),
    "cause-derived": lambda m: m.retry_if_exception_cause_type(Derived),
    "cause-self-type": lambda m: m.retry_if_exception_cause_type(RuntimeError),
    "any-empty": lambda m: m.retry_any(),
    "all-empty": lambda m: m.retry_all(),
    "or": lambda m: m.retry_if_exception_type(KeyError) | m.retry_if_exception_type(Base),
    "and": lambda m: m.retry_if_exception_type(Base) & m.retry_if_exception_message(match="boom"),
    "or-function": lambda m: m.retry_never() | (lambda e: isinstance(e, KeyError)),
    "and-function": lambda m: (lambda e: True) & m.retry_if_exception_type(ValueError),
}


@pytest.mark.parametrize("build", CONDITIONS.values(), ids=CONDITIONS.keys())
def test_retry_conditions_match_the_anchor(build: Builder) -> None:
    mine, theirs = both(build)
    for error in ERRORS:
        assert mine(error) is theirs(error), repr(error)


def test_cause_chain_cycles_terminate() -> None:
    first, second = ValueError("a"), ValueError("b")
    first.__cause__, second.__cause__ = second, first
    assert not ours.retry_if_exception_cause_type(KeyError)(first)
    assert ours.retry_if_exception_cause_type(ValueError)(first)


@pytest.mark.parametrize(
    "kwargs", [{}, {"message": "a", "match": "b"}, {"message": None, "match": None}]
)
@pytest.mark.parametrize("name", ["retry_if_exception_message", "retry_if_not_exception_message"])
def test_message_conditions_need_exactly_one_argument(kwargs: dict[str, Any], name: str) -> None:
    with pytest.raises(TypeError) as theirs:
        getattr(anchor, name)(**kwargs)
    with pytest.raises(TypeError) as mine:
        getattr(ours, name)(**kwargs)
    assert str(mine.value) == str(theirs.value)


def test_message_condition_rejects_a_bad_pattern_early() -> None:
    with pytest.raises(re.error):
        ours.retry_if_exception_message(match="(")


# --- stop conditions -------------------------------------------------------------------------

STOPS: dict[str, Builder] = {
    "after-attempt": lambda m: m.stop_after_attempt(3),
    "after-attempt-zero": lambda m: m.stop_after_attempt(0),
    "after-attempt-float": lambda m: m.stop_after_attempt(2.5),
    "after-delay": lambda m: m.stop_after_delay(10),
    "after-delay-timedelta": lambda m: m.stop_after_delay(timedelta(seconds=10)),
    "before-delay": lambda m: m.stop_before_delay(10),
    "before-delay-timedelta": lambda m: m.stop_before_delay(timedelta(milliseconds=10_000)),
    "never": lambda m: m.stop_never(),
    "any-empty": lambda m: m.stop_any(),
    "all-empty": lambda m: m.stop_all(),
    "or": lambda m: m.stop_after_attempt(3) | m.stop_after_delay(10),
    "and": lambda m: m.stop_after_attempt(3) & m.stop_before_delay(10),
    "any": lambda m: m.stop_any(m.stop_before_delay(7), m.stop_after_attempt(4)),
    "all": lambda m: m.stop_all(m.stop_after_delay(5), m.stop_after_attempt(2)),
}

STOP_INPUTS = [
    (attempts, elapsed, sleep)
    for attempts in [-1, 0, 1, 2, 3, 4]
    for elapsed in [-1.0, 0.0, 5.0, 6.0, 9.9, 10.0, 20.0]
    for sleep in [0.0, 3.9, 4.0, 10.0]
]


@pytest.mark.parametrize("build", STOPS.values(), ids=STOPS.keys())
def test_stop_conditions_match_the_anchor(build: Builder) -> None:
    mine, theirs = both(build)
    for attempts, elapsed, sleep in STOP_INPUTS:
        expected = theirs(attempts, elapsed, upcoming_sleep=sleep)
        assert mine(attempts, elapsed, upcoming_sleep=sleep) is expected
        assert mine(attempts, elapsed) is theirs(attempts, elapsed)


# --- policies --------------------------------------------------------------------------------

POLICIES: dict[str, Builder] = {
    "default": lambda m: m.retry_policy(),
    "keyed": lambda m: m.retry_policy(
        retry=m.retry_if_exception_type(KeyError),
        wait=m.wait_exponential(),
        stop=m.stop_after_attempt(5) | m.stop_before_delay(10),
    ),
    "never-stop": lambda m: m.retry_policy(wait=m.wait_incrementing(1, 1), stop=m.stop_never()),
    "random": lambda m: m.retry_policy(wait=m.wait_random(0, 10), stop=m.stop_before_delay(10)),
    "jitter": lambda m: m.retry_policy(
        retry=m.retry_if_exception_message(match="again"),
        wait=m.wait_exponential_jitter(initial=0.5),
        stop=m.stop_after_delay(30),
    ),
    "negative-wait": lambda m: m.retry_policy(wait=m.wait_fixed(-2)),
    "functions": lambda m: m.retry_policy(
        retry=lambda e: isinstance(e, KeyError),
        wait=lambda n, seed=None: 7,
        stop=lambda a, e, upcoming_sleep=0.0: a > 3,
    ),
}

# Unseeded, these draw from the shared generator, so two calls cannot be compared.
RANDOM_POLICIES = [POLICIES["random"], POLICIES["jitter"]]

POLICY_ERRORS: list[Exception] = [KeyError("again"), ValueError("try again"), Base("no")]


@pytest.mark.parametrize("build", POLICIES.values(), ids=POLICIES.keys())
def test_policies_match_the_anchor(build: Builder) -> None:
    mine, theirs = both(build)
    assert isinstance(mine, ours.RetryPolicy)
    for attempts in [-1, 0, 1, 2, 3, 4, 5, 6]:
        for elapsed in [0.0, 1.0, 3.0, 7.0, 29.0, 40.0]:
            for error in POLICY_ERRORS:
                for seed in [None, 0, 99]:
                    if seed is None and build in RANDOM_POLICIES:
                        continue
                    args = (elapsed, attempts, error)
                    assert mine.next(*args, seed=seed) == theirs.next(*args, seed=seed), args


def test_policy_consults_retry_then_wait_then_stop() -> None:
    log: list[str] = []

    def retry(error: BaseException) -> bool:
        log.append("retry")
        return True

    def wait(attempts: int, *, seed: int | None = None) -> float:
        log.append(f"wait {attempts} {seed}")
        return 2.5

    def stop(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        log.append(f"stop {attempts} {elapsed_time} {upcoming_sleep}")
        return False

    policy = ours.retry_policy(retry=retry, wait=wait, stop=stop)
    assert policy.next(4.0, 3, ValueError(), seed=11) == 2.5
    assert log == ["retry", "wait 2 11", "stop 3 4.0 2.5"]


def test_stop_after_attempt_counts_executions() -> None:
    policy = ours.retry_policy(wait=ours.wait_none(), stop=ours.stop_after_attempt(3))
    decisions = [policy.next(0.0, attempts, ValueError()) for attempts in (1, 2, 3)]
    assert decisions == [0.0, 0.0, None]


@pytest.mark.parametrize(
    ("name", "kwargs"),
    [
        ("ConstantDelayRetryPolicy", {}),
        ("ConstantDelayRetryPolicy", {"maximum_attempts": 1, "delay": 0.5}),
        ("ConstantDelayRetryPolicy", {"maximum_attempts": 6, "delay": 2}),
        ("ExponentialBackoffRetryPolicy", {}),
        ("ExponentialBackoffRetryPolicy", {"jitter": False}),
        (
            "ExponentialBackoffRetryPolicy",
            {"maximum_attempts": 10, "initial_delay": 3, "multiplier": 3, "max_delay": 100},
        ),
        (
            "ExponentialBackoffRetryPolicy",
            {
                "maximum_attempts": 10,
                "initial_delay": 3,
                "multiplier": 3,
                "max_delay": 100,
                "jitter": False,
            },
        ),
    ],
)
def test_deprecated_factories_warn_and_match_the_anchor(name: str, kwargs: dict[str, Any]) -> None:
    with pytest.warns(DeprecationWarning) as theirs_warnings:
        theirs = getattr(anchor, name)(**kwargs)
    with pytest.warns(DeprecationWarning, match=f"^{name} is deprecated") as mine_warnings:
        mine = getattr(ours, name)(**kwargs)
    assert [str(w.message) for w in mine_warnings] == [str(w.message) for w in theirs_warnings]
    assert mine_warnings[0].filename == __file__
    assert isinstance(mine, ours.RetryPolicy)
    for attempts in range(0, 12):
        for seed in [0, 1, 42]:
            expected = theirs.next(0.0, attempts, ValueError(), seed=seed)
            assert mine.next(0.0, attempts, ValueError(), seed=seed) == expected


# --- compute_retry_delay ---------------------------------------------------------------------


class OldPolicy:
    def __init__(self) -> None:
        self.calls: list[tuple[float, int, Exception]] = []

    def next(self, elapsed_time: float, attempts: int, error: Exception) -> float | None:
        self.calls.append((elapsed_time, attempts, error))
        return 1.5 if attempts < 3 else None


class KwargsPolicy:
    def next(self, elapsed_time: float, attempts: int, error: Exception, **extra: Any) -> float:
        return float(extra["seed"])


class FaultyPolicy:
    def next(
        self, elapsed_time: float, attempts: int, error: Exception, *, seed: int | None = None
    ) -> float | None:
        raise TypeError("a bug inside the user's policy")


def test_compute_retry_delay_passes_the_seed() -> None:
    policy = ours.retry_policy(wait=ours.wait_random(0, 10))
    first = compute_retry_delay(policy, elapsed=0.0, attempts=1, error=ValueError(), seed=3)
    assert first == policy.next(0.0, 1, ValueError(), seed=3)
    assert first == compute_retry_delay(policy, elapsed=0.0, attempts=1, error=ValueError(), seed=3)
    assert (
        compute_retry_delay(KwargsPolicy(), elapsed=0.0, attempts=1, error=ValueError(), seed=9)
        == 9.0
    )


def test_compute_retry_delay_tolerates_policies_without_seed() -> None:
    policy = OldPolicy()
    error = ValueError()
    assert isinstance(policy, ours.RetryPolicy)
    assert not policy_accepts_seed(policy)
    assert compute_retry_delay(policy, elapsed=2.0, attempts=1, error=error, seed=5) == 1.5
    assert compute_retry_delay(policy, elapsed=3.0, attempts=3, error=error, seed=5) is None
    assert policy.calls == [(2.0, 1, error), (3.0, 3, error)]


def test_compute_retry_delay_does_not_swallow_type_errors_from_user_code() -> None:
    with pytest.raises(TypeError, match="bug inside"):
        compute_retry_delay(FaultyPolicy(), elapsed=0.0, attempts=1, error=ValueError(), seed=1)


def test_compute_retry_delay_normalises_the_delay() -> None:
    negative = ours.retry_policy(wait=ours.wait_fixed(-2))
    assert (
        compute_retry_delay(negative, elapsed=0.0, attempts=1, error=ValueError(), seed=None) == 0.0
    )
    integer = ours.retry_policy(wait=lambda n, seed=None: 7)
    delay = compute_retry_delay(integer, elapsed=0.0, attempts=1, error=ValueError(), seed=None)
    assert delay == 7.0
    assert isinstance(delay, float)


def test_policy_accepts_seed_on_policies_without_a_readable_signature() -> None:
    policy = types.SimpleNamespace(next=max)
    assert policy_accepts_seed(policy)


class UnhashableNext:
    __hash__ = None  # type: ignore[assignment]

    def __eq__(self, other: object) -> bool:
        return other is self

    def __call__(self, elapsed: float, attempts: int, error: Exception, *, seed: int) -> float:
        return float(seed)


def test_policy_accepts_seed_on_unhashable_callables() -> None:
    policy = types.SimpleNamespace(next=UnhashableNext())
    assert policy_accepts_seed(policy)
    assert compute_retry_delay(policy, elapsed=0.0, attempts=1, error=ValueError(), seed=4) == 4.0


def test_policy_accepts_seed_on_instance_attributes() -> None:
    with_seed = types.SimpleNamespace(next=lambda elapsed, attempts, error, seed=None: seed)
    without = types.SimpleNamespace(next=lambda elapsed, attempts, error: 1.0)
    assert policy_accepts_seed(with_seed)
    assert not policy_accepts_seed(without)


# --- RetryInfo and argument errors -----------------------------------------------------------


def test_retry_info_matches_the_anchor() -> None:
    mine_fields = [(f.name, str(f.type)) for f in dataclasses.fields(ours.RetryInfo)]
    theirs_fields = [(f.name, str(f.type)) for f in dataclasses.fields(anchor.RetryInfo)]
    assert mine_fields == theirs_fields
    when = datetime(2024, 1, 2, 3, 4, 5)
    error = ValueError("x")
    info = ours.RetryInfo(1, 2.0, error, when)
    assert info == ours.RetryInfo(
        retry_number=1, elapsed_seconds=2.0, last_exception=error, last_failed_at=when
    )
    assert repr(info).replace("stepwork", "") == repr(anchor.RetryInfo(1, 2.0, error, when))
    with pytest.raises(dataclasses.FrozenInstanceError):
        info.retry_number = 2  # type: ignore[misc]
    with pytest.raises(TypeError):
        ours.RetryInfo(retry_number=1)  # type: ignore[call-arg]


@pytest.mark.parametrize(
    ("build", "error_type"),
    [
        (lambda m: m.wait_fixed(None), TypeError),
        (lambda m: m.stop_after_delay("x"), ValueError),
        (lambda m: m.wait_random(min="a"), ValueError),
        (lambda m: m.wait_exponential(multiplier=timedelta(seconds=3)), TypeError),
        (lambda m: m.wait_chain(), ValueError),
        (lambda m: m.wait_chain(m.wait_fixed(1), m.wait_fixed(2))(-5), IndexError),
        (lambda m: m.wait_exponential(exp_base=0)(-1), ZeroDivisionError),
        (lambda m: m.retry_if_exception_type(5)(ValueError()), TypeError),
    ],
)
def test_argument_errors_match_the_anchor(build: Builder, error_type: type[Exception]) -> None:
    with pytest.raises(error_type) as theirs:
        build(anchor)
    with pytest.raises(error_type) as mine:
        build(ours)
    assert str(mine.value) == str(theirs.value)
