"""The bridge on hand-written catalogs: nested sub-assemblies, conditions, refusals with reasons."""

from __future__ import annotations

from decimal import Decimal

import pytest

from microfactory.catalog.bridge import TranslationError, translate
from microfactory.catalog.load import build_catalog
from microfactory.catalog.model import Catalog

NESTED = {
    "catalog": "nested",
    "version": 1,
    "materials": {"PETG-GREY": {}, "PETG-BLUE": {}},
    "parts": {
        "LEG": {"make": {"capability": "fdm_print", "material": "PETG-{tone}", "minutes": 10}},
        "FOOT": {"buy": {"unit_cost": 0.5, "lead_time_days": 3}},
        "LEG-ASSY": {
            "bom": [{"part": "leg", "qty": 1}, {"part": "FOOT", "qty": 2}],
            "routing": [{"op": "glue", "capability": "assembly", "minutes": 2}],
        },
        "FRAME": {
            "bom": [
                {"part": "LEG-ASSY", "qty": 4},
                {"part": "LEG-ASSY", "qty": 2, "when": {"size": "big"}},
            ],
        },
    },
    "products": {
        "TABLE": {
            "options": {
                "size": {"type": "choice", "values": ["small", "big"]},
                "tone": {"type": "choice", "values": ["grey", "blue"], "default": "grey"},
                "shelves": {"type": "int", "min": 0, "max": 3, "default": 0},
            },
            "bom": [{"part": "FRAME", "qty": 1}, {"part": "FOOT", "qty": "{shelves}"}],
            "routing": [
                {"op": "check", "capability": "inspection", "minutes": {"base": 1, "per": {"shelves": 2}}},
            ],
        }
    },
}


@pytest.fixture
def nested() -> Catalog:
    return build_catalog(NESTED)


def test_quantities_multiply_through_two_levels(nested: Catalog) -> None:
    result = translate(nested, "table", {"size": "big", "shelves": 2}, qty=3)
    quantities = {line.part: line.qty for line in result.bom}
    assert quantities == {
        "FRAME": Decimal(3),
        "LEG-ASSY": Decimal(18),  # (4 + 2) per frame
        "LEG": Decimal(18),
        "FOOT": Decimal(18 * 2 + 2 * 3),  # two per leg assembly and two shelves per table
    }
    foot = next(line for line in result.bom if line.part == "FOOT")
    assert set(foot.rules) == {"parts.LEG-ASSY.bom[1]", "products.TABLE.bom[1]"}
    ops = {op.id: op for op in result.operations}
    assert ops["LEG-ASSY:glue"].qty == 18
    assert ops["LEG-ASSY:glue"].after == ("make:LEG",)
    # FRAME has no routing: the product's routing waits for the leg assemblies directly
    assert ops["TABLE:check"].after == ("LEG-ASSY:glue",)
    assert ops["TABLE:check"].minutes == (1 + 2 * 2) * 3
    assert ops["make:LEG"].material == "PETG-GREY"


def test_condition_that_fails_leaves_its_line_out(nested: Catalog) -> None:
    result = translate(nested, "TABLE", {"size": "small"}, qty=1)
    assert {line.part: line.qty for line in result.bom}["LEG-ASSY"] == 4
    assert all(line.part != "FOOT" or line.rules == ("parts.LEG-ASSY.bom[1]",) for line in result.bom)


def test_every_invalid_option_is_named(keypad: Catalog) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(keypad, "KP", {"keys": 10, "color": "purple", "engraving": "x" * 40, "size": "xl"}, qty=0)
    paths = {problem.path: problem.message for problem in caught.value.problems}
    assert set(paths) == {"options.keys", "options.color", "options.engraving", "options.size", "qty"}
    assert "10 is not one of 4, 8, 12" in paths["options.keys"]
    assert "'purple' is not one of black, red, teal, white" in paths["options.color"]
    assert "40 characters" in paths["options.engraving"]
    assert "unknown option 'size'" in paths["options.size"]


def test_required_option_and_unknown_product(nested: Catalog) -> None:
    with pytest.raises(TranslationError) as caught:
        translate(nested, "TABLE", {})
    assert [str(p) for p in caught.value.problems] == ["options.size: option 'size' is required"]
    with pytest.raises(TranslationError, match="unknown product 'CHAIR'"):
        translate(nested, "CHAIR", {})


@pytest.mark.parametrize("text", ["Zoë", "a;b", "<script>", "x\ny"])
def test_text_outside_the_pattern_is_refused(keypad: Catalog, text: str) -> None:
    with pytest.raises(TranslationError, match="does not match the pattern"):
        translate(keypad, "KP", {"engraving": text})


def test_int_range_and_type_checks(nested: Catalog) -> None:
    with pytest.raises(TranslationError, match="above the maximum 3"):
        translate(nested, "TABLE", {"size": "big", "shelves": 9})
    with pytest.raises(TranslationError, match="is not a whole number"):
        translate(nested, "TABLE", {"size": "big", "shelves": "two"})
    with pytest.raises(TranslationError, match="is not a whole number"):
        translate(nested, "TABLE", {"size": "big", "shelves": True})
