"""Engraving: Tesseract reads the name plate; case and spacing are forgiven, letters are not."""

from __future__ import annotations

import os

import pytest

from microfactory.quality import synthetic
from microfactory.quality.inspectors import InspectionContext, Verdict
from microfactory.quality.inspectors.engraving import EngravingInspector, folded, tesseract_available

if not tesseract_available():
    if os.environ.get("CI") == "true":
        pytest.fail(
            "CI=true but tesseract is not installed (make install installs tesseract-ocr)", pytrace=False
        )
    pytest.skip("tesseract is not installed (apt-get install tesseract-ocr)", allow_module_level=True)

PLATE = (0.1, 0.66, 0.8, 0.32)  # where the keypad's name plate lies on the levelled part


def _unit(text: str) -> InspectionContext:
    return InspectionContext("KP-1", "KP", {"engraving": text})


def test_the_ordered_text_passes_whatever_its_case_and_spacing() -> None:
    inspector = EngravingInspector(region=PLATE)
    for sample in synthetic.samples(3, seed=6, kinds=["good", "scratch"]):
        for ordered in ("MICRO 42", "micro42", "Micro  42"):
            inspection = inspector.inspect(sample.image, _unit(ordered))
            assert inspection.verdict is Verdict.PASS, inspection.findings
    assert inspection.version.startswith("engraving-1/tesseract-")


def test_a_wrong_letter_or_missing_text_fails() -> None:
    inspector = EngravingInspector(region=PLATE)
    for sample in synthetic.samples(4, seed=7, kinds=["wrong_text", "no_text"]):
        inspection = inspector.inspect(sample.image, _unit("MICRO 42"))
        assert inspection.verdict is Verdict.FAIL
        label = inspection.findings[0].label
        assert ("missing" if sample.kind == "no_text" else "wrong") in label and "'MICRO 42'" in label
    good = synthetic.sample("good", 8).image
    assert inspector.inspect(good, _unit("MICRO 43")).verdict is Verdict.FAIL


def test_nothing_ordered_means_nothing_to_check() -> None:
    good = synthetic.sample("no_text", 8).image
    assert EngravingInspector(region=PLATE).inspect(good, _unit("")).verdict is Verdict.PASS
    assert folded(" Ab c ") == "abc"
