"""Control charts as PNG: the points, the centre line, the 3σ limits (stepped where n varies) and
the points of every signal in red. Drawn on a bare matplotlib `Figure` (no pyplot global state),
as the plan's Gantt chart is, so the API can draw in its threads."""

from __future__ import annotations

import io

from microfactory.quality.spc import Chart


def chart_png(chart: Chart) -> bytes:
    from matplotlib.figure import Figure

    figure = Figure(figsize=(10, 4))
    axes = figure.add_subplot()
    xs = list(range(len(chart.points)))
    values = [point.value for point in chart.points]
    lows = [chart.limits(i)[0] for i in xs]
    highs = [chart.limits(i)[1] for i in xs]
    axes.plot(xs, values, marker="o", color="#1f5f8b", linewidth=1, label=chart.kind)
    axes.step(xs, highs, where="mid", color="#b03a2e", linestyle="--", label="UCL")
    axes.step(xs, lows, where="mid", color="#b03a2e", linestyle="--", label="LCL")
    axes.plot(xs, [point.center for point in chart.points], color="#555555", linewidth=1, label="centre")
    flagged = sorted({i for signal in chart.signals() for i in signal.points})
    axes.scatter(flagged, [values[i] for i in flagged], color="#d62728", zorder=3, s=40, label="signal")
    step = max(1, len(xs) // 12)
    axes.set_xticks(xs[::step], [chart.points[i].label[:16] for i in xs[::step]], rotation=30, fontsize=7)
    axes.set_title(chart.subject)
    axes.legend(fontsize=7, loc="upper left")
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=100)
    return buffer.getvalue()
