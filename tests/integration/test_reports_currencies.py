"""The month of tests/support/foreign.py on real PostgreSQL: the same hand-computed figures
as the in-memory tier (tests/unit/test_reports_currencies.py), read by the real queries."""

from __future__ import annotations

import pytest

from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.report_views import last_text, period_report_text
from finance_bot.application.reports import last_transactions, period_report
from finance_bot.domain.periods import PeriodKind
from finance_bot.ports.records import AmountByKey
from tests.support.foreign import NOVEMBER, TODAY, foreign_month, money
from tests.support.household import LedgerWorld, uah

pytestmark = pytest.mark.postgres


async def test_month_in_several_currencies_on_postgres(world: LedgerWorld) -> None:
    home = await world.household()
    await foreign_month(home)
    cafe, taxi = home.accounts["cafe"].id, home.accounts["taxi"].id

    report = await period_report(
        home.alice,
        PeriodKind.MONTH,
        NOVEMBER,
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    mine = await period_report(
        home.alice,
        PeriodKind.MONTH,
        NOVEMBER,
        only_me=True,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )

    assert report.totals.spending == uah("2396.01")
    assert report.totals.by_category == (
        AmountByKey(cafe, uah("1785.50")),
        AmountByKey(taxi, uah("610.51")),
    )
    assert report.totals.income == uah("20600")
    assert report.foreign[cafe] == (money("20", "EUR"), money("15", "USD"))
    assert report.foreign[taxi] == (money("12.34", "USD"),)
    assert report.previous is not None
    assert report.previous.spending == uah("410")
    text = period_report_text(report, {}, Catalog.load().translator("ru")).replace("\u00a0", " ")
    assert text.splitlines()[1:4] == [
        "Расходы: 2 396,01 ₴ (в т. ч. 20,00 €, 27,34 $)",
        "• кафе: 1 785,50 ₴ (в т. ч. 20,00 €, 15,00 $), 75%",
        "• такси: 610,51 ₴ (в т. ч. 12,34 $), 25%",
    ]
    assert mine.totals.spending == uah("1673.51")
    assert mine.foreign[cafe] == (money("20", "EUR"),)

    lines, names = await last_transactions(home.alice, 3, only_me=False, uow_factory=home.factory)
    last = last_text(lines, names, Catalog.load().translator("ru")).replace("\u00a0", " ")
    assert "#8 10.11.2026 +20 600,00 ₴ (500,00 $) · зарплата  /del8" in last
