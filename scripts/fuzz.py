#!/usr/bin/env python3
"""Run the fuzzing properties of tests/unit/test_fuzz.py for minutes instead of seconds.

    .venv/bin/python scripts/fuzz.py --minutes 10 [--only parse_message,read_attachment]
                                     [--slow-seconds 5] [--seed N]

Each property (parse_message, read_attachment, analyse_message, authentication_results)
gets an equal share of the time, in rounds of --round examples, with hypothesis
generating new inputs every round. A failure is printed with the input that shrinks
to it, and saved under .hypothesis/fuzz so the next run tries it first; an input that
takes longer than --slow-seconds is a finding too (a reader must stay fast on any
file). Prints one line per property with the examples run, the slowest one and the
findings, and exits 1 when there was any.
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
import time
import traceback
import warnings
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from hypothesis import HealthCheck, given, seed, settings  # noqa: E402
from hypothesis.database import DirectoryBasedExampleDatabase  # noqa: E402
from hypothesis.errors import HypothesisException  # noqa: E402

from tests.unit.test_fuzz import PROPERTIES  # noqa: E402


class SlowInput(AssertionError):
    """An input took longer than --slow-seconds."""


@dataclass
class Tally:
    examples: int = 0
    rounds: int = 0
    slowest_seconds: float = 0.0
    seconds: float = 0.0
    findings: list[str] = field(default_factory=list)


def timed(check, tally: Tally, slow_seconds: float):
    @functools.wraps(check)
    def run(*args, **kwargs):
        started = time.perf_counter()
        try:
            check(*args, **kwargs)
        finally:
            took = time.perf_counter() - started
            tally.examples += 1
            tally.slowest_seconds = max(tally.slowest_seconds, took)
        if took > slow_seconds:
            raise SlowInput(f"took {took:.1f} s (limit {slow_seconds} s)")

    return run


def run_property(name: str, strategy, check, budget_seconds: float, args) -> Tally:
    tally = Tally()
    # Inputs that failed before are tried first (and kept for the next run) ...
    database: DirectoryBasedExampleDatabase | None = DirectoryBasedExampleDatabase(str(ROOT / ".hypothesis" / "fuzz"))
    seen: set[tuple[str, str]] = set()
    deadline = time.monotonic() + budget_seconds
    while time.monotonic() < deadline:
        test = settings(
            max_examples=args.round,
            deadline=None,
            database=database,
            derandomize=False,
            print_blob=True,
            report_multiple_bugs=False,
            suppress_health_check=list(HealthCheck),
        )(given(strategy())(timed(check, tally, args.slow_seconds)))
        if args.seed is not None:  # each round its own inputs, the same ones every run
            test = seed(args.seed * 100_003 + tally.rounds)(test)
        started = time.monotonic()
        try:
            test()
        except (Exception, HypothesisException) as exc:  # a finding: keep going with the rest
            key = _where(exc)
            if key not in seen:
                seen.add(key)
                tally.findings.append("".join(traceback.format_exception(exc)))
                print(f"\n=== {name}: finding {len(tally.findings)} ===\n{tally.findings[-1]}", flush=True)
            # ... but once one is found it would fail every round at once: look for others.
            database = None
        tally.rounds += 1
        tally.seconds += time.monotonic() - started
    return tally


def _where(exc: BaseException) -> tuple[str, str]:
    """A finding's identity: its exception type and the innermost frame in this repository."""
    frames = [
        f
        for f in traceback.extract_tb(exc.__traceback__)
        if str(ROOT) in f.filename and "/.venv/" not in f.filename and not f.filename.endswith("scripts/fuzz.py")
    ]
    place = f"{frames[-1].filename}:{frames[-1].lineno}" if frames else "?"
    return type(exc).__name__, place


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0, help="total time, shared by the properties")
    parser.add_argument("--only", default="", help="comma-separated property names (default: all)")
    parser.add_argument("--round", type=int, default=500, help="examples per hypothesis run")
    parser.add_argument("--slow-seconds", type=float, default=5.0, help="an input slower than this is a finding")
    parser.add_argument("--seed", type=int, default=None, help="repeat a run's inputs (default: new ones every run)")
    args = parser.parse_args(argv)
    names = [n for n in (args.only.split(",") if args.only else PROPERTIES) if n]
    unknown = [n for n in names if n not in PROPERTIES]
    if unknown:
        parser.error(f"unknown property {', '.join(unknown)}; known: {', '.join(PROPERTIES)}")
    warnings.simplefilter("ignore")  # hypothesis' advice on strategies is for test authors
    os.environ.setdefault("PYTHONHASHSEED", "0")
    share = args.minutes * 60 / len(names)
    print(f"fuzzing {', '.join(names)} for {args.minutes:g} min ({share:.0f} s each)", flush=True)
    results = {}
    for name in names:
        strategy, check = PROPERTIES[name]
        results[name] = run_property(name, strategy, check, share, args)
        t = results[name]
        print(
            f"{name}: {t.examples} examples in {t.seconds:.0f} s ({t.rounds} rounds), "
            f"slowest {t.slowest_seconds * 1000:.0f} ms, {len(t.findings)} finding(s)",
            flush=True,
        )
    total = sum(t.examples for t in results.values())
    found = sum(len(t.findings) for t in results.values())
    print(f"total: {total} examples, {found} finding(s)")
    return 1 if found else 0


if __name__ == "__main__":
    sys.exit(main())
