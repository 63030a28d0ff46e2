"""The work queued at a site, laid machine by machine the way the site's plan will run it.

Pure. A promise must be one the site can keep, so routing estimates a work order's finish with
the same rules the site plan (scheduling/site_plan.py) follows, only greedily and without batching:
each operation, after its predecessors, on the eligible machine where it ends first (its capability,
and its material among those the machine is loaded with), in the first gap that machine has left
where it fits with a material change on either side where the material differs, and inside one
working day: an operation never spans a closing. Work is laid in queue order, first come first
served; a gap is used only where the work around it stays where it is, so a promise depends only
on the work queued before it and later work never moves it. Gaps matter: an assembly bench idles
while the printers work, and a keypad whose colour prints on an idle printer must not wait for the
bench's last job behind the busy printer of another colour.

Time is counted in working minutes on a clock whose minute 0 is the opening of the working day
that `now` falls in (or of the next one), so every working day is `day_minutes` long and its
boundaries are multiples of it: closed days and nights do not exist on this clock, and
`promise.finish_time` maps a position back to a date in the site's time zone.
"""

from __future__ import annotations

import itertools
import math
from bisect import bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import NamedTuple

from microfactory.network.demand import Step
from microfactory.network.model import Calendar, Machine, Site
from microfactory.network.promise import MAX_CALENDAR_DAYS, NeverOpen, zone

# One compiled step: (whole minutes, material, eligible machine indices, indices of the steps before it)
CompiledStep = tuple[float, str | None, tuple[int, ...], tuple[int, ...]]
Program = tuple[CompiledStep, ...]
_VERSIONS = itertools.count(1)
GAPS_SEARCHED = 8  # gaps tried per machine before a step goes after the machine's last job
# One placement: (machine index, start, end, material)
Placement = tuple[int, float, float, str | None]


@dataclass(frozen=True, slots=True)
class QueueClock:
    """Where `now` is on a site's working-minute clock."""

    anchor: date  # the working day whose opening is minute 0
    offset: float  # working minutes of that day already gone at `now`
    day_minutes: int


def clock_at(calendar: Calendar, timezone: str, now: datetime) -> QueueClock:
    """The working day `now` falls in (or the next one, after closing or on a closed day)."""
    tz = zone(timezone)
    local = now.astimezone(tz)
    day = local.date()
    for _ in range(MAX_CALENDAR_DAYS):
        if calendar.is_working_day(day):
            opening = datetime.combine(day, calendar.open, tz)
            closing = datetime.combine(day, calendar.close, tz)
            if local < closing:
                offset = max(0.0, (local - opening).total_seconds() / 60)
                return QueueClock(day, offset, calendar.minutes_per_day)
        day += timedelta(days=1)
    raise NeverOpen("the calendar has no working day in the next ten years")


def step_minutes(minutes: float) -> float:
    """The plan counts whole minutes, at least one per operation: so does the queue."""
    return float(max(1, math.ceil(minutes)))


class Queued(NamedTuple):
    """Work in a site's queue: its work orders (to take it out again) and its steps (to lay it)."""

    work_order_ids: tuple[str, ...]
    steps: tuple[Step, ...]


class SiteMachines:
    """The machines up at a site, and which of them can run what: steps compiled for the queue.

    A program compiled here is valid for every `MachineQueue` made from the same machines.
    """

    __slots__ = ("_eligible", "change_minutes", "machines")

    def __init__(self, site: Site, machines: Sequence[Machine]) -> None:
        self.machines = tuple(machines)
        self.change_minutes = float(site.material_change_minutes)
        self._eligible: dict[tuple[str, str | None], tuple[int, ...]] = {}

    def eligible(self, capability: str, material: str | None) -> tuple[int, ...]:
        """Machines that can run a step: its capability, and its material if the machine lists any
        (the site plan's rule)."""
        key = (capability, material)
        found = self._eligible.get(key)
        if found is None:
            found = tuple(
                n
                for n, m in enumerate(self.machines)
                if m.capability == capability
                and (material is None or not m.materials or material in m.materials)
            )
            self._eligible[key] = found
        return found

    def compile(self, steps: Iterable[Step]) -> Program | None:
        """The steps as the hot loop reads them; None when a step has no machine up to run on."""
        program: list[CompiledStep] = []
        for step in steps:
            machines = self.eligible(step.capability, step.material)
            if not machines:
                return None
            program.append((step_minutes(step.minutes), step.material, machines, step.after))
        return tuple(program)

    def unrunnable(self, steps: Iterable[Step]) -> tuple[str, ...]:
        """Why steps cannot be laid here: each capability and material no machine up runs."""
        missing = {(s.capability, s.material) for s in steps if not self.eligible(s.capability, s.material)}
        return tuple(
            f"no machine up for {capability}" + (f" with {material}" if material else "")
            for capability, material in sorted(missing, key=lambda key: (key[0], key[1] or ""))
        )

    def queue(self, clock: QueueClock, work: Iterable[Queued] = ()) -> MachineQueue:
        """A queue on these machines from `clock`, with `work` laid in order (what cannot run on
        the machines up is left out: the site cannot make it now)."""
        laid = MachineQueue(self, clock)
        for queued in work:
            program = self.compile(queued.steps)
            if program is not None:
                laid.add(program)
        return laid


class Gaps:
    """One machine's free intervals as parallel lists: starts and ends (sorted; the last one never
    ends), the material loaded before each and the one needed after it (None: no change needed),
    and the length of the widest gap but the last, so that a longer step goes straight to the end."""

    __slots__ = ("after", "before", "ends", "starts", "widest")

    def __init__(self, start: float, loaded: str | None) -> None:
        self.starts = [start]
        self.ends = [math.inf]
        self.before: list[str | None] = [loaded]
        self.after: list[str | None] = [None]
        self.widest = 0.0

    def fill(self, start: float, end: float, material: str | None) -> None:
        """Split the gap holding [start, end) into what is left on either side (a minute or more)."""
        starts, ends, before, after = self.starts, self.ends, self.before, self.after
        gap = bisect_right(ends, start)
        gap_start, gap_end, loaded, needed = starts[gap], ends[gap], before[gap], after[gap]
        del starts[gap], ends[gap], before[gap], after[gap]
        if gap_end - end >= 1:
            starts.insert(gap, end)
            ends.insert(gap, gap_end)
            before.insert(gap, material)
            after.insert(gap, needed)
        if start - gap_start >= 1:
            starts.insert(gap, gap_start)
            ends.insert(gap, start)
            before.insert(gap, loaded)
            after.insert(gap, material)
        if gap_end == math.inf:  # the last gap: what is left before the step is a new gap
            self.widest = max(self.widest, start - gap_start)
        elif gap_end - gap_start >= self.widest:  # the widest gap was split: find the next widest
            self.widest = max((e - s for s, e in zip(starts[:-1], ends[:-1], strict=True)), default=0.0)


class MachineQueue:
    """Each machine's gaps after the work laid on it so far: free intervals on the queue's clock,
    each with the material loaded before it and the one needed after it (None: no change needed).

    A machine starts free from `clock.offset` (now) on, loaded with the first material it lists, as
    the site plan assumes; its last gap never ends.
    """

    __slots__ = ("change", "clock", "gaps", "version")

    def __init__(self, machines: SiteMachines, clock: QueueClock) -> None:
        self.clock = clock
        self.change = machines.change_minutes
        self.gaps = [Gaps(clock.offset, m.materials[0] if m.materials else None) for m in machines.machines]
        self.version = next(_VERSIONS)  # changes whenever work is added: a cached finish is stale

    def finish(self, program: Program) -> float:
        """When the program's last step would end, laid in the queue's gaps; nothing is kept."""
        return _lay(self, program, float(self.clock.day_minutes), None)

    def add(self, program: Program) -> float:
        """Lay the program on the machines for good; when its last step ends."""
        placed: list[Placement] = []
        finish = _lay(self, program, float(self.clock.day_minutes), placed)
        for machine, start, end, material in placed:
            self.gaps[machine].fill(start, end, material)
        self.version = next(_VERSIONS)
        return finish

    def work_minutes(self, finish: float) -> float:
        """Working minutes from now until a position on the clock."""
        return max(0.0, finish - self.clock.offset)


def _lay(queue: MachineQueue, program: Program, day: float, placed: list[Placement] | None) -> float:
    """Greedy list scheduling of one work order, as the site plan's dispatcher does it: each step
    on the machine where it ends first. Returns when the last step ends; `placed`, if given,
    receives where each step went.

    Hot: routing calls it for every feasible site of every work order whose queue changed. The
    queue itself is only read: the work order's own earlier steps are kept aside (`mine`).
    """
    gaps, change = queue.gaps, queue.change
    finished: list[float] = []
    mine: dict[int, list[tuple[float, float, str | None]]] = {}
    last = 0.0
    for minutes, material, machines, preceding in program:
        ready = 0.0
        for step in preceding:
            if finished[step] > ready:  # noqa: PLR1730 - `if` is ten times faster than max() here
                ready = finished[step]
        best_end = math.inf
        best_start = 0.0
        best = machines[0]
        for m in machines:
            start = _slot(gaps[m], ready, minutes, material, change, day)
            own = mine.get(m)
            while own is not None:  # the machine already has a step of this work order
                clash = _clash(own, start, start + minutes, material, change)
                if clash is None:
                    break
                start = _slot(gaps[m], clash, minutes, material, change, day)
            if start + minutes < best_end:
                best_end, best_start, best = start + minutes, start, m
        mine.setdefault(best, []).append((best_start, best_end, material))
        if placed is not None:
            placed.append((best, best_start, best_end, material))
        finished.append(best_end)
        if best_end > last:  # noqa: PLR1730 - hot path, as above
            last = best_end
    return last


def _slot(
    gaps: Gaps,
    earliest: float,
    minutes: float,
    material: str | None,
    change: float,
    day: float,
) -> float:
    """The first start from `earliest` at which a step fits in a gap of one machine: a material
    change after what is loaded before the gap and before what is needed after it, and the whole
    step inside one working day (a step longer than a day starts at an opening). After
    `GAPS_SEARCHED` gaps it goes into the last, endless one."""
    starts, ends, before, after = gaps.starts, gaps.ends, gaps.before, gaps.after
    last = len(ends) - 1
    gap = bisect_right(ends, earliest) if minutes <= gaps.widest else last
    tried = 0
    while True:
        if gap < last and ends[gap] - starts[gap] < minutes:  # too short, whatever the changes
            tried += 1
            gap = gap + 1 if tried < GAPS_SEARCHED else last
            continue
        start = starts[gap]
        if material is not None and before[gap] is not None and before[gap] != material:
            start += change
        if start < earliest:  # noqa: PLR1730 - hot path
            start = earliest
        if minutes <= day:
            closing = (start // day + 1) * day
            if start + minutes > closing:
                start = closing
        elif start % day:
            start = (start // day + 1) * day
        limit = ends[gap]
        if material is not None and after[gap] is not None and after[gap] != material:
            limit -= change
        if start + minutes <= limit:
            return start
        tried += 1
        gap = gap + 1 if tried < GAPS_SEARCHED else last


def _clash(
    mine: list[tuple[float, float, str | None]],
    start: float,
    end: float,
    material: str | None,
    change: float,
) -> float | None:
    """Where a step must start at the earliest if [start, end) collides (changes included) with a
    step the same work order already put on the machine; None when it does not."""
    for other_start, other_end, other in mine:
        switch = change if material is not None and other is not None and other != material else 0.0
        if start < other_end + switch and other_start < end + switch:
            return other_end + switch
    return None
