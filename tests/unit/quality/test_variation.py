"""The variation model: trained on good parts, it passes good ones however they lie and are lit,
and finds scratches, blobs and chips where they are."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from microfactory.errors import Invalid
from microfactory.quality import synthetic
from microfactory.quality.inspectors import InspectionContext, Region, Verdict, variation
from microfactory.quality.inspectors.kinds import build_inspector

UNIT = InspectionContext("KP-000001", "KP", {"color": "teal"})


@pytest.fixture(scope="module")
def model() -> variation.VariationModel:
    return variation.train(s.image for s in synthetic.samples(16, seed=1, kinds=["good"]))


def _overlaps(a: Region, b: Region) -> bool:
    return a.x < b.x + b.w and b.x < a.x + a.w and a.y < b.y + b.h and b.y < a.y + a.h


def test_good_parts_shifted_turned_and_relit_pass(model: variation.VariationModel) -> None:
    judgement = variation.bands(model)
    goods = list(synthetic.samples(12, seed=2, kinds=["good"]))
    assert max(abs(s.pose.angle) for s in goods) > 1.5 and max(abs(s.pose.dx) for s in goods) > 10
    lit = synthetic.render(synthetic.PartSpec(), synthetic.Pose(12, -9, 2.0), synthetic.Lighting(0.7, -8))[0]
    for image in [s.image for s in goods] + [lit]:
        inspection = variation.judge(judgement, image)
        assert inspection.verdict is Verdict.PASS, inspection.findings
        assert inspection.version == model.version


@pytest.mark.parametrize("kind", ["scratch", "blob", "chip"])
def test_shape_defects_fail_with_a_region_where_the_flaw_is(
    model: variation.VariationModel, kind: str
) -> None:
    judgement = variation.bands(model)
    for sample in synthetic.samples(4, seed=3, kinds=[kind]):
        inspection = variation.judge(judgement, sample.image)
        assert inspection.verdict is Verdict.FAIL
        assert sample.region is not None
        regions = [f.region for f in inspection.findings if f.region is not None]
        assert any(_overlaps(region, sample.region) for region in regions), (regions, sample.region)
        assert 0.5 <= inspection.score <= 1
        assert "area" in inspection.findings[0].label and "contrast" in inspection.findings[0].label


def test_a_saved_model_loads_the_same_and_a_damaged_one_is_refused(
    model: variation.VariationModel, tmp_path: Path
) -> None:
    path = tmp_path / "keypad-teal.npz"
    model.save(path)
    loaded = variation.VariationModel.load(path)
    assert loaded.version == model.version and np.array_equal(loaded.mean, model.mean)

    with pytest.raises(Invalid) as missing:
        variation.VariationModel.load(tmp_path / "absent.npz")
    assert "absent.npz" in str(missing.value)
    (tmp_path / "photo.png").write_bytes(b"\x89PNG not really")
    with pytest.raises(Invalid, match="not a variation model"):
        variation.VariationModel.load(tmp_path / "photo.png")
    damaged = tmp_path / "damaged.npz"
    variation.VariationModel(
        model.mean + 1, model.spread, model.reference, model.scale, model.grey_std, 3, ""
    ).save(damaged)
    data = dict(np.load(damaged))
    data["mean"] = data["mean"] * 0
    np.savez_compressed(damaged.open("wb"), **data)
    with pytest.raises(Invalid, match="version hash"):
        variation.VariationModel.load(damaged)


def test_the_catalog_check_picks_the_model_by_the_units_options(
    model: variation.VariationModel, tmp_path: Path
) -> None:
    model.save(tmp_path / "kp-teal.npz")
    inspector = build_inspector(
        {"inspector": "variation", "model": str(tmp_path / "kp-{color}.npz"), "min_area": 40}
    )
    good = synthetic.sample("good", 9).image
    assert inspector.inspect(good, UNIT).verdict is Verdict.PASS
    with pytest.raises(Invalid, match=r"kp-red\.npz"):
        inspector.inspect(good, InspectionContext("KP-2", "KP", {"color": "red"}))
    with pytest.raises(Invalid, match="names an option"):
        inspector.inspect(good, InspectionContext("KP-3", "KP"))


def test_an_image_that_is_not_the_part_asks_for_review(model: variation.VariationModel) -> None:
    noise = np.random.default_rng(1).integers(0, 255, (768, 1024, 3), dtype=np.uint8)
    inspection = variation.judge(variation.bands(model), noise)
    assert inspection.verdict in (Verdict.REVIEW, Verdict.FAIL)
    with pytest.raises(Invalid, match="trained on 1024x768"):
        variation.judge(variation.bands(model), np.zeros((100, 100), np.uint8))


def test_training_needs_two_images_of_one_size() -> None:
    with pytest.raises(Invalid, match="at least 2"):
        variation.train([synthetic.sample("good", 1).image])
    sizes = [synthetic.sample("good", 1).image, synthetic.sample("good", 2, size=(512, 384)).image]
    with pytest.raises(Invalid, match="differ in size"):
        variation.train(sizes)
