"""Translation throughput on one core for the keypad catalog (target: 20,000 order lines per second)."""

from __future__ import annotations

import time
from pathlib import Path

from benchmarks.result import Result
from microfactory.catalog.bridge import TranslationError, translate
from microfactory.catalog.load import load_catalog
from microfactory.catalog.model import Catalog
from microfactory.simulation.order_generator import generate_orders

CATALOG = Path(__file__).resolve().parents[1] / "examples" / "catalog-keypad.yaml"
TARGET = 20_000


def run() -> list[Result]:
    catalog = load_catalog(CATALOG)
    lines = [line for order in generate_orders(20_000, seed=11) for line in order.lines]
    realistic = _rate(catalog, [(line.product or "", dict(line.options), line.qty) for line in lines])
    unique = [
        ("KP", {"keys": 8, "color": "teal", "engraving": f"N{i}", "firmware": "studio"}, 1)
        for i in range(20_000)
    ]
    every_line_new = _rate(load_catalog(CATALOG), unique)
    cold = _cold_rate(load_catalog(CATALOG), unique[:5000])
    return [
        Result(
            "translation", "realistic order mix", realistic, "lines/s", f">= {TARGET:,}", realistic >= TARGET
        ),
        Result("translation", "every configuration new (new engraving)", every_line_new, "lines/s"),
        Result("translation", "from scratch, no memo", cold, "lines/s"),
    ]


def _rate(catalog: Catalog, work: list[tuple[str, dict[str, object], int]]) -> float:
    started = time.perf_counter()
    for product, options, qty in work:
        try:
            translate(catalog, product, options, qty)
        except TranslationError:
            pass  # lines that go to needs attention are part of the load too
    return len(work) / (time.perf_counter() - started)


def _cold_rate(catalog: Catalog, work: list[tuple[str, dict[str, object], int]]) -> float:
    """Every line expanded from the catalog, as if no line had ever been seen."""
    started = time.perf_counter()
    for product, options, qty in work:
        catalog.memo.clear()
        translate(catalog, product, options, qty)
    return len(work) / (time.perf_counter() - started)
