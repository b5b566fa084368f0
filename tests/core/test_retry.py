"""Retry policies: ours against LlamaIndex Workflows' ``workflows.retry_policy``, call for call."""

from __future__ import annotations

import dataclasses
import doctest
import importlib
import random
import re
import types
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import pytest
import workflows.retry_policy as anchor

from stepwork._core import retry as core_retry
from stepwork._core import retry_conditions, retry_jitter, retry_stops, retry_waits
from stepwork._core.retry import compute_retry_delay, policy_accepts_seed

# The top-level package also exports the retry_policy() function under the module's name, so
# fetch the module itself rather than the package attribute.
ours = importlib.import_module("stepwork.retry_policy")

Builder = Callable[[Any], Any]

INDICES = [-2, -1, 0, 1, 2, 3, 4, 5, 6, 7, 10, 20, 100]
SEEDS = [0, 1, 7, 42, 123456789, 2**40]


def both(build: Builder) -> tuple[Any, Any]:
    return build(ours), build(anchor)


# --- public surface --------------------------------------------------------------------------

# Names the anchor module only imports for its own use; they are not part of its API.
ANCHOR_INCIDENTAL = {
    "Callable",
    "Protocol",
    "annotations",
    "cast",
    "dataclass",
    "datetime",
    "random",
    "re",
    "runtime_checkable",
    "timedelta",
    "warnings",
}


def test_public_names_match_the_anchor() -> None:
    anchor_public = {name for name in dir(anchor) if not name.startswith("_")}
    for name in ANCHOR_INCIDENTAL:
        defined_here = getattr(getattr(anchor, name), "__module__", None) == anchor.__name__
        assert not defined_here, name
    assert set(ours.__all__) == anchor_public - ANCHOR_INCIDENTAL
    assert ours.__all__ == sorted(ours.__all__)
    for name in ours.__all__:
        assert hasattr(ours, name), name


@pytest.mark.parametrize("name", sorted(set(ours.__all__) - {"time_unit_type"}))
def test_public_names_have_the_anchor_kind(name: str) -> None:
    mine, theirs = getattr(ours, name), getattr(anchor, name)
    assert isinstance(mine, type) == isinstance(theirs, type)
    assert mine.__doc__


def test_time_unit_type_accepts_the_same_types() -> None:
    assert set(ours.time_unit_type.__args__) == set(anchor.time_unit_type.__args__)


@pytest.mark.parametrize(
    "module",
    [core_retry, retry_conditions, retry_jitter, retry_stops, retry_waits],
    ids=lambda module: module.__name__,
)
def test_docstring_examples_run(module: types.ModuleType) -> None:
    failed, attempted = doctest.testmod(module, raise_on_error=False, verbose=False)
    assert failed == 0
    assert attempted > 0 or module is not core_retry


# --- wait strategies -------------------------------------------------------------------------

DETERMINISTIC_WAITS: dict[str, Builder] = {
    "fixed": lambda m: m.wait_fixed(3),
    "fixed-timedelta": lambda m: m.wait_fixed(timedelta(seconds=2, milliseconds=500)),
    "fixed-negative": lambda m: m.wait_fixed(-3),
    "fixed-string": lambda m: m.wait_fixed("1.5"),
    "none": lambda m: m.wait_none(),
    "exponential-default": lambda m: m.wait_exponential(),
    "exponential-custom": lambda m: m.wait_exponential(3, 3, 50, 2),
    "exponential-timedelta": lambda m: m.wait_exponential(
        max=timedelta(seconds=3), min=timedelta(seconds=1)
    ),
    "exponential-negative-multiplier": lambda m: m.wait_exponential(-1),
    "exponential-negative-base": lambda m: m.wait_exponential(exp_base=-2),
    "exponential-uncapped": lambda m: m.wait_exponential(max=float("inf")),
    "exponential-min-above-max": lambda m: m.wait_exponential(min=10, max=5),
    "incrementing-default": lambda m: m.wait_incrementing(),
    "incrementing-custom": lambda m: m.wait_incrementing(1, 2, 5),
    "incrementing-negative": lambda m: m.wait_incrementing(-5, -1),
    "incrementing-timedelta": lambda m: m.wait_incrementing(
        timedelta(seconds=1), timedelta(seconds=2), timedelta(seconds=40)
    ),
    "chain": lambda m: m.wait_chain(
        m.wait_fixed(1), m.wait_exponential(), m.wait_incrementing(10, 1)
    ),
    "chain-single": lambda m: m.wait_chain(m.wait_exponential()),
    "combine": lambda m: m.wait_combine(m.wait_fixed(1), m.wait_incrementing(0, 1)),
    "plus": lambda m: m.wait_fixed(1) + m.wait_exponential() + m.wait_fixed(0.5),
    "sum": lambda m: sum([m.wait_fixed(1), m.wait_incrementing(0, 2), m.wait_none()]),
    "exponential-jitter-without-jitter": lambda m: m.wait_exponential_jitter(2, 3, 100, 0),
    "exponential-jitter-negative-initial": lambda m: m.wait_exponential_jitter(
        initial=-5, jitter=0
    ),
}


def outcome(call: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
    """The value of ``call(*args, **kwargs)``, or the type and text of what it raised."""
    try:
        return call(*args, **kwargs)
    except Exception as error:  # both sides must fail alike, so the failure is the outcome
        return (type(error), str(error))


@pytest.mark.parametrize("build", DETERMINISTIC_WAITS.values(), ids=DETERMINISTIC_WAITS.keys())
def test_deterministic_waits_match_the_anchor(build: Builder) -> None:
    mine, theirs = both(build)
    for index in INDICES:
        expected = outcome(theirs, index)
        assert outcome(mine, index) == expected, index
        assert outcome(mine, index, seed=5) == outcome(theirs, index, seed=5), index
        assert isinstance(expected, tuple) or isinstance(mine(index), float)


RANDOM_WAITS: dict[str, tuple[Builder, Callable[[int], tuple[float, float]]]] = {
    "random-default": (lambda m: m.wait_random(), lambda n: (0.0, 1.0)),
    "random-custom": (lambda m: m.wait_random(2, 5), lambda n: (2.0, 5.0)),
    "random-timedelta": (
        lambda m: m.wait_random(timedelta(seconds=1), timedelta(seconds=2)),
        lambda n: (1.0, 2.0),
    ),
    "exponential-jitter-default": (
        lambda m: m.wait_exponential_jitter(),
        lambda n: (min(2.0**n, 60.0), min(2.0**n + 1, 60.0)),
    ),
    "exponential-jitter-custom": (
        lambda m: m.wait_exponential_jitter(2, 3, 100, 3),
        lambda n: (min(2 * 3.0**n, 100.0), min(2 * 3.0**n + 3, 100.0)),
    ),
    "random-exponential-default": (
        lambda m: m.wait_random_exponential(),
        lambda n: (0.0, min(2.0**n, 60.0)),
    ),
    "random-exponential-custom": (
        lambda m: m.wait_random_exponential(2, 3, 50, 1),
        lambda n: (1.0, max(1.0, min(2 * 3.0**n, 50.0))),
    ),
    "full-jitter": (lambda m: m.wait_full_jitter(), lambda n: (0.0, min(2.0**n, 60.0))),
    "chain-random": (
        lambda m: m.wait_chain(m.wait_random(0, 10), m.wait_random(10, 20)),
        lambda n: (0.0, 10.0) if n == 0 else (10.0, 20.0),
    ),
    "combine-random": (
        lambda m: m.wait_random(0, 10) + m.wait_fixed(1),
        lambda n: (1.0, 11.0),
    ),
}


@pytest.mark.parametrize(("build", "bounds"), RANDOM_WAITS.values(), ids=RANDOM_WAITS.keys())
def test_random_waits_with_a_seed_match_the_anchor(
    build: Builder, bounds: Callable[[int], tuple[float, float]]
) -> None:
    mine, theirs = both(build)
    for index in [-1, 0, 1, 2, 3, 5, 8, 100]:
        low, high = bounds(index)
        for seed in SEEDS:
            delay = mine(index, seed=seed)
            assert delay == theirs(index, seed=seed), (index, seed)
            assert delay == mine(index, seed=seed)
            assert low <= delay <= high


@pytest.mark.parametrize(("build", "bounds"), RANDOM_WAITS.values(), ids=RANDOM_WAITS.keys())
def test_random_waits_without_a_seed_stay_in_range(
    build: Builder, bounds: Callable[[int], tuple[float, float]]
) -> None:
    mine = build(ours)
    for index in [0, 1, 4]:
        low, high = bounds(index)
        delays = {mine(index) for _ in range(50)}
        assert all(low <= delay <= high for delay in delays)
        assert len(delays) > 1 or low == high


def test_unseeded_random_waits_follow_the_shared_generator_like_the_anchor() -> None:
    random.seed(1234)
    mine = [ours.wait_random(0, 5)(0), ours.wait_exponential_jitter()(2)]
    random.seed(1234)
    theirs = [anchor.wait_random(0, 5)(0), anchor.wait_exponential_jitter()(2)]
    assert mine == theirs


def test_combined_strategies_share_the_seed() -> None:
    single = ours.wait_random(0, 10)(0, seed=5)
    assert (ours.wait_random(0, 10) + ours.wait_random(0, 10))(0, seed=5) == 2 * single


def test_huge_exponents_clamp_to_max_instead_of_overflowing() -> None:
    # Deliberate divergence: the anchor raises OverflowError here and crashes the failing step.
    with pytest.raises(OverflowError):
        anchor.wait_exponential()(2000)
    assert ours.wait_exponential()(2000) == 60.0
    assert ours.wait_exponential(max=float("inf"))(2000) == float("inf")
    assert ours.wait_exponential(multiplier=0)(2000) == 0.0
    assert ours.wait_exponential(multiplier=-1)(2000) == 0.0
    assert ours.wait_exponential_jitter()(2000, seed=1) == 60.0
    assert ours.wait_random_exponential(max=7)(2000, seed=0) <= 7.0
    policy = ours.retry_policy(wait=ours.wait_exponential(), stop=ours.stop_never())
    assert policy.next(0.0, 2001, ValueError()) == 60.0


# --- composition -----------------------------------------------------------------------------


def test_wait_composition_builds_combines() -> None:
    first, second = ours.wait_fixed(1), ours.wait_fixed(2)
    assert isinstance(first + second, ours.wait_combine)
    total: Any = sum([first, second])
    assert isinstance(total, ours.wait_combine)
    assert first.__radd__(0) is first
    assert first.__radd__(5) is NotImplemented
    assert (first + (lambda n, seed=None: 4.0))(0) == 5.0
    assert ((lambda n, seed=None: 4.0) + first)(0) == 5.0
    assert ours.wait_combine()(3) == 0.0
    with pytest.raises(TypeError):
        _ = 5 + ours.wait_fixed(1)


@pytest.mark.parametrize(
    "combine",
    [
        lambda: ours.wait_fixed(1) + 5,  # type: ignore[operator]
        lambda: ours.retry_always() | 5,  # type: ignore[operator]
        lambda: 5 | ours.retry_always(),  # type: ignore[operator]
        lambda: ours.retry_always() & 5,  # type: ignore[operator]
        lambda: 5 & ours.retry_always(),  # type: ignore[operator]
        lambda: ours.stop_never() | "x",  # type: ignore[operator]
        lambda: "x" | ours.stop_never(),  # type: ignore[operator]
        lambda: ours.stop_never() & "x",  # type: ignore[operator]
        lambda: "x" & ours.stop_never(),  # type: ignore[operator]
    ],
)
def test_non_callables_do_not_compose(combine: Callable[[], object]) -> None:
    # The anchor builds a composite that only fails when called; we fail at the operator.
    with pytest.raises(TypeError, match="unsupported operand"):
        combine()


def test_condition_operators_nest_without_flattening() -> None:
    never, always = ours.retry_never(), ours.retry_always()

    def predicate(error: BaseException) -> bool:
        return True

    either = never | always
    assert isinstance(either, ours.retry_any)
    assert either.retries == (never, always)
    assert (predicate | never).retries == (predicate, never)
    assert (predicate & never).retries == (predicate, never)
    nested = either | never
    assert nested.retries == (either, never)
    assert isinstance(never & always, ours.retry_all)


def test_stop_operators() -> None:
    never = ours.stop_never()

    def stop_now(attempts: int, elapsed_time: float, *, upcoming_sleep: float = 0.0) -> bool:
        return True

    assert isinstance(never | stop_now, ours.stop_any)
    assert (stop_now | never).stops == (stop_now, never)
    assert (stop_now | never)(1, 0.0) is True
    assert (stop_now & never)(1, 0.0) is False


def test_any_and_all_short_circuit() -> None:
    calls: list[BaseException] = []

    def record(error: BaseException) -> bool:
        calls.append(error)
        return True

    assert ours.retry_any(ours.retry_always(), ours.retry_if_exception(record))(ValueError())
    assert not ours.retry_all(ours.retry_never(), ours.retry_if_exception(record))(ValueError())
    assert calls == []


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
