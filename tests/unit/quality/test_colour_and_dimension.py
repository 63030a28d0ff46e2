"""Colour (CIEDE2000 against the ordered material, white-balanced on the marker card) and
dimension (millimetres from the ArUco marker) on rendered parts."""

from __future__ import annotations

from dataclasses import replace

import pytest

from microfactory.catalog.model import Catalog, IdIndex, Material
from microfactory.errors import Invalid, MissingSetting
from microfactory.quality import synthetic
from microfactory.quality.expected import expected_colours, material_colour
from microfactory.quality.inspectors import InspectionContext, Verdict
from microfactory.quality.inspectors.colour import ColourInspector, delta_e, parse_colour
from microfactory.quality.inspectors.dimension import DimensionInspector
from microfactory.quality.inspectors.kinds import build_inspector


@pytest.mark.parametrize("name", sorted(synthetic.COLOURS))
def test_every_ordered_colour_passes_and_another_colour_fails(name: str) -> None:
    hex_colour = synthetic.COLOURS[name]
    ordered = replace(synthetic.PartSpec(), colour=hex_colour)
    unit = InspectionContext("KP-1", "KP", {"color": name}, colours={"color": hex_colour})
    inspector = ColourInspector()
    for sample in synthetic.samples(6, seed=4, kinds=["good", "wrong_colour"], ordered=ordered):
        inspection = inspector.inspect(sample.image, unit)
        expected = Verdict.FAIL if sample.kind == "wrong_colour" else Verdict.PASS
        assert inspection.verdict is expected, (sample.kind, inspection.findings)
        if expected is Verdict.FAIL:
            assert "ΔE2000" in inspection.findings[0].label and inspection.score > 0.5


def test_white_balance_on_the_marker_card_removes_a_colour_cast() -> None:
    warm = synthetic.Lighting(gain=0.85, cast=(1.08, 1.0, 0.88))
    image, _ = synthetic.render(synthetic.PartSpec(), lighting=warm)
    unit = InspectionContext("KP-1", "KP", {"color": "teal"}, colours={"color": synthetic.COLOURS["teal"]})
    assert ColourInspector(threshold=4).inspect(image, unit).verdict is Verdict.PASS
    no_card = image.copy()
    no_card[:260, :260] = image[700:701, 0:1]  # the marker's card covered by backdrop
    unbalanced = ColourInspector(threshold=4).inspect(no_card, unit)
    assert unbalanced.verdict is Verdict.FAIL and "not white-balanced" in unbalanced.findings[0].label


def test_the_expected_colour_comes_from_the_context_then_the_check_then_the_name() -> None:
    image = synthetic.sample("good", 2).image  # teal
    assert (
        ColourInspector().inspect(image, InspectionContext("U", "KP", {"color": "teal"})).verdict
        is Verdict.PASS
    )
    custom = ColourInspector(colours={"sea": "#00827f"})
    assert custom.inspect(image, InspectionContext("U", "KP", {"color": "sea"})).verdict is Verdict.PASS
    unknown = custom.inspect(image, InspectionContext("U", "KP", {"color": "ocean-ish"}))
    assert unknown.verdict is Verdict.REVIEW and "no colour known" in unknown.findings[0].label
    assert parse_colour("#00827F") == (0, 130, 127) and parse_colour("nonsense") is None
    assert delta_e((0, 130, 127), (0, 130, 127)) == 0
    with pytest.raises(Invalid, match="patch"):
        ColourInspector(patch="paper")


def test_expected_colours_follow_the_catalogs_material_templates(keypad: Catalog) -> None:
    assert expected_colours(keypad, {"color": "Teal", "keys": 8, "engraving": ""}) == {"color": "#00827f"}
    assert material_colour(Material("PLA-NAVY", "PLA", "navy")) == "#000080"  # no hex: the CSS name
    assert material_colour(Material("X", "PLA", "unobtainium")) is None
    by_colour = Catalog(
        "c", 1, IdIndex({"M1": Material("M1", "PLA", "olive", "#808000")}), IdIndex(), IdIndex()
    )
    assert expected_colours(by_colour, {"shade": "olive"}) == {"shade": "#808000"}


def test_dimension_passes_the_ordered_size_and_fails_another() -> None:
    inspector = DimensionInspector(150, 90, tolerance_mm=1.0)
    unit = InspectionContext("KP-1", "KP")
    for sample in synthetic.samples(8, seed=5, kinds=["good", "wrong_size", "chip", "scratch"]):
        inspection = inspector.inspect(sample.image, unit)
        expected = Verdict.FAIL if sample.kind == "wrong_size" else Verdict.PASS
        assert inspection.verdict is expected, (sample.kind, inspection.findings)
        if expected is Verdict.FAIL:
            assert inspection.findings[0].label.startswith("length:") and inspection.findings[0].region


def test_dimension_reads_sizes_from_the_units_options_and_needs_the_marker() -> None:
    image = synthetic.sample("good", 1).image
    check = build_inspector({"inspector": "dimension", "length_mm": 150, "width_mm": 90, "tolerance_mm": 1})
    assert check.inspect(image, InspectionContext("U", "KP", {"length_mm": "160"})).verdict is Verdict.FAIL
    blank = image.copy()
    blank[:260, :260] = image[700:701, 0:1]
    no_marker = check.inspect(blank, InspectionContext("U", "KP"))
    assert no_marker.verdict is Verdict.REVIEW and "marker" in no_marker.findings[0].label
    nothing = DimensionInspector(None, None).inspect(image, InspectionContext("U", "KP"))
    assert nothing.verdict is Verdict.REVIEW
    with pytest.raises(Invalid, match="not a number"):
        check.inspect(image, InspectionContext("U", "KP", {"width_mm": "wide"}))


def test_every_inspector_kind_builds_from_a_check_and_bad_settings_are_named(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for check in (
        {"inspector": "colour", "option": "color", "threshold": 6},
        {"inspector": "engraving", "option": "engraving", "region": [0.1, 0.6, 0.8, 0.3]},
        {"inspector": "dimension", "length_mm": 150},
        {"inspector": "http", "url": "http://127.0.0.1:9/hook"},
    ):
        assert hasattr(build_inspector(check), "inspect")
    with pytest.raises(Invalid) as problems:
        build_inspector({"inspector": "variation", "k": -1})
    assert {p.path for p in problems.value.problems} == {".model", ".k"}
    monkeypatch.delenv("QA_HOOK_SECRET", raising=False)
    with pytest.raises(MissingSetting, match="QA_HOOK_SECRET"):
        build_inspector({"inspector": "http", "url": "http://127.0.0.1:9/", "secret_env": "QA_HOOK_SECRET"})
    with pytest.raises(Invalid, match="region"):
        build_inspector({"inspector": "engraving", "region": [0, 0, 2, 1]})
