"""Property tests of the bridge on both example products, over every option combination."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from microfactory.catalog.bridge import configuration_key, translate
from microfactory.catalog.model import Catalog
from microfactory.catalog.work_order import Translation

COLORS = ["black", "red", "teal", "white"]
engravings = st.one_of(
    st.just(""),
    st.text(alphabet="ABCXYZabcxyz0189 .'-", min_size=1, max_size=16),
)
keypad_options = st.fixed_dictionaries(
    {
        "keys": st.sampled_from([4, 8, 12]),
        "color": st.sampled_from(COLORS + [c.upper() for c in COLORS] + [c.title() for c in COLORS]),
        "engraving": engravings,
        "firmware": st.sampled_from(["standard", "gaming", "studio"]),
    }
)
quantities = st.integers(min_value=1, max_value=50)


def closure(result: Translation) -> dict[str, set[str]]:
    """Every operation's transitive predecessors; fails if an `after` names no operation or loops."""
    direct = {op.id: set(op.after) for op in result.operations}
    for op in result.operations:
        assert set(op.after) <= direct.keys(), f"{op.id} waits for unknown {set(op.after) - direct.keys()}"
    done: dict[str, set[str]] = {}

    def visit(op_id: str, path: tuple[str, ...]) -> set[str]:
        assert op_id not in path, f"cycle through {path}"
        if op_id not in done:
            found: set[str] = set()
            for before in direct[op_id]:
                found |= {before} | visit(before, (*path, op_id))
            done[op_id] = found
        return done[op_id]

    for op_id in direct:
        visit(op_id, ())
    return done


def bom(result: Translation) -> dict[str, Decimal]:
    return {line.part: line.qty for line in result.bom}


@settings(max_examples=300, deadline=None)
@given(options=keypad_options, qty=quantities)
def test_keypad_bom_holds_exactly_the_lines_whose_conditions_hold(
    keypad: Catalog, options: dict[str, object], qty: int
) -> None:
    result = translate(keypad, "KP", options, qty)
    keys = int(options["keys"])  # type: ignore[call-overload]
    engraved = options["engraving"] != ""
    expected = {
        "HSG-TOP": qty,
        "HSG-BOTTOM": qty,
        "PCB-MAIN": qty,
        "KEY-MODULE": keys * qty,
        "SWITCH": keys * qty,
        "KEYCAP": keys * qty,
        "SCREW-M2": 4 * qty,
    }
    if engraved:
        expected["NAMEPLATE"] = qty
    assert bom(result) == {part: Decimal(n) for part, n in expected.items()}
    by_part = {line.part: line for line in result.bom}
    assert by_part["KEYCAP"].level == 2
    assert by_part["KEYCAP"].rules == ("parts.KEY-MODULE.bom[1]",)
    assert by_part["KEY-MODULE"].rules == ("products.KP.bom[3]",)
    material = f"PLA-{str(options['color']).upper()}"
    assert {line.material for line in result.bom if line.kind == "make"} == {material}


@settings(max_examples=300, deadline=None)
@given(options=keypad_options, qty=quantities)
def test_keypad_operations_follow_the_routing(keypad: Catalog, options: dict[str, object], qty: int) -> None:
    result = translate(keypad, "KP", options, qty)
    keys = int(options["keys"])  # type: ignore[call-overload]
    ops = {op.id: op for op in result.operations}
    engraved = options["engraving"] != ""
    assert ("KP:engrave-nameplate" in ops) == engraved
    before = closure(result)
    assert before["KP:flash-firmware"] == set()
    assert {"make:HSG-TOP", "make:HSG-BOTTOM", "make:KEYCAP", "KEY-MODULE:assemble-module"} <= before[
        "KP:assemble"
    ]
    assert "make:KEYCAP" in before["KEY-MODULE:assemble-module"]
    assert "KP:assemble" in before["KP:inspect"]
    assert {"KP:inspect", "KP:flash-firmware"} <= before["KP:pack"]
    if engraved:
        assert before["KP:engrave-nameplate"] == set()
        assert "KP:engrave-nameplate" in before["KP:assemble"]
        assert ops["KP:engrave-nameplate"].params["text"] == options["engraving"]
    assert ops["KP:assemble"].minutes == (6 + 0.5 * keys) * qty
    assert ops["make:KEYCAP"].qty == keys * qty
    assert ops["make:KEYCAP"].minutes == 4 * keys * qty
    assert ops["KEY-MODULE:assemble-module"].minutes == 1.5 * keys * qty
    assert ops["KP:flash-firmware"].params == {
        "profile": options["firmware"],
        "image": f"kp{keys}-{options['firmware']}.uf2",
    }
    assert ops["make:HSG-TOP"].params == {
        "part": "HSG-TOP",
        "material": f"PLA-{str(options['color']).upper()}",
    }
    assert ops["KP:inspect"].params == {"checks": ["color", "engraving", "visual"]}
    assert len(ops) == len(result.operations), "operation ids are unique"


@settings(max_examples=100, deadline=None)
@given(color=st.sampled_from(COLORS), qty=quantities)
def test_repair_module_translates(keypad: Catalog, color: str, qty: int) -> None:
    result = translate(keypad, "KEY-MODULE-R", {"color": color}, qty)
    assert bom(result) == {"KEY-MODULE": qty, "SWITCH": qty, "KEYCAP": qty}
    before = closure(result)
    assert before["KEY-MODULE-R:pack"] == {"KEY-MODULE:assemble-module", "make:KEYCAP"}
    assert result.materials == {f"PLA-{color.upper()}"}


@settings(max_examples=200, deadline=None)
@given(a=keypad_options, b=keypad_options)
def test_configuration_key_is_equal_exactly_for_equal_configurations(
    keypad: Catalog, a: dict[str, object], b: dict[str, object]
) -> None:
    first, second = translate(keypad, "KP", a, 1), translate(keypad, "KP", b, 3)
    same = {k: str(v).casefold() for k, v in a.items()} == {k: str(v).casefold() for k, v in b.items()}
    if a["engraving"] != b["engraving"]:
        same = False
    assert (first.configuration_key == second.configuration_key) == same


def test_defaults_and_case_give_the_same_key(keypad: Catalog) -> None:
    explicit = translate(
        keypad, "KP", {"keys": "4", "color": "BLACK", "engraving": "", "firmware": "Standard"}
    )
    implicit = translate(keypad, "KP", {})
    assert explicit.configuration_key == implicit.configuration_key
    assert explicit.options == {"keys": 4, "color": "black", "engraving": "", "firmware": "standard"}
    assert implicit.configuration_key == configuration_key("keystone", "KP", implicit.options)


@settings(max_examples=300, deadline=None)
@given(options=keypad_options, qty=quantities)
def test_memoised_translation_equals_translation_from_scratch(
    keypad: Catalog, options: dict[str, object], qty: int
) -> None:
    """Reused structures (same shape, other engraving) give exactly what a cold translation gives."""
    warm = translate(keypad, "KP", options, qty)
    cold_catalog = Catalog(keypad.name, keypad.version, keypad.materials, keypad.parts, keypad.products)
    cold = translate(cold_catalog, "KP", options, qty)
    assert warm.as_dict() == cold.as_dict()
