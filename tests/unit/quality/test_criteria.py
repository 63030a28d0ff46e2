"""Acceptance criteria: the catalog's `inspection` extension, applicable checks, thresholds, sampling."""

from __future__ import annotations

from typing import Any

import pytest

from microfactory.catalog.load import CatalogError, build_catalog, read_catalog_file
from microfactory.catalog.model import InspectionCheck, InspectionSampling
from microfactory.quality import criteria
from microfactory.quality.inspectors import Finding, Inspection, Verdict


def _with(examples: Any, inspection: object) -> dict[str, Any]:
    document = read_catalog_file(examples / "catalog-keypad.yaml")
    document["products"]["KP"]["inspection"] = inspection
    return document


def test_the_example_keypad_declares_criteria_and_sampling(examples: Any) -> None:
    keypad = build_catalog(read_catalog_file(examples / "catalog-keypad.yaml")).products["KP"]
    assert keypad.sampling == InspectionSampling(1.0, 0.2, 10)
    kinds = [check.inspector for check in criteria.applicable(keypad.inspection, {"engraving": ""})]
    assert kinds == ["colour", "variation"]  # engraving only when one was ordered
    engraved = criteria.applicable(keypad.inspection, {"engraving": "ANA"})
    assert [check.inspector for check in engraved] == ["colour", "engraving", "variation"]
    assert keypad.inspection[0].settings["max_delta_e"] == 6.0  # the colour's tolerance, in ΔE2000
    assert keypad.inspection[2].threshold == 0.5  # a score: thresholds are from 0 to 1


def test_the_old_shape_stays_valid(examples: Any) -> None:
    keypad = build_catalog(_with(examples, {"checks": [{"inspector": "simulated"}]})).products["KP"]
    assert (
        keypad.inspection == (InspectionCheck("simulated", {}),) and keypad.sampling == InspectionSampling()
    )


def test_every_problem_of_the_criteria_is_named(examples: Any) -> None:
    bad = {
        "sampling": {"pilot": 2, "steady": "often", "pilot_units": -1, "every": 3},
        "checks": [{"inspector": "simulated", "threshold": "high", "when": {"monogram": "present"}}],
    }
    with pytest.raises(CatalogError) as refused:
        build_catalog(_with(examples, bad))
    paths = {problem.path for problem in refused.value.problems}
    where = "products.KP.inspection"
    assert {
        f"{where}.sampling.pilot",
        f"{where}.sampling.steady",
        f"{where}.sampling.pilot_units",
        f"{where}.sampling.every",
        f"{where}.checks[0].threshold",
        f"{where}.checks[0].when.monogram",
    } <= paths


def test_thresholds_decide_and_fail_beats_review_beats_pass() -> None:
    check = InspectionCheck("x", {}, threshold=0.5)
    scored = Inspection(Verdict.PASS, (Finding("scratch", 0.7),), "x", "1")
    assert criteria.check_verdict(check, scored) is Verdict.FAIL
    assert criteria.check_verdict(InspectionCheck("x", {}), scored) is Verdict.PASS
    unsure = Inspection(Verdict.REVIEW, (Finding("scratch", 0.9),), "x", "1")
    assert criteria.check_verdict(check, unsure) is Verdict.REVIEW
    assert criteria.unit_verdict([Verdict.PASS, Verdict.REVIEW, Verdict.FAIL]) is Verdict.FAIL
    assert criteria.unit_verdict([Verdict.PASS, Verdict.REVIEW]) is Verdict.REVIEW
    assert criteria.unit_verdict([]) is Verdict.PASS


def test_pilot_units_are_all_inspected_and_steady_ones_at_the_rate() -> None:
    sampling = InspectionSampling(pilot=1.0, steady=0.2, pilot_units=10)
    pilots = [criteria.sample(f"MF-{n}", n, sampling) for n in range(10)]
    assert all(s.inspect and s.pilot for s in pilots)
    steady = [criteria.sample(f"MF-{n}", 10 + n, sampling) for n in range(2000)]
    share = sum(s.inspect for s in steady) / len(steady)
    assert 0.17 < share < 0.23 and not any(s.pilot for s in steady)
    assert criteria.sample("MF-7", 50, sampling) == criteria.sample("MF-7", 50, sampling)
