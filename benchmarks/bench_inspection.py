"""The inspectors on generated keypad images: detection rate, false-alarm rate and images per second.

Each inspector meets the defects it is for (variation: scratches, blobs, chips; colour: wrong
colour; engraving: wrong or missing text; dimension: wrong size) mixed with good parts, shifted,
turned and relit, at least 200 images each (engraving: OCR is slow, 200 images take a while).
Speed is CPU time (this process with OpenCV on one thread, plus Tesseract's child processes),
so other work on the machine does not count; the variation model's target is 50 images of 1024x768 per second on one core,
alignment included (images already decoded in memory).
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

import cv2

from benchmarks.result import Result
from microfactory.quality import synthetic
from microfactory.quality.inspectors import (
    Image,
    Inspection,
    InspectionContext,
    Inspector,
    Verdict,
    variation,
)
from microfactory.quality.inspectors.colour import ColourInspector
from microfactory.quality.inspectors.dimension import DimensionInspector
from microfactory.quality.inspectors.engraving import EngravingInspector, tesseract_available

COUNT = 200
TARGET = 50.0
UNIT = InspectionContext(
    "KP-000001",
    "KP",
    {"color": "teal", "engraving": "MICRO 42"},
    colours={"color": synthetic.COLOURS["teal"]},
)


def run() -> list[Result]:
    cv2.setNumThreads(1)
    results = _variation()
    results += _measure(
        "colour", ColourInspector(), ["good", "wrong_colour", "good", "scratch"], {"wrong_colour"}
    )
    results += _measure(
        "dimension", DimensionInspector(150, 90, 1.0), ["good", "wrong_size", "good", "chip"], {"wrong_size"}
    )
    if tesseract_available():
        engraving = EngravingInspector(region=(0.1, 0.66, 0.8, 0.32))
        results += _measure(
            "engraving", engraving, ["good", "wrong_text", "good", "no_text"], {"wrong_text", "no_text"}
        )
    return results


def _variation() -> list[Result]:
    model = variation.train(s.image for s in synthetic.samples(20, seed=1, kinds=["good"]))
    with tempfile.TemporaryDirectory() as folder:  # judged as a station would: from the saved file
        model.save(Path(folder) / "model.npz")
        judgement = variation.bands(variation.VariationModel.load(Path(folder) / "model.npz"))
    inspector = _Judge(judgement)
    kinds = ["good", "scratch", "good", "blob", "good", "chip"]
    return _measure("variation", inspector, kinds, {"scratch", "blob", "chip"}, target=TARGET)


class _Judge:
    def __init__(self, judgement: variation.Judgement) -> None:
        self._judgement = judgement

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        return variation.judge(self._judgement, image)


def _cpu() -> float:
    """CPU seconds of this process and of its finished children (Tesseract runs as one)."""
    times = os.times()
    return times.user + times.system + times.children_user + times.children_system


def _measure(
    name: str,
    inspector: Inspector,
    kinds: Sequence[str],
    defects: set[str],
    target: float | None = None,
) -> list[Result]:
    samples = list(synthetic.samples(COUNT, seed=42, kinds=kinds))
    started = _cpu()
    verdicts = [inspector.inspect(s.image, UNIT).verdict is not Verdict.PASS for s in samples]
    rate = len(samples) / max(_cpu() - started, 1e-9)
    bad = [v for v, s in zip(verdicts, samples, strict=True) if s.kind in defects]
    good = [v for v, s in zip(verdicts, samples, strict=True) if s.kind not in defects]
    detection = sum(bad) / len(bad)
    false_alarms = sum(good) / len(good)
    speed = Result(
        f"inspect {name}", f"images/s (1024x768, one core, {len(samples)} images)", rate, "images/s"
    )
    if target is not None:
        speed = Result(speed.benchmark, speed.metric, rate, "images/s", f">= {target:g}", rate >= target)
    return [
        Result(
            f"inspect {name}",
            f"detection rate ({len(bad)} defective: {', '.join(sorted(defects))})",
            detection,
            "share",
            ">= 0.95",
            detection >= 0.95,
        ),
        Result(
            f"inspect {name}",
            f"false-alarm rate ({len(good)} good or other flaws)",
            false_alarms,
            "share",
            "<= 0.02",
            false_alarms <= 0.02,
        ),
        speed,
    ]
