"""Charts as inline SVG, made on the server: readable without colour and without JavaScript.

Every chart is an ``<svg role="img">`` labelled by its own ``<title>`` and ``<desc>`` (the
description says in words what the chart shows), with a viewBox so it scales to the page's
width, presentation attributes only (the page CSP forbids style attributes) and every text
escaped (``Markup.format`` runs markupsafe.escape on every argument that is not Markup
itself). Values are written as text next to what they measure, and the series of a stacked
bar differ by pattern as well as by fill, so nothing depends on telling colours apart.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Sequence

from markupsafe import Markup

WIDTH = 640
FONT = 12
SMALL = 11
INK = "#1b1f24"
MUTED = "#57606a"
GRID = "#d0d7de"
# Fills of the series, in order; each also gets its own pattern (PATTERNS) drawn over it.
PALETTE = ("#6e7781", "#0a58ca", "#8250df", "#1a7f37", "#b42318", "#9a6700")
BAR_FILL = "#0a58ca"
LINE_STROKE = "#0a58ca"
LABEL_CHARS = 28
CHAR_WIDTH = 7.0  # an average character at 12px, to lay out the legend
_ids = itertools.count(1)
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")


def _chart_id() -> str:
    """A fresh id for a chart's title, description and patterns (unique within a page)."""
    return "chart-" + str(next(_ids))


def _clean(text: object) -> str:
    """Text without the control characters XML cannot hold."""
    return _CONTROL.sub("", str(text))


def _short(text: str, limit: int = LABEL_CHARS) -> str:
    """A label cut to fit its column (the full text stays in the element's <title>)."""
    return text if len(text) <= limit else text[: limit - 1] + "\u2026"


def _coordinate(number: float) -> str:
    """A coordinate with at most one decimal."""
    return f"{number:.1f}".removesuffix(".0")


def format_value(value: float, unit: str = "") -> str:
    """A value as the chart writes it: whole numbers as such, others with one decimal."""
    whole = math.isclose(value, round(value), abs_tol=1e-9)
    text = str(round(value)) if whole else f"{value:.1f}"
    if not unit:
        return text
    return text + unit if unit == "%" else text + " " + unit


def _open(chart: str, title: str, description: str, height: float) -> Markup:
    """The svg element with its accessible name and description."""
    return Markup(
        '<svg xmlns="http://www.w3.org/2000/svg" class="chart" role="img" '
        'viewBox="0 0 {width} {height}" width="{width}" height="{height}" '
        'aria-labelledby="{chart}-title {chart}-desc" font-size="{font}" '
        'font-family="system-ui, sans-serif">'
        '<title id="{chart}-title">{title}</title><desc id="{chart}-desc">{desc}</desc>'
    ).format(
        width=WIDTH,
        height=_coordinate(height),
        chart=chart,
        font=FONT,
        title=_clean(title),
        desc=_clean(description),
    )


def _close() -> Markup:
    return Markup("</svg>")


def no_data(title: str, description: str = "") -> Markup:
    """A small chart that says there is nothing to draw."""
    chart = _chart_id()
    words = (description + " " if description else "") + "No data."
    return Markup("").join(
        [
            _open(chart, title, words, 40),
            Markup(
                '<text x="8" y="25" fill="{muted}">No data</text>',
            ).format(muted=MUTED),
            _close(),
        ]
    )


def _summary(pairs: Sequence[tuple[str, float]], unit: str, limit: int = 5) -> str:
    """In words: the largest values first, and how many there are."""
    ranked = sorted(pairs, key=lambda pair: pair[1], reverse=True)[:limit]
    listed = "; ".join(label + ": " + format_value(value, unit) for label, value in ranked)
    lead = "Highest values" if len(pairs) > len(ranked) else "Values"
    return f"{len(pairs)} bars. {lead}: {listed}."


def bar_chart(
    title: str,
    bars: Sequence[tuple[str, float]],
    *,
    unit: str = "",
    description: str = "",
) -> Markup:
    """Horizontal bars, each with its label before it and its value written at its end."""
    if not bars:
        return no_data(title, description)
    chart = _chart_id()
    label_width, value_width, row, top = 200.0, 80.0, 24.0, 8.0
    span = WIDTH - label_width - value_width - 8
    largest = max((max(value, 0.0) for _, value in bars), default=0.0) or 1.0
    words = description or _summary([(_clean(label), value) for label, value in bars], unit)
    parts = [_open(chart, title, words, top * 2 + row * len(bars))]
    for index, (label, value) in enumerate(bars):
        y = top + index * row
        length = span * max(value, 0.0) / largest
        text = format_value(value, unit)
        parts.append(
            Markup(
                "<g><title>{label}: {text}</title>"
                '<text x="{label_end}" y="{text_y}" text-anchor="end" fill="{ink}">{short}</text>'
                '<rect x="{bar_x}" y="{bar_y}" width="{length}" height="{bar_h}" fill="{fill}"/>'
                '<text x="{value_x}" y="{text_y}" fill="{ink}">{text}</text></g>'
            ).format(
                label=_clean(label),
                short=_short(_clean(label)),
                text=text,
                label_end=_coordinate(label_width - 6),
                text_y=_coordinate(y + 16),
                bar_x=_coordinate(label_width),
                bar_y=_coordinate(y + 4),
                length=_coordinate(length),
                bar_h=_coordinate(row - 8),
                fill=BAR_FILL,
                value_x=_coordinate(label_width + length + 6),
                ink=INK,
            )
        )
    parts.append(_close())
    return Markup("").join(parts)


def _pattern(chart: str, index: int) -> Markup:
    """The fill of series ``index``: its colour with its own pattern drawn over it."""
    colour = PALETTE[index % len(PALETTE)]
    shape = index % 5
    marks = (
        Markup(""),  # solid
        Markup('<path d="M0 8 L8 0" stroke="#ffffff" stroke-width="2"/>'),  # diagonal
        Markup('<circle cx="4" cy="4" r="1.6" fill="#ffffff"/>'),  # dots
        Markup('<path d="M0 4 H8 M4 0 V8" stroke="#ffffff" stroke-width="1.5"/>'),  # grid
        Markup('<path d="M0 0 L8 8" stroke="#ffffff" stroke-width="2"/>'),  # other diagonal
    )[shape]
    return Markup(
        '<pattern id="{chart}-s{index}" width="8" height="8" patternUnits="userSpaceOnUse">'
        '<rect width="8" height="8" fill="{colour}"/>{marks}</pattern>'
    ).format(chart=chart, index=index, colour=colour, marks=marks)


def stacked_bars(
    title: str,
    rows: Sequence[tuple[str, Sequence[tuple[str, float]]]],
    *,
    series: Sequence[str],
    description: str = "",
) -> Markup:
    """One bar per row split into a segment per series, a legend, and each row in words.

    Above each bar its label, below it its figures ("Done 3 · Open 2"), so the segments can
    be read without telling their fills apart; the fills differ by pattern too. Segments
    follow the order of ``series`` (the legend's).
    """
    totals = [sum(max(value, 0.0) for _, value in segments) for _, segments in rows]
    if not rows or not any(totals):
        return no_data(title, description)
    chart = _chart_id()
    largest = max(totals)
    if not description:
        ranked = sorted(zip(rows, totals, strict=True), key=lambda pair: pair[1], reverse=True)
        listed = "; ".join(
            _clean(label) + ": " + _in_words(segments, series)
            for (label, segments), _ in ranked[:5]
        )
        description = f"{len(rows)} bars by {', '.join(series)}. {listed}."
    legend, legend_height = _legend(chart, series)
    row, top = 54.0, 4.0 + legend_height
    parts = [_open(chart, title, description, top + row * len(rows)), Markup("<defs>")]
    parts.extend(_pattern(chart, index) for index in range(len(series)))
    parts.append(Markup("</defs>"))
    parts.extend(legend)
    for position, ((label, segments), _) in enumerate(zip(rows, totals, strict=True)):
        y = top + position * row
        words = _in_words(segments, series)
        parts.append(
            Markup(
                "<g><title>{label}: {words}</title>"
                '<text x="0" y="{label_y}" fill="{ink}">{short}</text>'
                '<text x="0" y="{words_y}" font-size="{small}" fill="{ink}">{words}</text>'
            ).format(
                label=_clean(label),
                short=_short(_clean(label), 60),
                words=words,
                label_y=_coordinate(y + 12),
                words_y=_coordinate(y + 45),
                small=SMALL,
                ink=INK,
            )
        )
        values = dict(segments)
        start = 0.0
        for index, name in enumerate(series):  # in the legend's order
            value = values.get(name, 0.0)
            if value <= 0:
                continue
            length = (WIDTH - 2) * value / largest
            parts.append(
                Markup(
                    '<rect x="{x}" y="{y}" width="{length}" height="14" '
                    'fill="url(#{chart}-s{index})" stroke="#ffffff" stroke-width="0.5">'
                    "<title>{label}, {name}: {value}</title></rect>"
                ).format(
                    x=_coordinate(start),
                    y=_coordinate(y + 17),
                    length=_coordinate(length),
                    chart=chart,
                    index=index,
                    label=_clean(label),
                    name=_clean(name),
                    value=format_value(value),
                )
            )
            start += length
        parts.append(Markup("</g>"))
    parts.append(_close())
    return Markup("").join(parts)


def _legend(chart: str, series: Sequence[str]) -> tuple[list[Markup], float]:
    """The legend's swatches and names, wrapped to the chart's width, and its height."""
    parts: list[Markup] = []
    x, y, line = 0.0, 0.0, 20.0
    for index, name in enumerate(series):
        text = _clean(name)
        width = 18 + CHAR_WIDTH * len(text) + 16
        if x > 0 and x + width > WIDTH:
            x, y = 0.0, y + line
        parts.append(
            Markup(
                '<rect x="{x}" y="{y}" width="14" height="14" fill="url(#{chart}-s{index})" '
                'stroke="{ink}" stroke-width="0.5"/>'
                '<text x="{text_x}" y="{text_y}" fill="{ink}">{name}</text>'
            ).format(
                x=_coordinate(x),
                y=_coordinate(y + 4),
                chart=chart,
                index=index,
                ink=INK,
                text_x=_coordinate(x + 18),
                text_y=_coordinate(y + 16),
                name=text,
            )
        )
        x += width
    return parts, y + line + 8


def _in_words(segments: Sequence[tuple[str, float]], series: Sequence[str]) -> str:
    """A row's figures in the legend's order, e.g. "Done 3 · Open 2" (zeros left out)."""
    values = dict(segments)
    shown = [_clean(name) + " " + format_value(values[name]) for name in series if values.get(name)]
    return " \u00b7 ".join(shown) or "none"


def _ceiling(value: float) -> float:
    """A round top for the y axis at or above ``value`` (1, 2, 2.5 or 5 times a power of 10)."""
    if value <= 0:
        return 1.0
    power = 10.0 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power:
            return step * power
    return 10 * power  # pragma: no cover - the loop always returns


def line_chart(
    title: str,
    points: Sequence[tuple[str, float | None]],
    *,
    unit: str = "",
    description: str = "",
    y_max: float | None = None,
) -> Markup:
    """A line over labelled x positions; None is a gap, every point marked with its value."""
    known = [(label, value) for label, value in points if value is not None]
    if not known:
        return no_data(title, description)
    chart = _chart_id()
    left, right, top, bottom, height = 44.0, 24.0, 20.0, 36.0, 240.0
    plot_w, plot_h = WIDTH - left - right, height - top - bottom
    ceiling = y_max if y_max is not None and y_max > 0 else _ceiling(max(v for _, v in known))
    step = plot_w / max(len(points) - 1, 1)

    def position(index: int, value: float) -> tuple[float, float]:
        x = left + (index * step if len(points) > 1 else plot_w / 2)
        ratio = min(max(value / ceiling, 0.0), 1.0)
        return x, top + plot_h * (1 - ratio)

    if not description:
        gaps = len(points) - len(known)
        high = max(known, key=lambda pair: pair[1])
        low = min(known, key=lambda pair: pair[1])
        description = (
            f"{len(points)} points from {_clean(points[0][0])} to {_clean(points[-1][0])}. "
            f"Highest {format_value(high[1], unit)} ({_clean(high[0])}), "
            f"lowest {format_value(low[1], unit)} ({_clean(low[0])})."
            + (f" {gaps} without a value." if gaps else "")
        )
    parts = [_open(chart, title, description, height)]
    for fraction in (0.0, 0.5, 1.0):  # the y axis: 0, half and the top
        y = top + plot_h * (1 - fraction)
        parts.append(
            Markup(
                '<line x1="{left}" y1="{y}" x2="{end}" y2="{y}" stroke="{grid}"/>'
                '<text x="{label_x}" y="{text_y}" text-anchor="end" font-size="{small}" '
                'fill="{muted}">{value}</text>'
            ).format(
                left=_coordinate(left),
                end=_coordinate(WIDTH - right),
                y=_coordinate(y),
                grid=GRID,
                label_x=_coordinate(left - 6),
                text_y=_coordinate(y + 4),
                small=SMALL,
                muted=MUTED,
                value=format_value(ceiling * fraction, unit),
            )
        )
    runs: list[list[tuple[float, float]]] = [[]]
    for index, (_, value) in enumerate(points):
        if value is None:
            if runs[-1]:
                runs.append([])
            continue
        runs[-1].append(position(index, value))
    for run in runs:
        if len(run) > 1:
            path = " ".join(
                ("M" if index == 0 else "L") + _coordinate(x) + " " + _coordinate(y)
                for index, (x, y) in enumerate(run)
            )
            parts.append(
                Markup('<path d="{path}" fill="none" stroke="{stroke}" stroke-width="2"/>').format(
                    path=path, stroke=LINE_STROKE
                )
            )
    for index, (label, value) in enumerate(points):
        x, _ = position(index, 0.0)
        parts.append(
            Markup(
                '<text x="{x}" y="{y}" text-anchor="middle" font-size="{small}" '
                'fill="{ink}">{label}</text>'
            ).format(
                x=_coordinate(x),
                y=_coordinate(height - bottom + 16),
                small=SMALL,
                ink=INK,
                label=_short(_clean(label), 10),
            )
        )
        if value is None:
            parts.append(
                Markup(
                    '<text x="{x}" y="{y}" text-anchor="middle" font-size="{small}" '
                    'fill="{muted}">\u2013<title>{label}: no value</title></text>'
                ).format(
                    x=_coordinate(x),
                    y=_coordinate(top + plot_h - 4),
                    small=SMALL,
                    muted=MUTED,
                    label=_clean(label),
                )
            )
            continue
        x, y = position(index, value)
        text = format_value(value, unit)
        parts.append(
            Markup(
                "<g><title>{label}: {text}</title>"
                '<circle cx="{x}" cy="{y}" r="4" fill="#ffffff" stroke="{stroke}" '
                'stroke-width="2"/>'
                '<text x="{x}" y="{text_y}" text-anchor="middle" font-size="{small}" '
                'fill="{ink}">{text}</text></g>'
            ).format(
                label=_clean(label),
                text=text,
                x=_coordinate(x),
                y=_coordinate(y),
                stroke=LINE_STROKE,
                text_y=_coordinate(y - 8 if y - 8 > 10 else y + 16),
                small=SMALL,
                ink=INK,
            )
        )
    parts.append(_close())
    return Markup("").join(parts)
