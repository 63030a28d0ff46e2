"""Reading Brandimarte .fjs text: the benchmark files, and errors that name the line."""

from __future__ import annotations

from pathlib import Path

import pytest

from microfactory.scheduling.fjs import FjsError, operation_position, parse_fjs, read_fjs

DATA = Path(__file__).parents[3] / "benchmarks" / "data" / "fjs"


def test_reads_all_brandimarte_instances_with_their_known_sizes() -> None:
    sizes = {
        "mk01": (10, 6, 55),
        "mk03": (15, 8, 150),
        "mk05": (15, 4, 106),
        "mk08": (20, 10, 225),
        "mk10": (20, 15, 240),
    }
    for name, (jobs, machines, ops) in sizes.items():
        problem = read_fjs(DATA / f"{name}.fjs")
        assert (len(problem.jobs), len(problem.machines), len(problem.operations)) == (jobs, machines, ops)


def test_machines_are_counted_from_zero_and_jobs_are_chains() -> None:
    problem = parse_fjs("2 3 1.5\n2 1 3 7 2 1 4 2 5\n1 1 1 9\n")
    first, second, third = problem.operations
    assert [(m.machine, m.duration) for m in first.modes] == [(2, 7)]
    assert [(m.machine, m.duration) for m in second.modes] == [(0, 4), (1, 5)]
    assert second.after == (0,)
    assert third.after == () and third.job == 1
    assert operation_position(problem) == [(0, 0), (0, 1), (1, 0)]


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", 1, "empty"),
        ("2\n", 1, "jobs machines"),
        ("1 2\n1 1 3 4\n", 2, "machine 3 not in 1..2"),
        ("2 2\n1 1 1 4\n", 3, "expected 2 job lines"),
        ("1 2\n1 1 1 4 9\n", 2, "after its last operation"),
        ("1 2\n2 1 1 4\n", 2, "ends before its operation 2"),
        ("1 2\n1 2 1 4\n", 2, "fewer than 2 pairs"),
        ("1 2\n1 1 1 x\n", 2, "'x' is not a number"),
        ("1 2\n1 1 1 4\n1 1 1 4\n", 3, "unexpected line"),
        ("1 2 avg\n1 1 1 4\n", 1, "average"),
    ],
)
def test_malformed_files_name_the_line(text: str, line: int, words: str) -> None:
    with pytest.raises(FjsError) as caught:
        parse_fjs(text)
    assert caught.value.line == line
    assert words in str(caught.value)
    assert str(caught.value).startswith(f"line {line}:")
