"""Statistical process control, pure: control charts and the Western Electric rules.

- `p_chart`: the share of defective units per subgroup (a day, a batch) with 3-sigma limits that
  follow each subgroup's size: p̄ ± 3·sqrt(p̄(1 − p̄)/nᵢ), the lower one cut at 0.
- `individuals_chart`: one reading per point, sigma from the average moving range (MR̄/1.128),
  with the moving-range chart's upper limit (3.267·MR̄) alongside.
- `xbar_r_chart`: subgroups of n readings, limits x̿ ± A₂R̄ from the standard table (n 2..10).

Limits come from the first `baseline` points (phase I; all of them by default) and judge every
point, so a process that drifts after its baseline shows as out of control instead of widening
its own limits. Each chart is then read with the four Western Electric rules, on the points'
distances from the centre in sigmas (each point's own sigma, so a p-chart's varying n is kept):

1. one point beyond 3σ;  2. two of three in a row beyond 2σ on one side;
3. four of five in a row beyond 1σ on one side;  4. eight in a row on one side of the centre.

A `Signal` names its rule, the points involved and a sentence a person can act on.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass, field

MR_D2 = 1.128  # d2 for moving ranges of two
MR_D4 = 3.267
# n: (A2, D3, D4) for X-bar/R charts
XBAR_R = {
    2: (1.880, 0.0, 3.267),
    3: (1.023, 0.0, 2.574),
    4: (0.729, 0.0, 2.282),
    5: (0.577, 0.0, 2.114),
    6: (0.483, 0.0, 2.004),
    7: (0.419, 0.076, 1.924),
    8: (0.373, 0.136, 1.864),
    9: (0.337, 0.184, 1.816),
    10: (0.308, 0.223, 1.777),
}
RULES = {
    "beyond_3_sigma": "one point beyond 3σ",
    "2_of_3_beyond_2_sigma": "2 of 3 points in a row beyond 2σ on one side",
    "4_of_5_beyond_1_sigma": "4 of 5 points in a row beyond 1σ on one side",
    "8_on_one_side": "8 points in a row on one side of the centre",
}


@dataclass(frozen=True, slots=True)
class Point:
    label: str  # the subgroup: a day, a reading's time, a batch
    value: float
    center: float
    sigma: float  # of this point (a p-chart's depends on its n)
    n: int = 1

    @property
    def ucl(self) -> float:
        return self.center + 3 * self.sigma

    @property
    def lcl(self) -> float:
        return self.center - 3 * self.sigma

    @property
    def z(self) -> float:
        """The distance from the centre in sigmas (0 when the process shows no spread at all)."""
        if self.sigma > 0:
            return (self.value - self.center) / self.sigma
        return 0.0 if self.value == self.center else math.copysign(math.inf, self.value - self.center)


@dataclass(frozen=True, slots=True)
class Signal:
    rule: str  # a key of RULES
    points: tuple[int, ...]  # indexes of the points that make the pattern; the last is where it shows
    explanation: str

    @property
    def last(self) -> int:
        return self.points[-1]

    def as_dict(self) -> dict[str, object]:
        return {"rule": self.rule, "points": list(self.points), "explanation": self.explanation}


@dataclass(frozen=True, slots=True)
class Chart:
    kind: str  # p | individuals | xbar_r
    subject: str  # what is charted: "machine ber-fdm-1 defect rate", "ber-fdm-1 nozzle_temp"
    points: tuple[Point, ...]
    lower_bound: float | None = None  # a p-chart's limits stop at 0
    extra: dict[str, float] = field(default_factory=dict)  # e.g. the moving range's limits

    def limits(self, index: int) -> tuple[float, float]:
        point = self.points[index]
        low = point.lcl if self.lower_bound is None else max(self.lower_bound, point.lcl)
        return low, point.ucl

    def signals(self) -> list[Signal]:
        return western_electric(self)

    def point_view(self, index: int) -> dict[str, object]:
        point = self.points[index]
        low, high = self.limits(index)
        return {
            "label": point.label,
            "value": point.value,
            "n": point.n,
            "center": point.center,
            "lcl": low,
            "ucl": high,
        }

    def as_dict(self) -> dict[str, object]:
        return {
            "kind": self.kind,
            "subject": self.subject,
            "points": [self.point_view(i) for i in range(len(self.points))],
            "extra": self.extra,
            "signals": [signal.as_dict() for signal in self.signals()],
        }


def _baseline(count: int, baseline: int | None) -> int:
    return count if baseline is None else max(1, min(count, baseline))


def p_chart(subject: str, groups: Sequence[tuple[str, int, int]], baseline: int | None = None) -> Chart:
    """Defective share per subgroup; `groups` are (label, defective, inspected) with inspected > 0."""
    groups = [group for group in groups if group[2] > 0]
    base = groups[: _baseline(len(groups), baseline)]
    total = sum(n for _, _, n in base)
    p_bar = sum(d for _, d, _ in base) / total if total else 0.0
    points = tuple(
        Point(label, d / n, p_bar, math.sqrt(p_bar * (1 - p_bar) / n), n) for label, d, n in groups
    )
    return Chart("p", subject, points, lower_bound=0.0)


def individuals_chart(
    subject: str, readings: Sequence[tuple[str, float]], baseline: int | None = None
) -> Chart:
    """One reading per point; sigma estimated from the average moving range of the baseline."""
    base = readings[: _baseline(len(readings), baseline)]
    center = sum(value for _, value in base) / len(base) if base else 0.0
    ranges = [abs(b[1] - a[1]) for a, b in itertools.pairwise(base)]
    mr_bar = sum(ranges) / len(ranges) if ranges else 0.0
    sigma = mr_bar / MR_D2
    points = tuple(Point(label, value, center, sigma) for label, value in readings)
    return Chart("individuals", subject, points, extra={"mr_bar": mr_bar, "mr_ucl": MR_D4 * mr_bar})


def xbar_r_chart(
    subject: str, readings: Sequence[tuple[str, float]], size: int, baseline: int | None = None
) -> Chart:
    """Subgroups of `size` consecutive readings (2..10; an incomplete last one is left out)."""
    if size not in XBAR_R:
        raise ValueError(f"an X-bar/R subgroup has 2 to 10 readings, not {size}")
    a2, d3, d4 = XBAR_R[size]
    groups = [readings[i : i + size] for i in range(0, len(readings) - size + 1, size)]
    means = [(g[0][0], sum(v for _, v in g) / size) for g in groups]
    ranges = [max(v for _, v in g) - min(v for _, v in g) for g in groups]
    count = _baseline(len(groups), baseline)
    center = sum(m for _, m in means[:count]) / count if groups else 0.0
    r_bar = sum(ranges[:count]) / count if groups else 0.0
    sigma = a2 * r_bar / 3  # so that center ± 3σ is x̿ ± A2·R̄
    points = tuple(Point(label, mean, center, sigma, size) for label, mean in means)
    return Chart("xbar_r", subject, points, extra={"r_bar": r_bar, "r_lcl": d3 * r_bar, "r_ucl": d4 * r_bar})


def western_electric(chart: Chart) -> list[Signal]:
    """Every place a Western Electric rule fires, once per rule and run (the run's last point)."""
    z = [point.z for point in chart.points]
    signals: list[Signal] = []
    for index, point in enumerate(chart.points):
        low, high = chart.limits(index)
        if point.value > high or point.value < low:
            side = "above" if point.value > high else "below"
            signals.append(
                Signal(
                    "beyond_3_sigma",
                    (index,),
                    f"{chart.subject}: {point.label} at {point.value:.4g} is {side} the 3σ limit "
                    f"({low:.4g} .. {high:.4g}, centre {point.center:.4g})",
                )
            )
    signals += _runs(chart, z, 3, 2, 2.0, "2_of_3_beyond_2_sigma")
    signals += _runs(chart, z, 5, 4, 1.0, "4_of_5_beyond_1_sigma")
    signals += _runs(chart, z, 8, 8, 0.0, "8_on_one_side")
    return sorted(signals, key=lambda s: (s.last, s.rule))


def _runs(chart: Chart, z: list[float], window: int, need: int, beyond: float, rule: str) -> list[Signal]:
    """`need` of `window` points in a row beyond `beyond` sigmas on one side; a run that goes on
    signals once, at the point where it first completes."""
    found: list[Signal] = []
    previous_hit = False
    for end in range(window - 1, len(z)):
        span = range(end - window + 1, end + 1)
        hit = False
        for sign, side in ((1, "above"), (-1, "below")):
            members = tuple(i for i in span if sign * z[i] > beyond)
            if len(members) >= need and members[-1] == end:
                hit = True
                if not previous_hit:
                    labels = f"{chart.points[members[0]].label} .. {chart.points[end].label}"
                    found.append(Signal(rule, members, f"{chart.subject}: {RULES[rule]} ({side}; {labels})"))
        previous_hit = hit
    return found
