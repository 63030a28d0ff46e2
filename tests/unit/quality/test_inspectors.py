"""Inspectors: a person's verdict, and a simulated verdict that is the same for the same unit."""

from __future__ import annotations

import numpy as np

from microfactory.quality.inspectors import Finding, InspectionContext, Inspector, Region, Verdict
from microfactory.quality.inspectors.manual import ManualInspector
from microfactory.quality.inspectors.simulated import SimulatedInspector

IMAGE = np.zeros((480, 640, 3), dtype=np.uint8)


def test_a_manual_inspection_asks_for_review_until_a_person_judges() -> None:
    inspector = ManualInspector()
    unit = InspectionContext("KP-000123", "KP", {"color": "teal"})
    assert inspector.inspect(IMAGE, unit).verdict is Verdict.REVIEW
    scratch = Finding("scratch", 0.8, Region(10, 20, 30, 40))
    inspector.judge("KP-000123", Verdict.FAIL, [scratch])
    judged = inspector.inspect(IMAGE, unit)
    assert (judged.verdict, judged.findings, judged.inspector) == (Verdict.FAIL, (scratch,), "manual")
    assert judged.score == 0.8 and scratch.region is not None and scratch.region.as_list() == [10, 20, 30, 40]


def test_a_simulated_verdict_is_deterministic_and_its_regions_lie_in_the_image() -> None:
    inspector: Inspector = SimulatedInspector(fail_rate=0.2)
    units = [InspectionContext(f"KP-{n:06d}", "KP") for n in range(200)]
    first = [inspector.inspect(IMAGE, unit) for unit in units]
    assert first == [SimulatedInspector(fail_rate=0.2).inspect(IMAGE, unit) for unit in units]
    failed = [inspection for inspection in first if inspection.verdict is Verdict.FAIL]
    assert 10 <= len(failed) <= 70  # about a fifth
    for inspection in failed:
        (finding,) = inspection.findings
        assert finding.region is not None and 0.5 <= finding.score <= 1.0
        x, y, w, h = finding.region.as_list()
        assert x >= 0 and x + w <= 640 and y >= 0 and y + h <= 480
    assert all(not inspection.findings for inspection in first if inspection.verdict is Verdict.PASS)
    assert {inspection.version for inspection in first} == {"simulated-1"}
