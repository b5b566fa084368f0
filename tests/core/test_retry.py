"""Retry policies, part one: the public surface, wait strategies and their composition, ours
against LlamaIndex Workflows' ``workflows.retry_policy``, call for call (conditions, stops, whole
policies and ``compute_retry_delay`` are in ``test_retry_policies.py``)."""

from __future__ import annotations

import doctest
import importlib
import random
import types
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import workflows.retry_policy as anchor

from stepwork._core import retry as core_retry
from stepwork._core import retry_conditions, retry_jitter, retry_stops, retry_waits

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
