"""SPC charts and the Western Electric rules on series whose answer is known."""

from __future__ import annotations

import math

import pytest

from microfactory.quality import spc

STEADY = [10.0, 10.2, 9.9, 10.15, 9.8, 10.05, 9.95, 10.1] * 3  # sigma from moving ranges ~0.24


def _rules(chart: spc.Chart) -> list[tuple[str, int]]:
    return [(signal.rule, signal.last) for signal in chart.signals()]


def _readings(values: list[float]) -> list[tuple[str, float]]:
    return [(f"t{i}", value) for i, value in enumerate(values)]


def test_a_steady_process_gives_no_signal() -> None:
    chart = spc.individuals_chart("m torque", _readings(STEADY))
    assert _rules(chart) == []
    assert chart.extra["mr_bar"] > 0 and math.isclose(chart.points[0].sigma, chart.extra["mr_bar"] / 1.128)


def test_each_western_electric_rule_fires_where_its_pattern_completes() -> None:
    base = len(STEADY)
    sigma = spc.individuals_chart("x", _readings(STEADY)).points[0].sigma
    centre = sum(STEADY) / base
    beyond_3 = spc.individuals_chart("x", _readings([*STEADY, centre + 4 * sigma]), baseline=base)
    assert _rules(beyond_3) == [("beyond_3_sigma", base)]
    two_of_three = [centre + 2.5 * sigma, centre, centre + 2.5 * sigma]
    assert ("2_of_3_beyond_2_sigma", base + 2) in _rules(
        spc.individuals_chart("x", _readings(STEADY + two_of_three), base)
    )
    four_of_five = [centre - 1.5 * sigma] * 2 + [centre] + [centre - 1.5 * sigma] * 2
    assert ("4_of_5_beyond_1_sigma", base + 4) in _rules(
        spc.individuals_chart("x", _readings(STEADY + four_of_five), base)
    )
    eight = [centre - 0.5 * sigma] * 8  # the last steady point is above the centre
    assert _rules(spc.individuals_chart("x", _readings(STEADY + eight), base)) == [
        ("8_on_one_side", base + 7)
    ]


def test_a_run_that_goes_on_signals_once() -> None:
    centre = sum(STEADY) / len(STEADY)
    chart = spc.individuals_chart("x", _readings(STEADY + [centre + 0.1] * 12), len(STEADY))
    assert [rule for rule, _ in _rules(chart)] == ["8_on_one_side"]


def test_p_chart_limits_follow_the_subgroup_size_and_stop_at_zero() -> None:
    groups = [("d1", 2, 100), ("d2", 3, 100), ("d3", 1, 25), ("d4", 2, 100), ("d5", 12, 100)]
    chart = spc.p_chart("machine m defect rate", groups, baseline=4)
    p_bar = 8 / 325
    assert math.isclose(chart.points[0].center, p_bar)
    assert math.isclose(chart.limits(0)[1], p_bar + 3 * math.sqrt(p_bar * (1 - p_bar) / 100))
    assert chart.limits(2)[1] > chart.limits(0)[1]  # fewer units, wider limits
    assert chart.limits(2)[0] == 0.0
    assert _rules(chart) == [("beyond_3_sigma", 4)]
    assert "d5 at 0.12 is above the 3σ limit" in chart.signals()[0].explanation


def test_xbar_r_uses_the_table_constants() -> None:
    readings = _readings([10, 11, 9, 10, 12, 8, 10, 10, 11, 9, 10, 10])
    chart = spc.xbar_r_chart("x", readings, 3)
    assert len(chart.points) == 4 and math.isclose(chart.extra["r_bar"], (2 + 4 + 1 + 1) / 4)
    assert math.isclose(chart.limits(0)[1] - chart.points[0].center, 1.023 * chart.extra["r_bar"])
    with pytest.raises(ValueError, match="2 to 10"):
        spc.xbar_r_chart("x", readings, 11)
