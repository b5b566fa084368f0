"""Run every benchmark against stepwork and llama-index-workflows in this invocation.

Each measurement runs in a fresh child process (``python -m benchmarks.child``), several
times; the table shows medians, the ratio between the engines, and how each engine's cost per
item scales from the small to the large size. Results also go to ``benchmarks/results.json``.

Then the dispatch chain with tracing absent, off and on, against the OpenTelemetry SDK's own
floor (``benchmarks.tracing``), as a second table.

Usage: ``python -m benchmarks.run [--repeat 5] [--quick] [--json PATH] [--tracing-only]``
(``make bench``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from benchmarks.tracing import VARIANTS

ROOT = Path(__file__).resolve().parent.parent


@dataclass
class Case:
    """One row of the table: a scenario at a small and a large size."""

    title: str
    scenario: str
    sizes: tuple[int, ...]
    unit: str  # how the per-item time is shown: "us" per item or "ms" per item
    anchor_sizes: tuple[int, ...] | None = None  # sizes the anchor can finish in reasonable time
    anchor_repeat: int | None = None
    results: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)


CASES = [
    Case("dispatch: one step re-emitting to itself", "chain", (1_000, 10_000), "us"),
    Case("20-step linear workflow, runs in sequence", "linear", (50, 200), "ms"),
    Case("  the same, journaled to SQLite (stepwork only)", "linear_journaled", (50, 200), "ms"),
    Case("  the same, journaled to PostgreSQL (stepwork only)", "linear_journaled_pg", (50,), "ms"),
    Case(
        "fan-out with send_event, 8 workers, fan-in with collect_events",
        "fan_in",
        (1_000, 2_000, 10_000),
        "us",
        anchor_sizes=(1_000, 2_000),
        anchor_repeat=1,
    ),
    Case("3-step runs started together (gather)", "concurrent", (1_000,), "us"),
    Case("peak memory per concurrent run", "concurrent_memory", (1_000,), "kb"),
    Case("streaming: events written and read", "streaming", (1_000, 10_000), "us"),
    Case("asyncio floor: Queue ping-pong", "floor", (10_000,), "us"),
]


STEPWORK_ONLY = {"floor", "linear_journaled", "linear_journaled_pg"}


def measure(engine: str, scenario: str, size: int) -> dict[str, Any]:
    """One sample from a fresh child process."""
    command = [sys.executable, "-m", "benchmarks.child", engine, scenario, str(size)]
    output = subprocess.run(
        command, cwd=ROOT, check=True, capture_output=True, text=True, timeout=1800
    ).stdout
    sample: dict[str, Any] = json.loads(output.strip().splitlines()[-1])
    return sample


def import_time(engine: str) -> float:
    """Seconds for ``import ENGINE`` in a fresh interpreter, less the interpreter's start-up."""
    module = "stepwork" if engine == "stepwork" else "workflows"

    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], cwd=ROOT, check=True)
        return time.perf_counter() - started

    return run(f"import {module}") - run("pass")


def median_sample(samples: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds and memory over samples of the same size."""
    items = samples[0]["items"]
    seconds = statistics.median(s["seconds"] for s in samples)
    peaks = [s["peak_bytes_per_item"] for s in samples if s.get("peak_bytes_per_item")]
    return {
        "items": items,
        "seconds": seconds,
        "per_item": seconds / items,
        "peak_bytes_per_item": statistics.median(peaks) if peaks else None,
        "samples": [s["seconds"] for s in samples],
    }


def per_item(case: Case, result: dict[str, Any]) -> str:
    if case.unit == "kb":
        return f"{result['peak_bytes_per_item'] / 1024:.1f} KB"
    if case.unit == "ms":
        return f"{result['per_item'] * 1e3:.2f} ms"
    return f"{result['per_item'] * 1e6:.1f} us"


def value(case: Case, result: dict[str, Any]) -> float:
    return float(result["peak_bytes_per_item"] if case.unit == "kb" else result["per_item"])


def main() -> None:
    if "--tracing-only" in sys.argv[1:]:  # no PostgreSQL row: no server to start
        measure_all()
        return
    # The PostgreSQL rows journal to a throwaway server, the one the tests start.
    sys.path.insert(0, str(ROOT / "tests"))
    from stores.pg_server import running_server

    with running_server() as server:
        os.environ["STEPWORK_BENCH_PG_DSN"] = server.dsn()
        measure_all()


def measure_all() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5, help="child runs per measurement")
    parser.add_argument("--quick", action="store_true", help="small sizes only, 3 repeats")
    parser.add_argument("--json", type=Path, default=ROOT / "benchmarks" / "results.json")
    parser.add_argument(
        "--tracing-only",
        action="store_true",
        help="only the tracing overhead table (printed, not written to --json)",
    )
    args = parser.parse_args()
    repeat = 3 if args.quick else args.repeat
    if args.tracing_only:
        print_tracing(measure_tracing(TRACING_SIZE, repeat))
        return

    for case in CASES:
        sizes = case.sizes[:1] if args.quick else case.sizes
        only = case.scenario in STEPWORK_ONLY
        engines = ["stepwork"] if only else ["stepwork", "anchor"]
        for engine in engines:
            allowed = case.anchor_sizes if engine == "anchor" and case.anchor_sizes else sizes
            runs = case.anchor_repeat if engine == "anchor" and case.anchor_repeat else repeat
            for size in sizes:
                if size not in allowed:
                    continue
                print(f"  {case.scenario:<18} {engine:<9} n={size:<6} x{runs}", file=sys.stderr)
                samples = [measure(engine, case.scenario, size) for _ in range(runs)]
                case.results.setdefault(engine, {})[size] = median_sample(samples)

    tracing = measure_tracing(TRACING_SIZE, repeat)
    imports = {
        engine: statistics.median(import_time(engine) for _ in range(repeat))
        for engine in ("stepwork", "anchor")
    }
    print_table(imports)
    print()
    print_tracing(tracing)
    write_json(args.json, imports, tracing)


TRACING_SIZE = 10_000


def measure_tracing(size: int, repeat: int) -> dict[str, dict[str, Any]]:
    """The dispatch chain under each of ``benchmarks.tracing.VARIANTS``, one child of each in
    turn per round (load that comes and goes hits every variant alike), medians."""
    samples: dict[str, list[dict[str, Any]]] = {engine: [] for engine, _ in VARIANTS}
    for round_ in range(repeat):
        for engine, _ in VARIANTS:
            note = f"  tracing            {engine:<19} n={size} {round_ + 1}/{repeat}"
            print(note, file=sys.stderr)
            samples[engine].append(measure(engine, "chain", size))
    results = {}
    for engine, each in samples.items():
        results[engine] = median_sample(each)
        cpu = statistics.median(sample["cpu_seconds"] for sample in each)
        results[engine]["cpu_per_item"] = cpu / each[0]["items"]
    return results


def print_tracing(results: dict[str, dict[str, Any]]) -> None:
    first = results[VARIANTS[0][0]]
    print(f"Tracing overhead, dispatch chain, n={TRACING_SIZE} (medians; ratio to the first row;")
    print("CPU: the process's, every thread)")
    print()
    header = (
        f"| {'variant':<58} | {'per step':>9} | {'ratio':>6} | {'CPU/step':>9} | {'ratio':>6} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for engine, title in VARIANTS:
        wall, cpu = results[engine]["per_item"], results[engine]["cpu_per_item"]
        print(
            f"| {title:<58} | {wall * 1e6:>6.1f} us | {wall / first['per_item']:>5.2f}x "
            f"| {cpu * 1e6:>6.1f} us | {cpu / first['cpu_per_item']:>5.2f}x |"
        )


def print_table(imports: dict[str, float]) -> None:
    floor = CASES[-1].results["stepwork"][CASES[-1].sizes[0]]["per_item"]
    header = (
        f"| {'workload':<62} | {'n':>6} | {'stepwork':>10} | {'anchor':>10} | {'ratio':>7} "
        f"| {'x floor':>7} |"
    )
    print(header)
    print("|" + "|".join("-" * (len(part)) for part in header.split("|")[1:-1]) + "|")
    for case in CASES:
        ours = case.results.get("stepwork", {})
        theirs = case.results.get("anchor", {})
        for size, result in ours.items():
            other = theirs.get(size)
            ratio = f"{value(case, other) / value(case, result):.1f}x" if other else "-"
            chain = case.scenario == "chain"
            times_floor = f"{result['per_item'] / floor:.1f}" if chain else ""
            print(
                f"| {case.title:<62} | {size:>6} | {per_item(case, result):>10} "
                f"| {per_item(case, other) if other else 'n/a':>10} | {ratio:>7} "
                f"| {times_floor:>7} |"
            )
        if len(ours) > 1:
            sizes = sorted(ours)
            growth = value(case, ours[sizes[-1]]) / value(case, ours[sizes[0]])
            known = sorted(theirs)
            anchor_growth = "n/a"
            if len(known) > 1:
                anchor_growth = (
                    f"{value(case, theirs[known[-1]]) / value(case, theirs[known[0]]):.2f}x"
                    f" ({known[0]}->{known[-1]})"
                )
            print(
                f"| {'  scaling of cost per item, ' + str(sizes[0]) + '->' + str(sizes[-1]):<62} "
                f"| {'':>6} | {growth:>9.2f}x | {anchor_growth:>10} | {'':>7} | {'':>7} |"
            )
    ratio = imports["anchor"] / imports["stepwork"]
    print(
        f"| {'import time (fresh interpreter)':<62} | {1:>6} "
        f"| {imports['stepwork'] * 1e3:>7.0f} ms | {imports['anchor'] * 1e3:>7.0f} ms "
        f"| {ratio:>6.1f}x | {'':>7} |"
    )


def write_json(path: Path, imports: dict[str, float], tracing: dict[str, dict[str, Any]]) -> None:
    payload = {
        "when": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "processor": platform.processor() or platform.machine(),
            "cpus": os.cpu_count(),
        },
        "import_seconds": imports,
        "tracing_overhead": {"chain_size": TRACING_SIZE, "results": tracing},
        "cases": [
            {"scenario": case.scenario, "title": case.title, "results": case.results}
            for case in CASES
        ],
    }
    path.write_text(json.dumps(payload, indent=2) + "\n")


if __name__ == "__main__":
    main()
