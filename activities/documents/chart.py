"""The deadline chart: one picture per incident, time across, one bar per deadline from its
start to its due time, the moment it was met (or "now" while open) marked, the late part in
red, stage and level changes as marks above.

Time runs on a logarithmic scale from the moment of discovery, x = ln(1 + Δ/1 h): a 1-hour
readiness deadline and a 60-day investigation share one picture and both stay readable.

One layout (shapes in px), three renderings: SVG (the server's picture), PNG (Pillow) and
vector drawing into a PDF page (fpdf2). Labels live in a column of their own and in lanes
above the bars, so no label can sit on a bar.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from xml.sax.saxutils import escape, quoteattr

import unicodedata

from activities.documents.fonts import FontSettings, typeset
from activities.documents.models import DeadlineChart
from plan.calendar import SHANGHAI

WIDTH = 1000
LABEL_X = 16
PLOT_LEFT = 260
PLOT_RIGHT = WIDTH - 40
TAU_HOURS = 1.0  # the log scale's unit: the first hour takes as much room as 1 h → 3 h
LANES = 3  # label lanes above the bars; marks beyond them are drawn unlabelled
LANE_H = 16
MERGE_PX = 3  # marks nearer than this share a label
ROW_H = 44
BAR_H = 16
TICK_HOURS = [0, 1, 2, 4, 8, 12, 24, 48, 72, 168, 336, 720, 1440, 2160, 4320, 8760]

INK = "#222222"
MUTED = "#666666"
GRID = "#e3e3e3"
WINDOW_FILL, WINDOW_LINE = "#eef2f8", "#8296b3"
COLOURS = {"met": "#3f8f51", "met_late": "#3f8f51", "pending": "#5b8fd0", "overdue": "#5b8fd0"}
LATE = "#c8423b"
STAGE_MARK, LEVEL_MARK = "#1f5fa8", "#d9822b"
SANS_STACK = "'Source Han Sans SC','Microsoft YaHei','PingFang SC',sans-serif"


@dataclass
class Rect:
    x: float
    y: float
    w: float
    h: float
    fill: str
    stroke: str | None = None
    cls: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Line:
    x1: float
    y1: float
    x2: float
    y2: float
    stroke: str
    width: float = 1.0
    dash: tuple[float, float] | None = None
    cls: str = ""


@dataclass
class Text:
    x: float
    y: float  # baseline
    text: str
    size: float
    fill: str = INK
    anchor: str = "start"  # start | middle | end
    cls: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Poly:
    points: list[tuple[float, float]]
    fill: str
    cls: str = ""
    data: dict = field(default_factory=dict)


@dataclass
class Layout:
    width: float
    height: float
    items: list
    unlabelled_marks: int = 0


# ---------------------------------------------------------------- words


def _hm(td: timedelta) -> str:
    """A duration in words: 2天3小时, 1小时20分, 15分."""
    minutes = max(int(td.total_seconds() // 60), 0)
    days, rest = divmod(minutes, 24 * 60)
    hours, mins = divmod(rest, 60)
    if days:
        return f"{days}天{hours}小时" if hours else f"{days}天"
    if hours:
        return f"{hours}小时{mins}分" if mins else f"{hours}小时"
    return f"{mins}分"


def _short_time(t: datetime) -> str:
    return t.astimezone(SHANGHAI).strftime("%m-%d %H:%M")


def state_words(state: str, due: datetime, met_at: datetime | None, as_of: datetime) -> str:
    if state == "met":
        return f"按时完成 {_short_time(met_at)}" if met_at else "按时完成"
    if state == "met_late":
        return f"逾期完成 晚{_hm(met_at - due)}" if met_at else "逾期完成"
    if state == "overdue" or as_of > due:
        return f"已逾期 {_hm(as_of - due)}，未完成"
    return f"进行中 剩余{_hm(due - as_of)}"


def _tick_label(hours: int) -> str:
    if hours == 0:
        return "发现"
    if hours < 24:
        return f"+{hours}小时"
    if hours % 168 == 0 and hours < 720:
        return f"+{hours // 168}周"
    return f"+{hours // 24}天"


def short_title(title: str) -> str:
    """The deadline's name without its parenthesised explanation."""
    return title.split("（")[0].split("(")[0].strip() or title


# ---------------------------------------------------------------- layout


def width_of(text: str, size: float) -> float:
    """A text's width, a little generous: CJK characters a full em, everything else 0.62 em
    (wider than Noto Sans' digits and Latin), so labels placed apart stay apart in any CJK font."""
    return sum(size if unicodedata.east_asian_width(c) in "WF" else 0.62 * size for c in text)


def _fit(text: str, size: float, room: float) -> str:
    if width_of(text, size) <= room:
        return text
    while text and width_of(text + "…", size) > room:
        text = text[:-1]
    return text + "…"


class _Axis:
    """The time axis: from the incident's discovery to the latest time shown, log scale."""

    def __init__(self, chart: DeadlineChart):
        self.origin = chart.origin
        ends = [chart.origin + timedelta(hours=1)]
        for d in chart.deadlines:
            ends += [d.start, d.due]
            ends.append(d.met_at if d.met_at else chart.as_of)
        ends += [m.at for m in chart.marks]
        self.end = max(ends)
        self.scale = math.log1p((self.end - self.origin).total_seconds() / 3600 / TAU_HOURS)

    def x(self, t: datetime) -> float:
        hours = max((t - self.origin).total_seconds() / 3600, 0.0)
        return PLOT_LEFT + (PLOT_RIGHT - PLOT_LEFT) * math.log1p(hours / TAU_HOURS) / self.scale


def layout(chart: DeadlineChart) -> Layout:
    ax = _Axis(chart)
    origin = ax.origin
    items: list = []
    items.append(Text(LABEL_X, 28, chart.title, 17, cls="title"))
    items.append(Text(LABEL_X, 48, f"时间轴：自事件发现（{origin.astimezone(SHANGHAI):%Y-%m-%d %H:%M}）起，对数刻度；"
                                    f"截至 {chart.as_of.astimezone(SHANGHAI):%Y-%m-%d %H:%M}", 11, MUTED, cls="subtitle"))
    # Marks above the bars. Labels go in lanes, the nearest lane first; a label in a higher
    # lane has a leader line down to its mark, which lanes below keep clear of.
    lanes_top = 62
    symbol_y = lanes_top + LANES * LANE_H + 10
    bars_top = symbol_y + 12
    bars_bottom = bars_top + ROW_H * max(len(chart.deadlines), 1)
    unlabelled = _marks(chart, ax, items, symbol_y, bars_bottom)
    _ticks(ax, items, bars_top, bars_bottom)  # grid and ticks
    _rows(chart, ax, items, bars_top)  # one row per deadline: words in the label column, the bar in the plot
    ly = bars_bottom + 56
    _legend(items, ly)  # legend and notes
    height = ly + 16
    if unlabelled:
        items.append(Text(LABEL_X, ly + 22, f"另有{unlabelled}个标记过密未标文字，详见案卷时间线。", 11, MUTED,
                          cls="note"))
        height += 20
    return Layout(WIDTH, height, items, unlabelled)


def _marks(chart: DeadlineChart, ax: _Axis, items: list, symbol_y: float, bars_bottom: float) -> int:
    """The stage and level marks with their labels; returns how many marks went unlabelled."""
    taken: list[list[tuple[float, float]]] = [[] for _ in range(LANES)]

    def free(lane: int, a: float, b: float) -> bool:
        return all(b <= x0 or a >= x1 for x0, x1 in taken[lane])

    # Marks closer than MERGE_PX share one label ("终止签报、现场处置"); labels are placed
    # right to left, so a mark's leader runs left of the labels already placed below it.
    groups: list[list] = []
    for m in sorted(chart.marks, key=lambda m: m.at):
        mx = ax.x(m.at)
        colour = STAGE_MARK if m.kind == "stage" else LEVEL_MARK
        items.append(Line(mx, symbol_y, mx, bars_bottom, colour, 0.6, (2, 3), cls="guide"))
        if m.kind == "stage":
            pts = [(mx - 5, symbol_y - 7), (mx + 5, symbol_y - 7), (mx, symbol_y)]
        else:
            pts = [(mx, symbol_y - 9), (mx + 5, symbol_y - 4), (mx, symbol_y + 1), (mx - 5, symbol_y - 4)]
        items.append(Poly(pts, colour, cls=f"mark mark-{m.kind}", data={"at": m.at.isoformat()}))
        if groups and mx - groups[-1][0] < MERGE_PX:
            groups[-1][1].append(m)
        else:
            groups.append([mx, [m]])
    unlabelled = 0
    for mx, ms in reversed(groups):
        label = "、".join(dict.fromkeys(m.label for m in ms))
        colour = STAGE_MARK if all(m.kind == "stage" for m in ms) else LEVEL_MARK
        kind = ms[0].kind
        # The label starts just right of its mark (or ends just left of it at the right edge);
        # a leader from a higher lane runs down the mark's own x, beside the labels below.
        w = width_of(label, 11)
        right_side = mx + 4 + w <= WIDTH - 4
        left = mx + 4 if right_side else mx - 4 - w
        span = (left - 2, left + w + 2)
        stem = (mx - 1.5, mx + 1.5)
        for lane in range(LANES):
            if free(lane, *span) and all(free(below, *stem) for below in range(lane)):
                taken[lane].append(span)
                for below in range(lane):
                    taken[below].append(stem)
                baseline = symbol_y - 14 - lane * LANE_H
                items.append(Line(mx, baseline - 8, mx, symbol_y - 9, colour, 0.6, cls="leader"))
                anchor, tx = ("start", left) if right_side else ("end", left + w)
                items.append(Text(tx, baseline, label, 11, colour, anchor=anchor, cls=f"mark-label mark-{kind}"))
                break
        else:
            unlabelled += len(ms)
    return unlabelled


def _ticks(ax: _Axis, items: list, bars_top: float, bars_bottom: float) -> None:
    kept: list[float] = []
    end_hours = (ax.end - ax.origin).total_seconds() / 3600
    for hours in TICK_HOURS:
        if hours > end_hours:
            break
        tx = ax.x(ax.origin + timedelta(hours=hours))
        rel, absolute = _tick_label(hours), _short_time(ax.origin + timedelta(hours=hours))
        half = max(width_of(rel, 11), width_of(absolute, 10)) / 2
        if kept and tx - half < kept[-1] + 8:
            continue
        if tx + half > WIDTH - 2:
            continue
        kept.append(tx + half)
        items.append(Line(tx, bars_top, tx, bars_bottom + 4, GRID, 0.8, cls="grid"))
        items.append(Text(tx, bars_bottom + 18, rel, 11, INK, "middle", cls="tick"))
        items.append(Text(tx, bars_bottom + 32, absolute, 10, MUTED, "middle", cls="tick"))
    items.append(Line(PLOT_LEFT, bars_bottom + 4, PLOT_RIGHT, bars_bottom + 4, MUTED, 1.0, cls="axis"))


def _rows(chart: DeadlineChart, ax: _Axis, items: list, bars_top: float) -> None:
    label_room = PLOT_LEFT - LABEL_X - 14
    for i, d in enumerate(chart.deadlines):
        top = bars_top + i * ROW_H
        words = state_words(d.state, d.due, d.met_at, chart.as_of)
        late = d.state in ("met_late", "overdue") or (d.met_at is None and chart.as_of > d.due)
        items.append(Text(LABEL_X, top + 19, _fit(short_title(d.title), 13, label_room), 13, cls="label",
                          data={"deadline": d.name}))
        items.append(Text(LABEL_X, top + 36, _fit(words, 11, label_room), 11, LATE if late else MUTED,
                          cls="state", data={"deadline": d.name}))
        y = top + (ROW_H - BAR_H) / 2
        x0, x1 = ax.x(d.start), ax.x(d.due)
        items.append(Rect(x0, y, max(x1 - x0, 1.5), BAR_H, WINDOW_FILL, WINDOW_LINE, cls="bar",
                          data={"deadline": d.name, "start": d.start.isoformat(), "due": d.due.isoformat(),
                                "state": d.state}))
        done = d.met_at if d.met_at is not None else chart.as_of
        xf = ax.x(min(done, d.due))
        if xf > x0:
            items.append(Rect(x0, y + 3, xf - x0, BAR_H - 6, COLOURS[d.state], cls="fill",
                              data={"deadline": d.name}))
        if done > d.due:
            items.append(Rect(x1, y + 3, ax.x(done) - x1, BAR_H - 6, LATE, cls="late", data={"deadline": d.name}))
        xm, ym = ax.x(done), y + BAR_H / 2
        if d.met_at is not None:
            items.append(Poly([(xm, ym - 7), (xm + 5, ym), (xm, ym + 7), (xm - 5, ym)], INK, cls="met",
                              data={"deadline": d.name, "at": d.met_at.isoformat()}))
        else:
            items.append(Line(xm, y - 4, xm, y + BAR_H + 4, INK, 2.0, cls="open"))


def _legend(items: list, ly: float) -> None:
    lx = float(LABEL_X)
    legend = [("window", "时限（开始→到期）"), ("done", "完成前用时"), ("running", "进行中用时"), ("late", "逾期部分"),
              ("met", "完成时刻"), ("open", "截至当前（未完成）"), ("stage", "阶段变化"), ("level", "级别变化")]
    for key, words in legend:
        if key == "window":
            items.append(Rect(lx, ly - 10, 22, 12, WINDOW_FILL, WINDOW_LINE, cls="legend"))
        elif key in ("done", "running", "late"):
            colour = {"done": COLOURS["met"], "running": COLOURS["pending"], "late": LATE}[key]
            items.append(Rect(lx, ly - 8, 22, 8, colour, cls="legend"))
        elif key == "met":
            items.append(Poly([(lx + 11, ly - 11), (lx + 16, ly - 4), (lx + 11, ly + 3), (lx + 6, ly - 4)], INK,
                              cls="legend"))
        elif key == "open":
            items.append(Line(lx + 11, ly - 12, lx + 11, ly + 3, INK, 2.0, cls="legend"))
        else:
            colour = STAGE_MARK if key == "stage" else LEVEL_MARK
            pts = ([(lx + 6, ly - 9), (lx + 16, ly - 9), (lx + 11, ly - 2)] if key == "stage" else
                   [(lx + 11, ly - 11), (lx + 16, ly - 6), (lx + 11, ly - 1), (lx + 6, ly - 6)])
            items.append(Poly(pts, colour, cls="legend"))
        items.append(Text(lx + 28, ly, words, 11, INK, cls="legend"))
        lx += 28 + width_of(words, 11) + 22


# ---------------------------------------------------------------- SVG


def _attrs(cls: str, data: dict) -> str:
    out = f' class="{cls}"' if cls else ""
    return out + "".join(f" data-{k}={quoteattr(str(v))}" for k, v in data.items())


def _n(v: float) -> str:
    return f"{v:.2f}".rstrip("0").rstrip(".")


def to_svg(lay: Layout, fonts: FontSettings) -> str:
    family = quoteattr(f"'{fonts.sans}',{SANS_STACK}")
    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{_n(lay.width)}" height="{_n(lay.height)}" '
           f'viewBox="0 0 {_n(lay.width)} {_n(lay.height)}" font-family={family}>',
           f'<rect x="0" y="0" width="{_n(lay.width)}" height="{_n(lay.height)}" fill="#ffffff"/>']
    for it in lay.items:
        if isinstance(it, Rect):
            stroke = f' stroke="{it.stroke}" stroke-width="1"' if it.stroke else ""
            out.append(f'<rect x="{_n(it.x)}" y="{_n(it.y)}" width="{_n(it.w)}" height="{_n(it.h)}" '
                       f'fill="{it.fill}"{stroke}{_attrs(it.cls, it.data)}/>')
        elif isinstance(it, Line):
            dash = f' stroke-dasharray="{_n(it.dash[0])} {_n(it.dash[1])}"' if it.dash else ""
            out.append(f'<line x1="{_n(it.x1)}" y1="{_n(it.y1)}" x2="{_n(it.x2)}" y2="{_n(it.y2)}" '
                       f'stroke="{it.stroke}" stroke-width="{_n(it.width)}"{dash}{_attrs(it.cls, {})}/>')
        elif isinstance(it, Poly):
            pts = " ".join(f"{_n(a)},{_n(b)}" for a, b in it.points)
            out.append(f'<polygon points="{pts}" fill="{it.fill}"{_attrs(it.cls, it.data)}/>')
        else:
            out.append(f'<text x="{_n(it.x)}" y="{_n(it.y)}" font-size="{_n(it.size)}" fill="{it.fill}" '
                       f'text-anchor="{it.anchor}"{_attrs(it.cls, it.data)}>{escape(it.text)}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------- PNG (Typst renders the SVG)


def to_png(lay: Layout, fonts: FontSettings, ppi: float = 144) -> bytes:
    svg = to_svg(lay, fonts)
    return typeset("chart.typ", {"svg": svg, "width": lay.width, "height": lay.height}, fonts, "png", ppi)
