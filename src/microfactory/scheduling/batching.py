"""Small batches: group identical configurations and same-material parts into one machine run.

A print plate holds several parts; loading it once with parts of one material saves a material
change and an operator's visit per part. Two kinds of operations may share a run:
- parts made from raw material at the start of a work order (no predecessors), same capability and
  material, whichever order they belong to;
- the same step of identical configurations (same configuration key and operation), e.g. the
  assembly of ten identical lamps.
A pilot batch of 10-50 units already arrives as one operation and is never split: it may exceed the
capacity alone and then runs alone. Every batch keeps its members, so each unit stays traceable.

A run ends when its last member is done, and a later step shared by several work orders waits for
the predecessors of all of them: a member promised for Monday must not share a run with one
promised for Thursday, or Monday's promise waits for Thursday's parts. So only items due within
`due_window_minutes` of the run's most urgent member share it. Promises are made by the day (a
work order is due at the close of its promised ship day), and the default half day keeps each run
to the work promised for one day.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class BatchItem:
    """One work-order operation that may join a batch. `ref` is unique: `work_order/operation`."""

    ref: str
    order: str
    operation: str
    capability: str
    qty: int
    minutes: int
    material: str | None = None
    configuration_key: str = ""
    after: tuple[str, ...] = ()  # refs of predecessors in the same work order
    due: int | None = None
    release: int = 0


DUE_WINDOW_MINUTES = 12 * 60  # shorter than the day between two promised ship days


@dataclass(frozen=True, slots=True)
class BatchPolicy:
    """How much one run may hold: units and minutes (a plate's area and a shift's length, roughly).

    `run_overhead_minutes` is the per-run preparation (plate, heat-up, first-layer check) that each
    item pays when it runs alone and a batch pays once.
    """

    capacity_units: int = 12
    capacity_minutes: int = 480
    run_overhead_minutes: int = 0
    enabled: bool = True
    due_window_minutes: int | None = DUE_WINDOW_MINUTES  # None: any due dates may share a run


@dataclass(frozen=True, slots=True)
class Batch:
    """Operations that run together as one machine run, with their members kept for traceability."""

    id: str
    capability: str
    material: str | None
    items: tuple[BatchItem, ...]

    @property
    def qty(self) -> int:
        return sum(item.qty for item in self.items)

    @property
    def orders(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(item.order for item in self.items))

    def minutes(self, policy: BatchPolicy) -> int:
        """Members' minutes, less the run overhead that all but one of them no longer pay."""
        total = sum(item.minutes for item in self.items)
        return max(1, total - policy.run_overhead_minutes * (len(self.items) - 1)) if total else 0


def _group_key(item: BatchItem) -> tuple[str, ...]:
    if not item.after and item.material is not None:
        return ("material", item.capability, item.material)
    return ("configuration", item.capability, item.configuration_key, item.operation, item.material or "")


def make_batches(items: Iterable[BatchItem], policy: BatchPolicy) -> list[Batch]:
    """Batches in a stable order; urgent items are packed together so a batch rarely waits for a late one."""
    items = list(items)
    if not policy.enabled:
        return [Batch(f"B{n + 1}", item.capability, item.material, (item,)) for n, item in enumerate(items)]
    groups: dict[tuple[str, ...], list[BatchItem]] = {}
    for item in items:
        groups.setdefault(_group_key(item), []).append(item)
    batches: list[Batch] = []
    for members in groups.values():
        members.sort(key=lambda i: (i.due if i.due is not None else 1 << 40, i.release, i.ref))
        current: list[BatchItem] = []
        for item in members:
            if current and not _fits(current, item, policy):
                batches.append(_batch(len(batches), current))
                current = []
            current.append(item)
        if current:
            batches.append(_batch(len(batches), current))
    if _has_cycle(batches):  # cannot happen with the grouping above; kept as a guard
        return make_batches(items, BatchPolicy(enabled=False))
    return batches


def _fits(current: Sequence[BatchItem], item: BatchItem, policy: BatchPolicy) -> bool:
    units = sum(i.qty for i in current) + item.qty
    minutes = sum(i.minutes for i in current) + item.minutes
    same_order_chain = any(item.ref in i.after or i.ref in item.after for i in current)
    return (
        units <= policy.capacity_units
        and minutes <= policy.capacity_minutes
        and not same_order_chain
        and _due_together(current[0], item, policy.due_window_minutes)
    )


def _due_together(urgent: BatchItem, item: BatchItem, window: int | None) -> bool:
    """Whether `item` may share the run of `urgent` (the run's first and most urgent member)."""
    if window is None or urgent.due is None or item.due is None:
        return True
    return item.due - urgent.due <= window


def _batch(number: int, members: Sequence[BatchItem]) -> Batch:
    return Batch(f"B{number + 1}", members[0].capability, members[0].material, tuple(members))


def batch_predecessors(batches: Sequence[Batch]) -> list[tuple[int, ...]]:
    """For each batch, the batches holding its members' predecessors."""
    where = {item.ref: n for n, batch in enumerate(batches) for item in batch.items}
    result: list[tuple[int, ...]] = []
    for n, batch in enumerate(batches):
        before = {where[ref] for item in batch.items for ref in item.after if ref in where}
        before.discard(n)
        result.append(tuple(sorted(before)))
    return result


def _has_cycle(batches: Sequence[Batch]) -> bool:
    predecessors = batch_predecessors(batches)
    state = [0] * len(batches)  # 0 new, 1 on stack, 2 done
    for root in range(len(batches)):
        if state[root]:
            continue
        stack = [(root, iter(predecessors[root]))]
        state[root] = 1
        while stack:
            node, children = stack[-1]
            child = next(children, None)
            if child is None:
                state[node] = 2
                stack.pop()
            elif state[child] == 1:
                return True
            elif state[child] == 0:
                state[child] = 1
                stack.append((child, iter(predecessors[child])))
    return False
