"""The spending chart: a PNG wide enough for a phone, its texts in the reader's language,
drawn with the fonts inside matplotlib; and matplotlib left out until a chart is asked for.

Here rather than in the unit tier: every test drives the real matplotlib (seconds to load
and draw) or a fresh interpreter, and the unit tier stays the quick inner loop."""

from __future__ import annotations

import io
import subprocess
import sys
import warnings
from dataclasses import replace
from datetime import date

import pytest
from PIL import Image, ImageStat

from finance_bot.adapters.telegram.charts import (
    MAX_BARS,
    WIDTH_PX,
    chart_caption,
    chart_figure,
    chart_png,
)
from finance_bot.adapters.telegram.formatting import format_money
from finance_bot.adapters.telegram.i18n import Catalog, Translator
from finance_bot.application.reports import PeriodReport, SpendingChart
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.money import Money
from finance_bot.domain.periods import Period, PeriodKind
from finance_bot.ports.records import AmountByKey, PeriodTotals

CATALOG = Catalog.load()
NAMES = ["продукты", "кафе", "Taxi", "аптека", "Кино и театр", "gym"]


def uah(major: float) -> Money:
    return Money(round(major * 100), "UAH")


def a_chart(
    spent: list[float],
    *,
    kind: PeriodKind = PeriodKind.MONTH,
    day: date = date(2026, 11, 1),
    budget: Money | None = None,
    only: int | None = None,
) -> SpendingChart:
    period = Period.containing(kind, day)
    accounts = {
        n: Account(
            n,
            1,
            AccountType.EXPENSE,
            NAMES[n % len(NAMES)] + ("" if n < 6 else f" {n}"),
            "UAH",
            None,
        )
        for n in range(len(spent))
    }
    ranked = sorted(((uah(v), n) for n, v in enumerate(spent)), key=lambda p: -p[0].amount_minor)
    total = uah(sum(spent))
    totals = PeriodTotals(
        start=period.start,
        end=period.end,
        spending=total,
        income=uah(0),
        by_category=tuple(AmountByKey(n, amount) for amount, n in ranked if amount.amount_minor),
        by_person=(),
        income_by_category=(),
    )
    report = PeriodReport(
        period=period,
        only_telegram_id=only,
        totals=totals,
        previous=None,
        budgets=(),
        accounts=accounts,
    )
    days = period.days
    cumulative = tuple(uah(sum(spent) * (d + 1) / days) for d in range(days))
    before = period.previous()
    previous = tuple(uah(1000 * (d + 1)) for d in range(before.days))
    return SpendingChart(report, cumulative, previous, budget)


def texts(chart: SpendingChart, t: Translator) -> set[str]:
    from matplotlib.text import Text

    figure = chart_figure(chart, t)
    return {text.get_text() for text in figure.findobj(Text) if text.get_text()}


def decoded(png: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG"
    return image.convert("RGB")


@pytest.mark.parametrize("language", ["ru", "en"])
def test_a_month_is_a_png_wide_enough_for_a_phone(language: str) -> None:
    t = CATALOG.translator(language)
    chart = a_chart([4250.5, 1200, 310, 99.99], budget=uah(20000))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a glyph missing from the font is a warning
        image = decoded(chart_png(chart, t))
    assert image.width >= 1200
    assert image.width == WIDTH_PX
    assert image.height > 600
    # not blank: the picture has more than its background
    extrema = ImageStat.Stat(image).extrema
    assert any(low < 128 for low, _ in extrema)
    assert len(image.getcolors(maxcolors=1 << 20) or []) > 10


def test_the_figure_says_the_period_categories_amounts_and_budget_in_russian() -> None:
    t = CATALOG.translator("ru")
    found = texts(a_chart([4250.5, 1200, 310], budget=uah(20000)), t)
    assert "Ноябрь 2026" in found
    assert {"продукты", "кафе", "Taxi"} <= found
    assert "4\u00a0250,50\u00a0₴" in found
    assert t("chart_by_category") in found
    assert t("chart_cumulative") in found
    assert {t("chart_this"), t("chart_previous")} <= found
    assert "бюджет: 20\u00a0000,00\u00a0₴" in found


def test_the_figure_in_english_for_a_week_of_one_person() -> None:
    t = CATALOG.translator("en")
    chart = a_chart([12.5, 3], kind=PeriodKind.WEEK, day=date(2026, 11, 4), only=7)
    found = texts(chart, t)
    assert "Week 2026-11-02 — 2026-11-08 (you only)" in found
    assert "₴12.50" in found
    assert not any("budget" in text for text in found)


def test_many_categories_end_in_one_other_bar() -> None:
    t = CATALOG.translator("en")
    chart = a_chart([float(100 - n) for n in range(MAX_BARS + 3)])
    found = texts(chart, t)
    assert t("chart_other", count=4) in found
    assert "Кино и театр 10" in found  # the eleventh largest keeps its own bar
    assert "Кино и театр 16" not in found


def _longest_bar_px(image: Image.Image) -> int:
    """The longest horizontal run of the bars' colour: the largest bar, as drawn."""
    colour = (0x2F, 0x6D, 0xB5)
    longest = 0
    for y in range(image.height):
        run = 0
        for x in range(image.width):
            run = run + 1 if image.getpixel((x, y)) == colour else 0
            longest = max(longest, run)
    return longest


@pytest.mark.parametrize(
    "name",
    [
        "Ш" * 40,  # as long as a name may be typed, in the widest letters
        "Совсем длинное название для всей семьи!!",
        "x" * 200,  # longer than typed names, as an imported file may bring one
    ],
)
def test_a_long_category_name_leaves_the_bars_their_room(name: str) -> None:
    t = CATALOG.translator("ru")
    chart = a_chart([4000, 1200])
    accounts = dict(chart.report.accounts)
    accounts[0] = Account(0, 1, AccountType.EXPENSE, name, "UAH", None)
    report = replace(chart.report, accounts=accounts)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a layout that could not fit warns
        image = decoded(chart_png(replace(chart, report=report), t))
    # The largest bar spans at least a third of the picture, as with short names; a label
    # that takes the whole width squeezes bars and day lines into a sliver.
    assert _longest_bar_px(image) >= WIDTH_PX // 3
    found = texts(replace(chart, report=report), t)
    assert any(text.startswith(name[:10]) for text in found)  # still recognisable


@pytest.mark.parametrize("name", ["$$", "долг $_$", "обед $ и $ ужин", r"a $\frac$ b"])
def test_dollar_signs_in_a_category_name_are_drawn_as_typed(name: str) -> None:
    # matplotlib reads text between two dollar signs as a formula: "$$" was an error,
    # and "обед $ и $ ужин" lost its spaces to italics.
    t = CATALOG.translator("en")
    chart = a_chart([4000, 1200])
    accounts = dict(chart.report.accounts)
    accounts[0] = Account(0, 1, AccountType.EXPENSE, name, "UAH", None)
    chart = replace(chart, report=replace(chart.report, accounts=accounts))
    image = decoded(chart_png(chart, t))
    assert image.width == WIDTH_PX
    assert name in texts(chart, t)


def _bars_drawn(image: Image.Image) -> int:
    """How many bars the upper part of the picture shows: bands of rows that hold a run
    of the bars' colour (the day-by-day line, below, is thinner and lower)."""
    colour = (0x2F, 0x6D, 0xB5)
    bands, inside = 0, False
    for y in range(image.height * 3 // 10):
        run = longest = 0
        for x in range(image.width):
            run = run + 1 if image.getpixel((x, y)) == colour else 0
            longest = max(longest, run)
        if longest >= 20 and not inside:
            bands += 1
        inside = longest >= 20
    return bands


@pytest.mark.parametrize("spent", [[4000, -1000], [-4000, -100], [-2, 5]])
def test_a_category_below_zero_has_its_bar_too(spent: list[float]) -> None:
    t = CATALOG.translator("ru")
    chart = a_chart(spent)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        image = decoded(chart_png(chart, t))
    assert _bars_drawn(image) == len(spent)
    assert {format_money(uah(v), "ru") for v in spent} <= texts(chart, t)


@pytest.mark.parametrize(
    ("name", "label"),
    [("🍕 пицца", "пицца"), ("кофе ☕", "кофе ☕"), ("бар 🍺🍷 и 🎳", "бар и")],
)
def test_emoji_the_font_lacks_are_left_out_of_a_label(name: str, label: str) -> None:
    t = CATALOG.translator("ru")
    chart = a_chart([4000, 1200])
    accounts = dict(chart.report.accounts)
    accounts[0] = Account(0, 1, AccountType.EXPENSE, name, "UAH", None)
    chart = replace(chart, report=replace(chart.report, accounts=accounts))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an empty box drawn for a glyph missing warns
        decoded(chart_png(chart, t))
    assert label in texts(chart, t)


def test_a_year_draws_every_day() -> None:
    t = CATALOG.translator("ru")
    image = decoded(chart_png(a_chart([50000, 1], kind=PeriodKind.YEAR), t))
    assert image.width == WIDTH_PX


def test_the_caption_has_the_period_and_the_total() -> None:
    chart = a_chart([4250.5, 1200])
    assert chart_caption(chart, CATALOG.translator("ru")) == (
        "Ноябрь 2026 — расходы: 5\u00a0450,50\u00a0₴"
    )
    assert chart_caption(chart, CATALOG.translator("en")) == "November 2026 — spending: ₴5,450.50"


def test_starting_the_bot_does_not_import_matplotlib() -> None:
    # A fresh interpreter: this one has imported it for the tests above.
    probe = (
        "import sys\n"
        "import finance_bot.entry, finance_bot.cli, finance_bot.bootstrap\n"
        "from finance_bot.adapters.telegram.dispatcher import build_dispatcher\n"
        "import finance_bot.adapters.telegram.routers.reports\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in {'matplotlib', 'numpy', 'PIL'}))"
    )
    out = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (None, (PeriodKind.MONTH, date(2026, 12, 2), False)),
        ("week", (PeriodKind.WEEK, date(2026, 12, 2), False)),
        ("неделя я", (PeriodKind.WEEK, date(2026, 12, 2), True)),
        ("2026-11", (PeriodKind.MONTH, date(2026, 11, 1), False)),
        ("month 2026-11 me", (PeriodKind.MONTH, date(2026, 11, 1), True)),
        ("2025", (PeriodKind.YEAR, date(2025, 1, 1), False)),
        ("year", (PeriodKind.YEAR, date(2026, 12, 2), False)),
        ("год 2025", (PeriodKind.YEAR, date(2025, 1, 1), False)),
        ("me", (PeriodKind.MONTH, date(2026, 12, 2), True)),
        ("ноябрь", None),
        ("week 2026-11", None),
        ("year 2026-11", None),
        ("1999", None),
        ("2026-11 2026-10", None),
    ],
)
def test_chart_arguments(args: str | None, expected: tuple[PeriodKind, date, bool] | None) -> None:
    from finance_bot.adapters.telegram.routers.reports import _chart_arguments

    assert _chart_arguments(args, date(2026, 12, 2)) == expected
