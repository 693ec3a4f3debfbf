"""Server-side SVG line charts (no JavaScript, nothing inline but SVG attributes, so the
strict CSP holds); each chart also has its numbers as a table for reading without a picture."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

WIDTH, HEIGHT, PAD = 600, 160, 4
PALETTE = 6  # series cycle through CSS classes chart-s0 .. chart-s5


@dataclass(frozen=True)
class Line:
    name: str
    css: str
    points: str  # the polyline's "x,y x,y ..."
    last: float | None


@dataclass(frozen=True)
class Chart:
    title: str
    lines: tuple[Line, ...]
    y_max: float
    start: datetime
    end: datetime
    rows: tuple[tuple[datetime, tuple[float | None, ...]], ...]  # the table fallback
    width: int = WIDTH
    height: int = HEIGHT

    @property
    def empty(self) -> bool:
        return not any(line.points for line in self.lines)


def _nice(value: float) -> float:
    if value <= 0:
        return 1.0
    for step in (1, 2, 5, 10, 20, 25, 50, 100, 200, 500, 1000, 2000, 5000, 10000):
        if value <= step:
            return float(step)
    return float(int(value * 1.2) + 1)


def line_chart(
    title: str,
    data: Mapping[str, Sequence[tuple[datetime, float]]],
    start: datetime,
    end: datetime,
    *,
    max_rows: int = 60,
) -> Chart:
    """Plot each named series over [start, end]; y from 0 to a round maximum."""
    span = max((end - start).total_seconds(), 1.0)
    top = _nice(max((v for pts in data.values() for _, v in pts), default=0.0))
    lines = []
    for i, (name, pts) in enumerate(sorted(data.items())):
        coords = []
        for at, value in pts:
            x = PAD + (WIDTH - 2 * PAD) * ((at - start).total_seconds() / span)
            y = HEIGHT - PAD - (HEIGHT - 2 * PAD) * (min(max(value, 0.0), top) / top)
            coords.append(f"{x:.1f},{y:.1f}")
        lines.append(
            Line(name, f"chart-s{i % PALETTE}", " ".join(coords), pts[-1][1] if pts else None)
        )
    # The table: one row per time any series has a point, the newest last, at most max_rows.
    times = sorted({at for pts in data.values() for at, _ in pts})[-max_rows:]
    lookup = {name: dict(pts) for name, pts in sorted(data.items())}
    rows = tuple((at, tuple(lookup[n].get(at) for n in lookup)) for at in times)
    return Chart(title, tuple(lines), top, start, end, rows)
