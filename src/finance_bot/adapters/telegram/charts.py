"""Pure rendering: a period's spending as one PNG (docs/product.md §11). No I/O.

matplotlib is imported on the first chart only: a bot that is never asked for one does not
carry it (tests/unit/test_charts.py checks that starting the bot leaves it out). Figures are
made with the object API on the Agg canvas, never pyplot, so no global figure state is
shared; rendering is still serialised by a lock, as matplotlib's font caches are not meant
for threads, and the bot renders off the event loop (asyncio.to_thread).
"""

from __future__ import annotations

import functools
import io
import textwrap
import threading
from typing import TYPE_CHECKING, Final

from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.adapters.telegram.report_views import period_title, with_foreign
from finance_bot.application.reports import SpendingChart
from finance_bot.domain.money import Money

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

WIDTH_PX: Final = 1280  # a phone shows a photo 1280 px wide at full quality
DPI: Final = 160
MAX_BARS: Final = 12  # the rest of the categories go into one "other" bar
_BAR_ROW_PX: Final = 72
_LINES_PX: Final = 760
_HEADER_PX: Final = 200
# A bar's label is its category's name on at most two lines this wide: a name may be 40
# letters (longer when imported), and one long line would take the width the bars and,
# below them, the day-by-day lines need (the layout then gives up and squeezes both).
_LABEL_CHARS: Final = 18
_LABEL_LINES: Final = 2
# The fonts inside matplotlib's own wheel, which cover Latin and Cyrillic and ₴: a server
# without any system font draws the same picture.
_FONT: Final = "DejaVu Sans"
_SPENT: Final = "#2f6db5"
_BEFORE: Final = "#9aa5b1"
_BUDGET: Final = "#c0392b"

_lock = threading.Lock()


def chart_caption(chart: SpendingChart, t: Translator) -> str:
    report = chart.report
    title = period_title(report.period, t)
    if report.only_telegram_id is not None:
        title += t("report_only_me")
    spent = with_foreign(report.totals.spending, report.foreign_spending, t)
    return t("chart_caption", title=title, amount=spent)


def chart_png(chart: SpendingChart, t: Translator) -> bytes:
    """The chart as PNG bytes, WIDTH_PX wide."""
    with _lock:
        figure = chart_figure(chart, t)
        out = io.BytesIO()
        figure.savefig(out, format="png", dpi=DPI)
        return out.getvalue()


def chart_figure(chart: SpendingChart, t: Translator) -> Figure:
    """The figure itself, for chart_png and for tests that read its texts."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    bars = _bars(chart, t)
    bars_px = max(len(bars), 3) * _BAR_ROW_PX
    height_px = _HEADER_PX + bars_px + _LINES_PX
    figure = Figure(
        figsize=(WIDTH_PX / DPI, height_px / DPI), dpi=DPI, layout="constrained", facecolor="white"
    )
    FigureCanvasAgg(figure)
    title = period_title(chart.report.period, t)
    if chart.report.only_telegram_id is not None:
        title += t("report_only_me")
    figure.suptitle(title, fontsize=14, fontweight="bold", fontfamily=_FONT)
    top, bottom = figure.subplots(2, 1, height_ratios=[bars_px, _LINES_PX])
    _draw_bars(top, bars, t)
    _draw_lines(bottom, chart, t)
    return figure


def _bars(chart: SpendingChart, t: Translator) -> list[tuple[str, Money]]:
    """(label, amount) from the largest down; past MAX_BARS the rest are one bar."""
    report = chart.report
    lines = report.totals.by_category  # already largest first
    shown = [(_label(account_label(report.accounts[line.key], t)), line.amount) for line in lines]
    if len(shown) > MAX_BARS:
        rest = shown[MAX_BARS - 1 :]
        total = rest[0][1]
        for _, amount in rest[1:]:
            total = total + amount
        shown = [*shown[: MAX_BARS - 1], (t("chart_other", count=len(rest)), total)]
    return shown


def _label(name: str) -> str:
    """A name wrapped to fit beside its bar; what does not fit ends in an ellipsis."""
    # Emoji are common in names ("🍕 пицца") and the font has none: each would be drawn as
    # an empty box, so they are left out, unless the name is nothing else.
    drawable = _drawable()
    name = " ".join("".join(char for char in name if ord(char) in drawable).split()) or name
    lines = textwrap.wrap(name, _LABEL_CHARS)
    if len(lines) > _LABEL_LINES:
        lines = lines[:_LABEL_LINES]
        lines[-1] = lines[-1][: _LABEL_CHARS - 1] + "…"
    return "\n".join(lines) or name


@functools.cache
def _drawable() -> frozenset[int]:
    """The characters the chart's font has glyphs for."""
    from matplotlib import font_manager
    from matplotlib.ft2font import FT2Font

    font = font_manager.FontProperties(family=_FONT)
    path = font_manager.findfont(font, fallback_to_default=False)
    return frozenset(FT2Font(path).get_charmap())


def _draw_bars(axes: Axes, bars: list[tuple[str, Money]], t: Translator) -> None:
    labels = [label for label, _ in bars]
    values = [float(amount.to_decimal()) for _, amount in bars]
    positions = list(range(len(bars)))
    drawn = axes.barh(positions, values, color=_SPENT, height=0.65)
    # Names are drawn as typed: matplotlib would read the text between two "$" as a
    # formula, and fail on one such as "$$".
    axes.set_yticks(positions, labels, fontsize=11, fontfamily=_FONT, parse_math=False)
    axes.invert_yaxis()  # the largest on top
    axes.bar_label(
        drawn,
        labels=[format_money(amount, t.language) for _, amount in bars],
        padding=4,
        fontsize=10,
        fontfamily=_FONT,
    )
    axes.set_title(t("chart_by_category"), loc="left", fontsize=12, fontfamily=_FONT)
    # Room beyond the longest bar for its amount. A category may come to less than nothing
    # (a refund in books imported from elsewhere): its bar goes left of zero, and is drawn.
    low, high = min(0.0, *values), max(0.0, *values)
    room = 0.3 * ((high - low) or 1.0)
    axes.set_xlim(low - room if low < 0 else 0.0, high + room if high > 0 or low == 0 else 0.0)
    axes.xaxis.set_visible(False)
    for side in ("top", "right", "bottom"):
        axes.spines[side].set_visible(False)


def _draw_lines(axes: Axes, chart: SpendingChart, t: Translator) -> None:
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    now = [float(m.to_decimal()) for m in chart.cumulative]
    before = [float(m.to_decimal()) for m in chart.previous_cumulative]
    if before:
        axes.plot(
            range(1, len(before) + 1),
            before,
            color=_BEFORE,
            linewidth=2,
            linestyle="--",
            label=t("chart_previous"),
        )
    if now:
        axes.plot(range(1, len(now) + 1), now, color=_SPENT, linewidth=3, label=t("chart_this"))
    if chart.budget is not None:
        axes.axhline(
            float(chart.budget.to_decimal()),
            color=_BUDGET,
            linewidth=1.5,
            linestyle=":",
            label=t("chart_budget", amount=format_money(chart.budget, t.language)),
        )
    axes.set_title(t("chart_cumulative"), loc="left", fontsize=12, fontfamily=_FONT)
    axes.set_xlabel(t("chart_day"), fontsize=10, fontfamily=_FONT)
    axes.set_xlim(1, max(chart.report.period.days, len(before), 2))
    axes.set_ylim(bottom=0)
    axes.xaxis.set_major_locator(MaxNLocator(integer=True, nbins=12))
    separator = "\u00a0" if t.language == "ru" else ","
    axes.yaxis.set_major_formatter(
        FuncFormatter(lambda value, _: f"{value:,.0f}".replace(",", separator))
    )
    axes.grid(visible=True, alpha=0.3)
    axes.legend(loc="upper left", prop={"family": _FONT, "size": 10})
    for side in ("top", "right"):
        axes.spines[side].set_visible(False)
