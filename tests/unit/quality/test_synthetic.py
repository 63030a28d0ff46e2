"""The synthetic images: the same seed gives the same pixels, and each flaw changes the part."""

from __future__ import annotations

import numpy as np
import pytest

from microfactory.quality import synthetic


def test_the_same_seed_gives_the_same_image_and_another_seed_another() -> None:
    first = synthetic.sample("scratch", 5)
    assert np.array_equal(first.image, synthetic.sample("scratch", 5).image)
    assert not np.array_equal(first.image, synthetic.sample("scratch", 6).image)
    assert first.image.shape == (768, 1024, 3) and first.image.dtype == np.uint8


def test_each_flaw_is_rendered_as_asked() -> None:
    ordered = synthetic.PartSpec(text="Ana 7")
    by_kind = {kind: synthetic.sample(kind, 3, ordered) for kind in synthetic.KINDS}
    assert by_kind["wrong_colour"].rendered.colour != ordered.colour
    assert by_kind["no_text"].rendered.text == ""
    wrong = by_kind["wrong_text"].rendered.text
    assert len(wrong) == len(ordered.text) and wrong.casefold() != ordered.text.casefold()
    assert abs(by_kind["wrong_size"].rendered.width_mm - ordered.width_mm) >= 4
    for kind in ("scratch", "blob", "chip"):
        region = by_kind[kind].region
        assert region is not None and region.w > 0 and region.h > 0
    assert by_kind["good"].rendered == ordered and by_kind["good"].region is None


def test_samples_cycle_through_the_kinds_asked_for() -> None:
    kinds = [s.kind for s in synthetic.samples(6, seed=1, kinds=["good", "blob"], size=(256, 192))]
    assert kinds == ["good", "blob"] * 3
    with pytest.raises(ValueError, match="unknown sample kind"):
        synthetic.sample("dent", 1)
