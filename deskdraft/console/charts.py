"""Small server-drawn SVG charts: no script, no CDN, and the same numbers are printed beside them as text."""
from __future__ import annotations

from markupsafe import Markup, escape


def trend_svg(points: list[tuple[int, int]], threshold: float, markers: list[tuple[float, bool, str]],
              width: int = 420, height: int = 120) -> Markup:
    """Override rate per bucket (a line, gaps where nothing was reviewed), the threshold (dashed) and gate
    changes (green up: promoted, red down: demoted) at their fraction of the window."""
    pad, n = 24, max(1, len(points))
    top = max([threshold * 2, 0.1] + [o / r for r, o in points if r])
    x = lambda i: pad + (width - 2 * pad) * (i + 0.5) / n  # noqa: E731
    y = lambda v: height - pad - (height - 2 * pad) * min(v, top) / top  # noqa: E731
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="override rate trend">',
             f'<line x1="{pad}" x2="{width - pad}" y1="{y(0):.1f}" y2="{y(0):.1f}" class="axis"/>',
             f'<line x1="{pad}" x2="{width - pad}" y1="{y(threshold):.1f}" y2="{y(threshold):.1f}" class="threshold">'
             f'<title>threshold {threshold:.1%}</title></line>',
             f'<text x="{width - pad}" y="{y(threshold) - 3:.1f}" class="label" text-anchor="end">'
             f'threshold {threshold:.0%}</text>',
             f'<text x="2" y="{pad - 6}" class="label">{top:.0%}</text>']
    segment: list[str] = []
    for i, (reviewed, overridden) in enumerate(points):
        if not reviewed:
            if len(segment) > 1:
                parts.append(f'<polyline points="{" ".join(segment)}" class="rate"/>')
            segment = []
            continue
        rate = overridden / reviewed
        segment.append(f"{x(i):.1f},{y(rate):.1f}")
        parts.append(f'<circle cx="{x(i):.1f}" cy="{y(rate):.1f}" r="2.5" class="dot"><title>{overridden} of '
                     f'{reviewed} overridden ({rate:.1%})</title></circle>')
    if len(segment) > 1:
        parts.append(f'<polyline points="{" ".join(segment)}" class="rate"/>')
    for fraction, opened, when in markers:
        mx = pad + (width - 2 * pad) * min(max(fraction, 0.0), 1.0)
        parts.append(f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{pad}" y2="{height - pad}" '
                     f'class="{"promoted" if opened else "demoted"}"><title>{"promoted" if opened else "demoted"} '
                     f'{escape(when)}</title></line>')
    parts.append("</svg>")
    return Markup("".join(parts))


def histogram_svg(counts: list[int], width: int = 200, height: int = 60) -> Markup:
    """Confidence distribution in tenths; the counts are in the bars' titles and printed below the chart."""
    top, n = max([*counts, 1]), len(counts)
    bar = width / n
    parts = [f'<svg class="chart" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" '
             f'aria-label="confidence distribution">']
    for i, count in enumerate(counts):
        h = (height - 12) * count / top
        parts.append(f'<rect x="{i * bar + 1:.1f}" y="{height - 12 - h:.1f}" width="{bar - 2:.1f}" height="{h:.1f}" '
                     f'class="bar"><title>{i / 10:.1f}-{(i + 1) / 10:.1f}: {count}</title></rect>')
    parts.append(f'<text x="0" y="{height - 1}" class="label">0</text>'
                 f'<text x="{width}" y="{height - 1}" class="label" text-anchor="end">1</text></svg>')
    return Markup("".join(parts))
