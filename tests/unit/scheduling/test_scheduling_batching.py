"""Batches: same material parts share a plate, identical configurations share a step, pilots stay whole."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from microfactory.scheduling.batching import BatchItem, BatchPolicy, batch_predecessors, make_batches


def _print(ref: str, material: str, qty: int = 1, minutes: int = 30, due: int = 100) -> BatchItem:
    order, operation = ref.split("/", maxsplit=1)
    return BatchItem(ref, order, operation, "fdm_print", qty, minutes, material, "K", due=due)


def test_same_material_parts_of_different_orders_share_a_run_up_to_capacity() -> None:
    items = [_print(f"WO{n}/make:TOP", "PLA-RED") for n in range(5)] + [_print("WO9/make:TOP", "PLA-TEAL")]
    batches = make_batches(items, BatchPolicy(capacity_units=3, capacity_minutes=1000))
    red = [b for b in batches if b.material == "PLA-RED"]
    assert sorted(b.qty for b in red) == [2, 3]
    assert all(b.capability == "fdm_print" for b in batches)
    assert sum(len(b.items) for b in batches) == 6
    assert {b.material for b in batches} == {"PLA-RED", "PLA-TEAL"}


def test_urgent_items_are_packed_together() -> None:
    items = [_print(f"WO{n}/make:TOP", "PLA-RED", due=1000 - n) for n in range(4)]
    first = make_batches(items, BatchPolicy(capacity_units=2))[0]
    assert {item.order for item in first.items} == {"WO3", "WO2"}


def test_only_work_due_within_the_window_shares_a_run() -> None:
    """Promises are by the day: a run holding Monday's and Thursday's work would make Monday wait."""
    day = 24 * 60
    items = [_print(f"WO{n}/make:TOP", "PLA-RED", due=due) for n, due in enumerate((600, 600, 600 + 3 * day))]
    items.append(_print("WO9/make:TOP", "PLA-RED", due=600 + 60))  # an hour later: the same day
    batches = make_batches(items, BatchPolicy(capacity_units=10, capacity_minutes=1000))
    assert sorted(sorted(item.order for item in batch.items) for batch in batches) == [
        ["WO0", "WO1", "WO9"],
        ["WO2"],
    ]
    anything = make_batches(
        items, BatchPolicy(capacity_units=10, capacity_minutes=1000, due_window_minutes=None)
    )
    assert len(anything) == 1


def test_a_pilot_batch_over_capacity_stays_whole_and_traceable() -> None:
    pilot = _print("PILOT/make:TOP", "PLA-RED", qty=40, minutes=900)
    small = _print("WO1/make:TOP", "PLA-RED")
    batches = make_batches([pilot, small], BatchPolicy(capacity_units=12, capacity_minutes=480))
    alone = next(b for b in batches if pilot in b.items)
    assert alone.items == (pilot,) and alone.qty == 40
    assert alone.orders == ("PILOT",)


def test_identical_configurations_share_later_steps_and_keep_precedence() -> None:
    items = []
    for n in range(3):
        items.append(_print(f"WO{n}/make:TOP", "PLA-RED"))
        items.append(
            BatchItem(
                f"WO{n}/assemble",
                f"WO{n}",
                "assemble",
                "assembly",
                1,
                10,
                None,
                "K",
                after=(f"WO{n}/make:TOP",),
            )
        )
    batches = make_batches(items, BatchPolicy(capacity_units=10, capacity_minutes=1000))
    assert len(batches) == 2
    assembly = next(n for n, b in enumerate(batches) if b.capability == "assembly")
    printing = next(n for n, b in enumerate(batches) if b.capability == "fdm_print")
    assert batch_predecessors(batches)[assembly] == (printing,)


def test_run_overhead_is_paid_once_per_batch() -> None:
    items = [_print(f"WO{n}/make:TOP", "PLA-RED", minutes=30) for n in range(3)]
    policy = BatchPolicy(capacity_units=10, capacity_minutes=1000, run_overhead_minutes=5)
    (batch,) = make_batches(items, policy)
    assert batch.minutes(policy) == 80


def test_disabled_batching_keeps_every_operation_alone() -> None:
    items = [_print(f"WO{n}/make:TOP", "PLA-RED") for n in range(3)]
    assert [len(b.items) for b in make_batches(items, BatchPolicy(enabled=False))] == [1, 1, 1]


@given(
    st.lists(
        st.tuples(st.sampled_from(["PLA-RED", "PLA-TEAL", None]), st.integers(1, 30), st.integers(1, 300)),
        min_size=1,
        max_size=40,
    ),
    st.integers(1, 20),
    st.integers(30, 600),
)
def test_every_item_lands_in_one_batch_within_capacity(
    rows: list[tuple[str | None, int, int]], units: int, minutes: int
) -> None:
    items = []
    for n, (material, qty, mins) in enumerate(rows):
        items.append(BatchItem(f"WO{n}/make", f"WO{n}", "make", "fdm_print", qty, mins, material, "K"))
        items.append(
            BatchItem(f"WO{n}/pack", f"WO{n}", "pack", "packing", 1, 3, None, "K", after=(f"WO{n}/make",))
        )
    batches = make_batches(items, BatchPolicy(capacity_units=units, capacity_minutes=minutes))
    placed = [item.ref for batch in batches for item in batch.items]
    assert sorted(placed) == sorted(item.ref for item in items)
    for batch in batches:
        assert len({item.material for item in batch.items}) == 1
        assert len(batch.items) == 1 or (
            batch.qty <= units and sum(item.minutes for item in batch.items) <= minutes
        )
    predecessors = batch_predecessors(batches)
    assert all(n not in before for n, before in enumerate(predecessors))
