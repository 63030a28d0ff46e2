"""Read the Brandimarte `.fjs` flexible job-shop format, the lingua franca of FJSP benchmarks.

First line: `jobs machines [average machines per operation]`. Then one line per job:
`n` operations, each as `k` followed by `k` pairs `machine duration`, machines numbered from 1.
A plain job shop is the case k = 1 everywhere. Errors name the line, so a hand-edited file can be
fixed without guessing.
"""

from __future__ import annotations

from pathlib import Path

from microfactory.errors import Invalid
from microfactory.scheduling.model import Job, Machine, Mode, Operation, SchedulingProblem


class FjsError(Invalid):
    """A malformed `.fjs` text; the message names the line (counted from 1)."""

    def __init__(self, line: int, message: str) -> None:
        self.line = line
        super().__init__(f"line {line}: {message}")


def _ints(text: str, line_number: int) -> list[int]:
    try:
        return [int(token) for token in text.split()]
    except ValueError:
        pass
    values: list[int] = []
    for token in text.split():
        try:
            number = float(token)
        except ValueError:
            raise FjsError(line_number, f"{token!r} is not a number") from None
        if not number.is_integer():
            raise FjsError(line_number, f"{token!r} is not a whole number")
        values.append(int(number))
    return values


def parse_fjs(text: str, name: str = "") -> SchedulingProblem:
    """Parse `.fjs` text into a problem: job j's k-th operation comes after its (k-1)-th."""
    lines = [(number, raw) for number, raw in enumerate(text.splitlines(), start=1) if raw.strip()]
    if not lines:
        raise FjsError(1, "empty file: expected 'jobs machines [average]'")
    header_line, header = lines[0]
    tokens = header.split()
    if len(tokens) < 2:
        raise FjsError(header_line, "expected 'jobs machines [average]'")
    jobs_count, machines_count = _ints(" ".join(tokens[:2]), header_line)
    if len(tokens) > 2:
        try:
            float(tokens[2])
        except ValueError:
            raise FjsError(
                header_line, f"average machines per operation {tokens[2]!r} is not a number"
            ) from None
    if jobs_count <= 0 or machines_count <= 0:
        raise FjsError(header_line, "the numbers of jobs and machines must be positive")
    job_lines = lines[1:]
    if len(job_lines) < jobs_count:
        last = job_lines[-1][0] if job_lines else header_line
        raise FjsError(last + 1, f"expected {jobs_count} job lines, found {len(job_lines)}")
    extra = job_lines[jobs_count:]
    if extra:
        raise FjsError(extra[0][0], f"unexpected line after the {jobs_count} job lines")
    machines = tuple(Machine(id=f"M{m + 1}") for m in range(machines_count))
    jobs = tuple(Job(id=f"J{j + 1}") for j in range(jobs_count))
    operations: list[Operation] = []
    for job_index, (line_number, raw) in enumerate(job_lines):
        operations.extend(
            _parse_job(_ints(raw, line_number), line_number, job_index, machines_count, len(operations))
        )
    return SchedulingProblem(machines, jobs, tuple(operations), name=name)


def _parse_job(values: list[int], line_number: int, job: int, machines: int, offset: int) -> list[Operation]:
    if not values or values[0] <= 0:
        raise FjsError(line_number, "a job line starts with its (positive) number of operations")
    count, position = values[0], 1
    result: list[Operation] = []
    for k in range(count):
        if position >= len(values):
            raise FjsError(line_number, f"job {job + 1} ends before its operation {k + 1}")
        options = values[position]
        position += 1
        if options <= 0:
            raise FjsError(line_number, f"operation {k + 1} of job {job + 1} has {options} machines")
        pairs = values[position : position + 2 * options]
        if len(pairs) < 2 * options:
            raise FjsError(
                line_number, f"operation {k + 1} of job {job + 1} lists fewer than {options} pairs"
            )
        position += 2 * options
        modes: list[Mode] = []
        for machine, duration in zip(pairs[0::2], pairs[1::2], strict=True):
            if not 1 <= machine <= machines:
                raise FjsError(
                    line_number, f"operation {k + 1} of job {job + 1}: machine {machine} not in 1..{machines}"
                )
            if duration < 0:
                raise FjsError(
                    line_number, f"operation {k + 1} of job {job + 1}: negative duration {duration}"
                )
            if any(mode.machine == machine - 1 for mode in modes):
                raise FjsError(
                    line_number, f"operation {k + 1} of job {job + 1}: machine {machine} listed twice"
                )
            modes.append(Mode(machine - 1, duration))
        after = (offset + k - 1,) if k else ()
        result.append(Operation(id=f"J{job + 1}.{k + 1}", job=job, modes=tuple(modes), after=after))
    if position != len(values):
        raise FjsError(
            line_number, f"job {job + 1} has {len(values) - position} numbers after its last operation"
        )
    return result


def read_fjs(path: Path) -> SchedulingProblem:
    """Parse an `.fjs` file; FjsError for bad content, OSError for an unreadable file."""
    return parse_fjs(path.read_text(encoding="utf-8"), name=path.stem)


def operation_position(problem: SchedulingProblem) -> list[tuple[int, int]]:
    """(job, position within job) of each operation, both counted from 0 in file order."""
    seen: dict[int, int] = {}
    positions: list[tuple[int, int]] = []
    for op in problem.operations:
        k = seen.get(op.job, 0)
        positions.append((op.job, k))
        seen[op.job] = k + 1
    return positions
