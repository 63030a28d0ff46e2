"""A site's plan as a Gantt chart in SVG, made on the server: no script, readable by a screen reader.

Pure: bars in, markup out. One row per machine, one bar per operation coloured by its status, each
with a `<title>` (hover text and the accessible name) saying what, when and how it stands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from html import escape

from markupsafe import Markup

ROW = 28
LABEL = 130
WIDTH = 900
AXIS = 24
COLOURS = {
    "planned": "#9aa5b1",
    "released": "#3b73b9",
    "running": "#e0a100",
    "done": "#2e8540",
    "failed": "#c0392b",
    "held": "#8e44ad",
}


@dataclass(frozen=True)
class Bar:
    machine: str
    start: datetime
    end: datetime
    label: str
    status: str


def gantt_svg(bars: list[Bar], title: str) -> Markup:
    """The chart; an empty plan gives a short sentence instead of an empty frame."""
    if not bars:
        return Markup(
            "<p>No stored plan: release one with <code>microfactory schedule site ID --release</code>.</p>"
        )
    machines = sorted({bar.machine for bar in bars})
    first = min(bar.start for bar in bars)
    last = max(bar.end for bar in bars)
    span = max((last - first).total_seconds(), 60.0)
    scale = (WIDTH - LABEL - 10) / span
    height = AXIS + ROW * len(machines) + 4
    parts = [
        f'<svg class="gantt" role="img" aria-labelledby="gantt-title" viewBox="0 0 {WIDTH} {height}" '
        f'width="100%" xmlns="http://www.w3.org/2000/svg">',
        f'<title id="gantt-title">{escape(title)}</title>',
        *_axis(first, last, scale, height),
    ]
    for row, machine in enumerate(machines):
        y = AXIS + row * ROW
        parts.append(f'<text x="4" y="{y + 18}" class="gantt-machine">{escape(machine)}</text>')
        for bar in (bar for bar in bars if bar.machine == machine):
            x = LABEL + (bar.start - first).total_seconds() * scale
            width = max((bar.end - bar.start).total_seconds() * scale, 2.0)
            tip = f"{bar.label} on {machine}, {bar.start:%a %H:%M}–{bar.end:%H:%M} UTC, {bar.status}"
            colour = COLOURS.get(bar.status, "#555")
            parts.append(
                f'<rect x="{x:.1f}" y="{y + 4}" width="{width:.1f}" height="{ROW - 8}" rx="3" '
                f'fill="{colour}" data-status="{escape(bar.status)}"><title>{escape(tip)}</title></rect>'
            )
    parts.append("</svg>")
    return Markup("".join(parts))


def _axis(first: datetime, last: datetime, scale: float, height: int) -> list[str]:
    """A tick every few hours, labelled with the day and hour (UTC)."""
    hours = max(int((last - first).total_seconds() // 3600), 1)
    step = next(s for s in (1, 2, 3, 6, 12, 24, 48, 168, 10_000) if hours / s <= 10)
    tick = first.replace(minute=0, second=0, microsecond=0)
    marks = []
    while tick <= last:
        if tick >= first:
            x = LABEL + (tick - first).total_seconds() * scale
            marks.append(
                f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height}" class="gantt-tick"/>'
            )
            marks.append(f'<text x="{x + 2:.1f}" y="14" class="gantt-time">{tick:%a %H:%M}</text>')
        tick += timedelta(hours=step)
    return marks
