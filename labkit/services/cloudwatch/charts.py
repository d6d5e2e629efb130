"""A metric series drawn as the CloudWatch console draws it: a line over
time, one point per period, with the alarm threshold as a horizontal line.

No plotting library is needed: :class:`Chart` renders itself as SVG in a
notebook (``_repr_svg_``) and as a plain table in text (``str()``), so it
reads the same in JupyterLab, in the book and in a terminal.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from html import escape
from typing import Any


@dataclass
class Chart:
    """One or more series: ``{label: [(datetime, value), ...]}``."""

    title: str
    series: dict[str, list[tuple[datetime, float]]]
    threshold: float | None = None
    unit: str = ""
    width: int = 640
    height: int = 220
    colours: tuple[str, ...] = field(default=("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd"))

    def rows(self) -> list[tuple[str, ...]]:
        stamps = sorted({t for points in self.series.values() for t, _ in points})
        table = [("time (UTC)", *self.series)]
        for stamp in stamps:
            row = [stamp.astimezone(timezone.utc).strftime("%H:%M")]
            for points in self.series.values():
                value = dict(points).get(stamp)
                row.append("" if value is None else f"{value:g}")
            table.append(tuple(row))
        return table

    def __str__(self) -> str:
        table = self.rows()
        widths = [max(len(r[i]) for r in table) for i in range(len(table[0]))]
        lines = [self.title + (f"  (threshold {self.threshold:g})" if self.threshold is not None else "")]
        for n, row in enumerate(table):
            lines.append("  ".join(cell.rjust(w) for cell, w in zip(row, widths, strict=True)))
            if n == 0:
                lines.append("  ".join("-" * w for w in widths))
        return "\n".join(lines)

    def _repr_svg_(self) -> str:
        left, right, top, bottom = 56, 16, 28, 36
        w, h = self.width, self.height
        points = [p for s in self.series.values() for p in s]
        values = [v for _, v in points] + ([self.threshold] if self.threshold is not None else [])
        times = [t.timestamp() for t, _ in points]
        lo, hi = (min(values), max(values)) if values else (0.0, 1.0)
        lo = min(lo, 0.0)
        hi = hi if hi > lo else lo + 1.0
        t0, t1 = (min(times), max(times)) if times else (0.0, 1.0)
        t1 = t1 if t1 > t0 else t0 + 60.0

        def x(t: float) -> float:
            return left + (t - t0) / (t1 - t0) * (w - left - right)

        def y(v: float) -> float:
            return top + (hi - v) / (hi - lo) * (h - top - bottom)

        out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" viewBox="0 0 {w} {h}" '
               f'font-family="sans-serif" font-size="11" role="img"><title>{escape(self.title)}</title>',
               f'<rect width="{w}" height="{h}" fill="white"/>',
               f'<text x="{left}" y="16" font-size="13">{escape(self.title)}</text>']
        for k in range(5):
            v = lo + (hi - lo) * k / 4
            out.append(f'<line x1="{left}" x2="{w - right}" y1="{y(v):.1f}" y2="{y(v):.1f}" stroke="#e5e5e5"/>')
            out.append(f'<text x="{left - 6}" y="{y(v) + 4:.1f}" text-anchor="end">{v:g}</text>')
        for t in (t0, (t0 + t1) / 2, t1):
            label = datetime.fromtimestamp(t, timezone.utc).strftime("%H:%M")
            out.append(f'<text x="{x(t):.1f}" y="{h - bottom + 16}" text-anchor="middle">{label}</text>')
        if self.threshold is not None:
            ty = y(self.threshold)
            out.append(f'<line x1="{left}" x2="{w - right}" y1="{ty:.1f}" y2="{ty:.1f}" stroke="#d62728" '
                       f'stroke-dasharray="5,4"/><text x="{w - right}" y="{ty - 4:.1f}" text-anchor="end" '
                       f'fill="#d62728">threshold {self.threshold:g}</text>')
        for n, (label, series) in enumerate(self.series.items()):
            colour = self.colours[n % len(self.colours)]
            coords = " ".join(f"{x(t.timestamp()):.1f},{y(v):.1f}" for t, v in sorted(series))
            if coords:
                out.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2" points="{coords}"/>')
                for t, v in series:
                    out.append(f'<circle cx="{x(t.timestamp()):.1f}" cy="{y(v):.1f}" r="2.5" fill="{colour}"/>')
            out.append(f'<text x="{left + 8 + 160 * n}" y="{h - 6}" fill="{colour}">{escape(label)}</text>')
        out.append("</svg>")
        return "".join(out)


def chart(result: dict[str, Any], *, title: str = "", threshold: float | None = None) -> Chart:
    """A :class:`Chart` from a ``get_metric_data`` answer (every result in it)
    or a ``get_metric_statistics`` answer (each statistic a series)."""
    series: dict[str, list[tuple[datetime, float]]] = {}
    if "MetricDataResults" in result:
        for item in result["MetricDataResults"]:
            series[item.get("Label") or item["Id"]] = sorted(zip(item["Timestamps"], item["Values"], strict=True))
        name = title or ", ".join(series)
    else:
        stats = [k for k in ("SampleCount", "Average", "Sum", "Minimum", "Maximum")
                 if any(k in p for p in result.get("Datapoints", []))]
        for stat in stats:
            series[stat] = sorted((p["Timestamp"], p[stat]) for p in result["Datapoints"] if stat in p)
        name = title or result.get("Label", "")
    return Chart(name, series, threshold)
