"""Acceptance criteria, pure: which checks apply to a unit, whether it is sampled, what it scored.

A product's catalog entry (`catalog.inspection`) names its checks with a threshold and a `when`;
this module turns the inspectors' answers into one verdict per unit. The rules, in order: any
check that fails makes the unit fail; else any that asks for review makes it wait for a person;
else it passes. A check with a threshold fails when its worst finding scores above it, whatever
the inspector said (the catalog, not the model, owns what is good enough), unless the inspector
could not tell (review).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from microfactory.catalog.model import InspectionCheck, InspectionSampling, OptionValue
from microfactory.quality.inspectors import Inspection, Verdict


def applicable(
    checks: Sequence[InspectionCheck], options: Mapping[str, OptionValue]
) -> list[InspectionCheck]:
    """The checks whose `when` holds for the unit's ordered options."""
    return [check for check in checks if check.when.holds(options)]


@dataclass(frozen=True, slots=True)
class Sample:
    """Whether a unit is to be inspected, and why: pilot or steady run, and the rate that applied."""

    inspect: bool
    pilot: bool
    rate: float

    def as_dict(self) -> dict[str, object]:
        return {"inspect": self.inspect, "pilot": self.pilot, "rate": self.rate}


def sample(serial: str, index: int, sampling: InspectionSampling) -> Sample:
    """Is the unit inspected? `index` counts the configuration's units made before it (0: the first).

    Deterministic from the serial (a hash below the rate), so a station, the API and a re-run all
    agree on which units are due, and the share inspected converges to the rate.
    """
    pilot = index < sampling.pilot_units
    rate = sampling.pilot if pilot else sampling.steady
    draw = int.from_bytes(hashlib.sha256(serial.encode()).digest()[:8], "big") / 2**64
    return Sample(rate >= 1.0 or draw < rate, pilot, rate)


def check_verdict(check: InspectionCheck, inspection: Inspection) -> Verdict:
    """One check's verdict under the catalog's threshold."""
    if inspection.verdict == Verdict.REVIEW or check.threshold is None:
        return inspection.verdict
    return Verdict.FAIL if inspection.score > check.threshold else Verdict.PASS


def unit_verdict(verdicts: Sequence[Verdict]) -> Verdict:
    """Fail beats review beats pass; a unit with no applicable check passes."""
    if Verdict.FAIL in verdicts:
        return Verdict.FAIL
    if Verdict.REVIEW in verdicts:
        return Verdict.REVIEW
    return Verdict.PASS
