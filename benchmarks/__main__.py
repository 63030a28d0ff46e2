"""Run every `benchmarks/bench_*.py` (or those named on the command line) and print one table.

Each module has `run() -> list[Result]`. `python -m benchmarks translation` runs only that one.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time

from rich.console import Console
from rich.table import Table

import benchmarks
from benchmarks.result import Result


def main(selected: list[str]) -> int:
    console = Console(width=None if sys.stdout.isatty() else 140)  # a log gets the whole table
    names = sorted(m.name for m in pkgutil.iter_modules(benchmarks.__path__) if m.name.startswith("bench_"))
    if selected:
        names = [n for n in names if n.removeprefix("bench_") in selected or n in selected]
    results: list[Result] = []
    for name in names:
        console.print(f"[bold]running {name}[/bold]")
        started = time.perf_counter()
        module = importlib.import_module(f"benchmarks.{name}")
        results.extend(module.run())
        console.print(f"  done in {time.perf_counter() - started:.1f} s")
    table = Table(title="microfactory benchmarks")
    for column in ("benchmark", "metric", "value", "unit", "target", "ok"):
        table.add_column(column, justify="right" if column == "value" else "left")
    for r in results:
        verdict = "" if r.ok is None else ("[green]yes[/green]" if r.ok else "[red]no[/red]")
        table.add_row(r.benchmark, r.metric, f"{r.value:,.4g}", r.unit, r.target, verdict)
    console.print(table)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
