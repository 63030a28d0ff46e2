"""A simulated inspector for the demo: a deterministic verdict from the unit's context.

The serial and product decide, through a hash, whether the unit fails (about `fail_rate` of them)
and where the flaw sits in the image, so a demo run shows the same rejects every time and tests
can assert them.
"""

from __future__ import annotations

import hashlib

from microfactory.quality.inspectors import (
    Finding,
    Image,
    Inspection,
    InspectionContext,
    Region,
    Verdict,
)

KIND = "simulated"
VERSION = "simulated-1"


class SimulatedInspector:
    def __init__(self, fail_rate: float = 0.05) -> None:
        self._fail_rate = fail_rate

    def inspect(self, image: Image, context: InspectionContext) -> Inspection:
        digest = hashlib.sha256(f"{context.sku}|{context.serial}".encode()).digest()
        draw = int.from_bytes(digest[:8], "big") / 2**64
        if draw >= self._fail_rate:
            return Inspection(Verdict.PASS, (), KIND, VERSION)
        height, width = (int(image.shape[0]), int(image.shape[1])) if image.ndim >= 2 else (1, 1)
        w, h = max(1, width // 8), max(1, height // 8)
        x = digest[8] * max(0, width - w) // 255
        y = digest[9] * max(0, height - h) // 255
        score = 0.5 + 0.5 * (1 - draw / self._fail_rate)
        return Inspection(Verdict.FAIL, (Finding("blemish", score, Region(x, y, w, h)),), KIND, VERSION)
