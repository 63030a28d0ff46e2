"""How hard and how cleverly the solver searches: one settings object shared by every phase.

Split from `cpsat.py` so that the phases (`phases.py`) and the CP-SAT run (`cpsat.py`) read the same
settings without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

POLISH_MIN_OPERATIONS = 40
POLISH_MOVES_PER_SECOND = 200  # polish moves per second of budget when runs must repeat exactly
# site-like problems whose CP-SAT model has more terms than this per second of budget skip CP-SAT:
# building it would eat the budget (a 300-operation site: 83,000 arcs, 5 s to build under load)
# and the dispatcher's plan would come back unchanged, so polish gets the whole time instead
CPSAT_TERMS_PER_SECOND = 4000
DETERMINISTIC_MOVES_PER_SECOND = 10000  # tabu moves per second of budget when runs must repeat exactly


@dataclass(frozen=True, slots=True)
class SolverSettings:
    """How hard and how cleverly to search. `plain()` is the untuned baseline the benchmark compares with."""

    time_limit: float = 10.0
    workers: int = 8
    warm_start: bool = True
    hint_times: bool = True  # hint starts and ends too, not only the machine of each operation
    probe_share: float = 0.5  # flexible makespan problems: share of time searched without the hint first
    # makespan problems without setups or calendars: share of time for the tabu search (tabu.py)
    # before CP-SAT continues from its plan; 0 turns it off
    search_share: float = 0.6
    # ... and after it, the tabu search goes on beside the hinted CP-SAT (two workers or more)
    search_beside_hint: bool = True
    # site-like problems (due dates or setups, at least POLISH_MIN_OPERATIONS): share of time for
    # the local search of polish.py after CP-SAT; 0 turns it off
    polish_share: float = 0.25
    tight_horizon: bool = True
    circuit_limit: int = 150  # candidates on one machine above which setups are reserved conservatively
    energy: bool = True  # redundant machine-load rows: each machine's load fits in the makespan
    tiny_time: float = 0.05  # below this time limit the dispatcher's plan is the answer
    seed: int = 0
    # Same input, same plan: one worker and a budget in CP-SAT's deterministic time (about seconds,
    # but counted in work done), so a loaded machine or a fast one finds the same plan (the demo).
    deterministic: bool = False
    extra: dict[str, Any] = field(default_factory=dict)  # raw CP-SAT parameters, for experiments

    @classmethod
    def plain(cls, time_limit: float = 10.0, workers: int = 8) -> SolverSettings:
        return cls(
            time_limit=time_limit,
            workers=workers,
            warm_start=False,
            tight_horizon=False,
            energy=False,
            search_share=0,
            polish_share=0,
        )
