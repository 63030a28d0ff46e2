"""A malformed catalog is refused whole, with every problem listed by its place."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from microfactory.catalog.load import CatalogError, build_catalog, parse_catalog_text


def example(examples: Path) -> dict[str, Any]:
    return yaml.safe_load((examples / "catalog-keypad.yaml").read_text())


def problems_of(document: dict[str, Any]) -> dict[str, str]:
    with pytest.raises(CatalogError) as caught:
        build_catalog(document)
    return {problem.path: problem.message for problem in caught.value.problems}


def test_example_loads_as_it_is(examples: Path) -> None:
    catalog = build_catalog(example(examples))
    assert catalog.name == "keystone"
    assert catalog.version == 1
    assert list(catalog.products) == ["KP", "KEY-MODULE-R"]
    assert catalog.parts["key-module"].kind == "assembly"
    assert catalog.materials.canonical("pla-teal") == "PLA-TEAL"


def test_every_problem_is_listed_by_place(examples: Path) -> None:
    document = copy.deepcopy(example(examples))
    document["products"]["KP"]["bom"][3]["part"] = "KEY-MODUL"
    document["materials"].pop("PLA-TEAL")
    document["products"]["KP"]["routing"][1]["params"]["image"] = "kp{keys}-{profile}.uf2"
    document["products"]["KP"]["routing"][0]["when"] = "engraving present"
    document["parts"]["KEY-MODULE"]["bom"].append({"part": "KEY-MODULE", "qty": 1})
    problems = problems_of(document)
    assert problems["products.KP.bom[3].part"] == "unknown part 'KEY-MODUL'"
    assert "mapping" in problems["products.KP.routing[0].when"]
    # fixed, the cross-checks still find the rest
    document["products"]["KP"]["bom"][3]["part"] = "KEY-MODULE"
    document["products"]["KP"]["routing"][0]["when"] = {"engraving": "present"}
    problems = problems_of(document)
    assert (
        "unknown material 'PLA-teal' for product KP (color=teal)" in problems["parts.HSG-TOP.make.material"]
    )
    assert "unknown material 'PLA-teal' for product KEY-MODULE-R" in problems["parts.KEYCAP.make.material"]
    assert problems["products.KP.routing[1].params.image"] == (
        "option 'profile' is referenced but not defined by product KP"
    )
    assert problems["parts.KEY-MODULE.bom[2].part"] == "sub-assembly cycle: KEY-MODULE -> KEY-MODULE"


def test_cycle_across_two_assemblies_and_bad_when_values() -> None:
    document = {
        "catalog": "loops",
        "version": 1,
        "parts": {
            "A": {"bom": [{"part": "B", "qty": 1}]},
            "B": {"bom": [{"part": "A", "qty": 1, "when": {"finish": "gold"}}]},
        },
        "products": {
            "P": {
                "options": {"finish": {"type": "choice", "values": ["matte", "gloss"]}},
                "bom": [{"part": "A", "qty": 1, "when": {"size": "big"}}],
            }
        },
    }
    problems = problems_of(document)
    assert problems["parts.B.bom[0].part"] == "sub-assembly cycle: A -> B -> A"
    assert "'gold' is not one of matte, gloss" in problems["parts.B.bom[0].when.finish"]
    assert (
        problems["products.P.bom[0].when.size"] == "option 'size' is referenced but not defined by product P"
    )


def test_structure_problems() -> None:
    document = {
        "catalog": "bad",
        "version": "one",
        "parts": {
            "X": {"make": {"capability": "cnc", "minutes": -1}, "buy": {"unit_cost": 1, "lead_time_days": 1}},
            "Y": {"buy": {"unit_cost": "free", "lead_time_days": 2.5}},
        },
        "products": {
            "P": {
                "options": {
                    "n": {"type": "int", "min": 5, "max": 1},
                    "t": {"type": "text", "max_length": 4, "pattern": "([a-z"},
                    "c": {"type": "choice", "values": ["a"], "default": "b"},
                    "z": {"type": "colour"},
                },
                "bom": [{"part": "X", "qty": 0}, {"part": "Y", "qty": "{n}"}],
                "routing": [
                    {"op": "a", "capability": "x", "minutes": "soon"},
                    {"op": "b", "capability": "x", "minutes": 1, "after": ["c"]},
                ],
            }
        },
    }
    problems = problems_of(document)
    assert set(problems) >= {
        "version",
        "parts.X",
        "parts.X.make.minutes",
        "parts.Y.buy.unit_cost",
        "parts.Y.buy.lead_time_days",
        "products.P.options.n",
        "products.P.options.t.pattern",
        "products.P.options.c.default",
        "products.P.options.z.type",
        "products.P.bom[0].qty",
        "products.P.routing[0].minutes",
        "products.P.routing[1].after",
    }


def test_yaml_that_is_not_a_catalog() -> None:
    with pytest.raises(CatalogError, match="not valid YAML"):
        parse_catalog_text("a: [1, 2", "broken.yaml")
    with pytest.raises(CatalogError, match="not a catalog"):
        parse_catalog_text("- just\n- a list\n", "list.yaml")


def test_int_qty_must_name_an_int_option(examples: Path) -> None:
    document = copy.deepcopy(example(examples))
    document["products"]["KP"]["bom"][3]["qty"] = "{color}"
    problems = problems_of(document)
    assert problems["products.KP.bom[3].qty"] == "option 'color' of product KP is not an int option"


def test_inspection_checks_name_known_inspectors_and_product_options(examples: Path) -> None:
    document = copy.deepcopy(example(examples))
    document["products"]["KP"]["inspection"] = {
        "checks": [
            {"inspector": "colour", "option": "color"},
            {"inspector": "http", "url": "https://qa.example/hook", "secret_env": "QA_HOOK_SECRET"},
        ]
    }
    checks = build_catalog(document).products["KP"].inspection
    assert [check.inspector for check in checks] == ["colour", "http"]
    assert checks[0].settings == {"option": "color"}
    document["products"]["KP"]["inspection"]["checks"] += [
        {"inspector": "xray"},
        {"inspector": "http"},
        {"inspector": "engraving", "option": "font"},
    ]
    assert problems_of(document) == {
        "products.KP.inspection.checks[2].inspector": "inspector kind 'xray' is not one of colour, dimension, "
        "engraving, http, manual, simulated, variation",
        "products.KP.inspection.checks[3].url": "http requires url",
        "products.KP.inspection.checks[4].option": "'font' is not an option of the product "
        "(options: color, engraving, firmware, keys)",
    }


def test_option_references_are_checked_in_the_same_pass_as_structure(examples: Path) -> None:
    """spec/catalog.md: every problem in one pass, not the cross-checks only once the rest is fixed."""
    document = copy.deepcopy(example(examples))
    kp = document["products"]["KP"]
    kp["bom"][3]["part"] = "KEY-MODUL"  # a structure problem
    document["parts"]["HSG-TOP"]["make"]["material"] = "PLA-{colour}"
    kp["bom"][0]["qty"] = "{count}"
    kp["bom"][5]["when"] = {"engraved": "present"}
    kp["routing"][1]["params"]["image"] = "kp{keys}-{profile}.uf2"
    kp["routing"][2]["minutes"]["per"] = {"color": 0.5}
    problems = problems_of(document)
    assert problems["products.KP.bom[3].part"] == "unknown part 'KEY-MODUL'"
    undefined = "is referenced but not defined by product KP"
    assert problems["parts.HSG-TOP.make.material"] == f"option 'colour' {undefined}"
    assert problems["products.KP.bom[0].qty"] == f"option 'count' {undefined}"
    assert problems["products.KP.bom[5].when.engraved"] == f"option 'engraved' {undefined}"
    assert problems["products.KP.routing[1].params.image"] == f"option 'profile' {undefined}"
    assert (
        problems["products.KP.routing[2].minutes.per.color"]
        == "option 'color' of product KP is not an int option"
    )


def test_an_option_with_its_own_problem_is_not_also_called_undefined(examples: Path) -> None:
    document = copy.deepcopy(example(examples))
    document["products"]["KP"]["options"]["keys"]["type"] = "number"
    problems = problems_of(document)
    assert problems == {"products.KP.options.keys.type": "type must be choice, int or text, not 'number'"}
