"""A person's verdict: the station's inspector records it, and `inspect` answers with it.

Until the person has judged a unit, its inspection asks for review rather than guessing.
"""

from __future__ import annotations

from collections.abc import Iterable

from microfactory.quality.inspectors import Finding, Image, Inspection, InspectionContext, Verdict

KIND = "manual"


class ManualInspector:
    """Verdicts by unit serial, as people give them."""

    def __init__(self, version: str = "manual-1") -> None:
        self._version = version
        self._verdicts: dict[str, Inspection] = {}

    def judge(self, serial: str, verdict: Verdict, findings: Iterable[Finding] = ()) -> None:
        """Record a person's verdict on a unit (a later one replaces an earlier one)."""
        self._verdicts[serial] = Inspection(verdict, tuple(findings), KIND, self._version)

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        waiting = Inspection(Verdict.REVIEW, (), KIND, self._version)
        return self._verdicts.get(context.serial, waiting)
