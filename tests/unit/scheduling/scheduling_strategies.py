"""Random small scheduling problems for property tests: machines, setups, calendars, due dates."""

from __future__ import annotations

from hypothesis import strategies as st

from microfactory.scheduling.model import Job, Machine, Mode, Operation, SchedulingProblem

CALENDAR = ((0, 40), (60, 100), (130, 170), (200, 10_000))


@st.composite
def problems(draw: st.DrawFn, calendars: bool = True, setups: bool = True) -> SchedulingProblem:
    machine_count = draw(st.integers(1, 4))
    machines = tuple(
        Machine(
            id=f"M{m}",
            calendar=CALENDAR if calendars and draw(st.booleans()) else None,
            material_change_minutes=draw(st.integers(0, 6)) if setups else 0,
            initial_material=draw(st.sampled_from([None, "PLA"])) if setups else None,
        )
        for m in range(machine_count)
    )
    jobs: list[Job] = []
    operations: list[Operation] = []
    for j in range(draw(st.integers(1, 5))):
        due = draw(st.one_of(st.none(), st.integers(5, 120)))
        jobs.append(
            Job(id=f"J{j}", release=draw(st.integers(0, 20)), due=due, weight=draw(st.integers(1, 3)))
        )
        first = len(operations)
        for k in range(draw(st.integers(1, 4))):
            eligible = draw(
                st.lists(st.integers(0, machine_count - 1), min_size=1, max_size=machine_count, unique=True)
            )
            modes = tuple(Mode(m, draw(st.integers(1, 9))) for m in eligible)
            # a DAG: each operation may follow any earlier one of its job
            after = tuple(sorted(draw(st.sets(st.integers(first, first + k - 1), max_size=2)))) if k else ()
            material = draw(st.sampled_from([None, "PLA", "PETG", "TPU"])) if setups else None
            operations.append(Operation(id=f"J{j}.{k}", job=j, modes=modes, after=after, material=material))
    return SchedulingProblem(machines, tuple(jobs), tuple(operations))
