"""Reports in several currencies over the in-memory fakes: categories and totals in the
base currency at the conversions recorded with each entry, the foreign parts as typed
beside them; /balance at the latest rates, approximate; /last with the typed amount.

The month is tests/support/foreign.py's; every figure below is worked out by hand there."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from finance_bot.adapters.telegram.formatting import format_money, format_rate
from finance_bot.adapters.telegram.i18n import Catalog, Translator
from finance_bot.adapters.telegram.report_views import (
    accounts_text,
    balance_text,
    budgets_text,
    last_text,
    period_report_text,
)
from finance_bot.application.budgets import budget_progress, crossed_thresholds, set_budget
from finance_bot.application.directory import list_accounts
from finance_bot.application.reports import balances, last_transactions, period_report
from finance_bot.domain.accounts import AccountType
from finance_bot.domain.money import Money
from finance_bot.domain.periods import PeriodKind
from finance_bot.ports.records import AmountByKey, Member
from tests.support.foreign import (
    NOVEMBER,
    TODAY,
    add_account,
    earn_foreign,
    foreign_month,
    money,
    spend_foreign,
)
from tests.support.household import Household, fake_world, uah

NBSP = "\u00a0"


def _t(language: str) -> Translator:
    return Catalog.load().translator(language)


def _nbsp(text: str) -> str:
    """The expected texts are written with plain spaces; amounts keep theirs unbroken."""
    return text.replace(NBSP, " ")


@pytest.fixture
async def home() -> Household:
    return await fake_world().household()


def _members(home: Household) -> dict[int, Member]:
    return {
        home.alice: Member(home.alice, home.id, "ru", None, display_name="Алиса"),
        home.bob: Member(home.bob, home.id, "ru", None, display_name="Боб"),
    }


async def test_month_counts_foreign_spending_at_its_recorded_rates(home: Household) -> None:
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

    # cafe 250 + 913 + 622,50; taxi 510,51 + 100; the voided 1 350 nowhere
    assert report.totals.spending == uah("2396.01")
    assert report.totals.by_category == (
        AmountByKey(cafe, uah("1785.50")),
        AmountByKey(taxi, uah("610.51")),
    )
    assert {line.key: line.amount for line in report.totals.by_person} == {
        home.alice: uah("1673.51"),
        home.bob: uah("722.50"),
    }
    assert report.totals.income == uah("20600")
    assert report.foreign[cafe] == (money("20", "EUR"), money("15", "USD"))
    assert report.foreign[taxi] == (money("12.34", "USD"),)
    assert report.foreign_spending == (money("20", "EUR"), money("27.34", "USD"))
    assert report.foreign_income == (money("500", "USD"),)
    assert report.previous is not None
    assert report.previous.spending == uah("410")  # October's dollars, at October's rate

    assert _nbsp(period_report_text(report, _members(home), _t("ru"))) == (
        "Ноябрь 2026\n"
        "Расходы: 2 396,01 ₴ (в т. ч. 20,00 €, 27,34 $)\n"
        "• кафе: 1 785,50 ₴ (в т. ч. 20,00 €, 15,00 $), 75%\n"
        "• такси: 610,51 ₴ (в т. ч. 12,34 $), 25%\n"
        "По людям:\n"
        "• Алиса: 1 673,51 ₴\n"
        "• Боб: 722,50 ₴\n"
        "Доходы: 20 600,00 ₴ (в т. ч. 500,00 $)\n"
        "Итог: +18 203,99 ₴\n"
        "К прошлому периоду: +1 986,01 ₴ (было 410,00 ₴)"
    )
    english = _nbsp(period_report_text(report, _members(home), _t("en")))
    assert "• cafe: ₴1,785.50 (incl. €20.00, $15.00), 75%" in english
    assert "Spending: ₴2,396.01 (incl. €20.00, $27.34)" in english


async def test_month_me_counts_only_the_askers_foreign_parts(home: Household) -> None:
    await foreign_month(home)
    cafe, taxi = home.accounts["cafe"].id, home.accounts["taxi"].id

    mine = await period_report(
        home.alice,
        PeriodKind.MONTH,
        NOVEMBER,
        only_me=True,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    bobs = await period_report(
        home.bob,
        PeriodKind.MONTH,
        NOVEMBER,
        only_me=True,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )

    # Alice: cafe 250 + 913, taxi 510,51; Bob: cafe 622,50, taxi 100
    assert mine.totals.spending == uah("1673.51")
    salary = home.accounts["salary"].id
    assert mine.foreign == {
        cafe: (money("20", "EUR"),),
        taxi: (money("12.34", "USD"),),
        salary: (money("500", "USD"),),
    }
    assert bobs.totals.spending == uah("722.50")
    assert bobs.foreign == {cafe: (money("15", "USD"),)}
    text = _nbsp(period_report_text(mine, _members(home), _t("ru")))
    assert "Расходы: 1 673,51 ₴ (в т. ч. 20,00 €, 12,34 $)" in text
    # 1 163,00 of 1 673,51 is 69,49 %; 510,51 is 30,51 %
    assert "• кафе: 1 163,00 ₴ (в т. ч. 20,00 €), 69%" in text
    assert "• такси: 510,51 ₴ (в т. ч. 12,34 $), 31%" in text
    assert "Доходы: 20 600,00 ₴ (в т. ч. 500,00 $)" in text
    assert "По людям" not in text
    bobs_text = _nbsp(period_report_text(bobs, _members(home), _t("ru")))
    assert "• кафе: 622,50 ₴ (в т. ч. 15,00 $), 86%" in bobs_text
    assert "• такси: 100,00 ₴ (14%)" in bobs_text
    assert "Доходы: 0,00 ₴\n" in bobs_text


async def test_a_day_of_hryvnias_only_reads_as_before(home: Household) -> None:
    await foreign_month(home)
    report = await period_report(
        home.alice,
        PeriodKind.DAY,
        date(2026, 11, 7),
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert report.foreign == {}
    assert _nbsp(period_report_text(report, _members(home), _t("ru"))) == (
        "Сегодня, 07.11.2026\nРасходы: 100,00 ₴\n• такси: 100,00 ₴ (100%)"
    )


async def test_the_voided_conversion_is_left_out_of_week_and_parts(home: Household) -> None:
    await foreign_month(home)
    # the week of 2–8 November holds #5 (30 €, voided) and its reversal
    report = await period_report(
        home.alice,
        PeriodKind.WEEK,
        date(2026, 11, 6),
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    assert report.totals.spending == uah("2396.01")
    assert report.foreign[home.accounts["cafe"].id] == (money("20", "EUR"), money("15", "USD"))
    assert "30,00" not in _nbsp(period_report_text(report, _members(home), _t("ru")))


async def test_budgets_count_converted_spending_in_the_base_currency(home: Household) -> None:
    cafe = home.accounts["cafe"].id
    await set_budget(home.alice, cafe, uah(1200), uow_factory=home.factory)
    await home.add(home.expense(250, "cafe", on=date(2026, 11, 2)))

    # 20 € at 45,65 is 913,00 ₴: 250 + 913 = 1 163 of 1 200 crosses 80 % (960), not 100 %
    spent = await spend_foreign(home, money("20", "EUR"), "45.65", "cafe", on=date(2026, 11, 3))
    async with home.factory() as uow:
        alerts = await crossed_thresholds(uow, spent)
        await uow.commit()

    assert [(a.category_id, a.threshold_pct, a.spent, a.limit) for a in alerts] == [
        (cafe, 80, uah(1163), uah(1200))
    ]
    [line] = await budget_progress(home.alice, NOVEMBER, today=TODAY, uow_factory=home.factory)
    assert (line.spent, line.remaining, line.used_pct) == (uah(1163), uah(37), 96)
    # 37,00 over the 11 days left, 20–30 November: 3,36 a day
    assert line.safe_per_day == uah("3.36")
    text = _nbsp(budgets_text([line], {cafe: home.accounts["cafe"]}, NOVEMBER, _t("ru")))
    assert "• кафе: 1 163,00 ₴ из 1 200,00 ₴ (96%), осталось 37,00 ₴" in text


async def test_month_report_lists_budgets_with_converted_spending(home: Household) -> None:
    await foreign_month(home)
    await set_budget(home.alice, None, uah(3000), uow_factory=home.factory)
    report = await period_report(
        home.alice,
        PeriodKind.MONTH,
        NOVEMBER,
        only_me=False,
        today=TODAY,
        currency="UAH",
        uow_factory=home.factory,
    )
    [total] = report.budgets
    assert (total.spent, total.remaining) == (uah("2396.01"), uah("603.99"))


async def _balances_home(home: Household) -> dict[str, int]:
    """Alice's accounts in five currencies, their money arriving as converted income."""
    accounts = {
        "доллары": await add_account(home, "доллары", "USD", owner=home.alice),
        "евро": await add_account(home, "евро", "EUR"),
        "йены": await add_account(home, "йены", "JPY", owner=home.alice),
        "динары": await add_account(home, "динары", "KWD", owner=home.alice),
        "франки": await add_account(home, "франки", "CHF", owner=home.alice),
        "бобовы": await add_account(home, "бобовы", "USD", owner=home.bob),
    }
    await home.add(home.expense(150, "cafe"))  # the card: −150,00 ₴
    await earn_foreign(home, money("100", "USD"), "41.00", accounts["доллары"])
    await earn_foreign(home, money("200", "EUR"), "45.00", accounts["евро"])
    await earn_foreign(home, money("15000", "JPY"), "0.27", accounts["йены"])
    await earn_foreign(home, money("12.345", "KWD"), "135.10", accounts["динары"])
    await earn_foreign(home, money("999", "USD"), "41.00", accounts["бобовы"], author=home.bob)
    async with home.factory() as uow:
        await uow.rates.add(home.id, "USD", Decimal("41.00"), date(2026, 11, 1), source="official")
        await uow.rates.add(
            home.id,
            "USD",
            Decimal("41.50"),
            date(2026, 11, 15),
            source="manual",
            author_telegram_id=home.alice,
        )
        await uow.rates.add(home.id, "EUR", Decimal("45.65"), date(2026, 11, 10), source="official")
        await uow.rates.add(
            home.id, "JPY", Decimal("0.2778"), date(2026, 11, 10), source="official"
        )
        await uow.commit()
    return accounts


async def test_balance_gives_each_account_in_its_currency_and_an_approximate_total(
    home: Household,
) -> None:
    accounts = await _balances_home(home)

    view = await balances(home.alice, currency="UAH", uow_factory=home.factory)

    shown = {line.account.name: line.balance for line in view.accounts}
    assert shown["доллары"] == money("100", "USD")
    assert shown["евро"] == money("200", "EUR")
    assert shown["йены"] == Money(15_000, "JPY")
    assert shown["динары"] == Money(12_345, "KWD")
    assert shown["франки"] == Money(0, "CHF")
    assert "бобовы" not in shown  # Bob's own, neither listed nor counted
    assert not any(line.account.type is AccountType.EQUITY for line in view.accounts)
    # −150 + 100 × 41,50 + 200 × 45,65 + 15 000 × 0,2778 = −150 + 4 150 + 9 130 + 4 167
    assert view.total == uah("17297")
    assert view.approximate
    assert [(r.currency, r.rate) for r in view.rates] == [
        ("EUR", Decimal("45.65")),
        ("JPY", Decimal("0.2778")),
        ("USD", Decimal("41.50")),
    ]
    # the dinars have no rate; the francs, nothing to count
    assert [a.id for a in view.left_out] == [accounts["динары"]]

    text = _nbsp(balance_text(view, _t("ru")))
    assert "• карта: −150,00 ₴" in text
    assert "• доллары: 100,00 $" in text
    assert "• евро (общий): 200,00 €" in text
    assert "• йены: 15 000 ¥" in text
    assert "• динары: 12,345 KWD" in text
    assert "• франки: 0,00 CHF" in text
    assert text.endswith(
        "Итого по этим счетам ≈ 17 297,00 ₴\n"
        "по последним курсам: 1 EUR = 45,65 ₴ (10.11.2026), 1 JPY = 0,2778 ₴ (10.11.2026),"
        " 1 USD = 41,50 ₴ (15.11.2026)\n"
        "Не вошли в итог, курса нет: динары (KWD). Курс: /rate KWD и цена 1 KWD в UAH"
    )
    english = _nbsp(balance_text(view, _t("en")))
    assert "• динары: 12.345 KWD" in english
    assert "• йены: ¥15,000" in english
    assert "Total of these accounts ≈ ₴17,297.00" in english
    assert "Left out of the total, no rate: динары (KWD)." in english


async def test_a_rate_for_the_last_currency_brings_it_into_the_total(home: Household) -> None:
    await _balances_home(home)
    async with home.factory() as uow:
        await uow.rates.add(home.id, "KWD", Decimal("135"), date(2026, 11, 16), source="manual")
        await uow.commit()
    view = await balances(home.alice, currency="UAH", uow_factory=home.factory)
    # 12,345 × 135 = 1 666,575, rounded half to even: 1 666,58
    assert view.total == uah("18963.58")
    assert view.left_out == ()
    assert "Не вошли" not in balance_text(view, _t("ru"))


async def test_a_balance_in_the_base_currency_only_is_exact(home: Household) -> None:
    await home.add(home.expense(150, "cafe"))
    view = await balances(home.alice, currency="UAH", uow_factory=home.factory)
    assert (view.total, view.approximate, view.left_out) == (uah(-150), False, ())
    assert _nbsp(balance_text(view, _t("ru"))).endswith("Итого по этим счетам: −150,00 ₴")


async def test_last_shows_the_typed_amount_beside_the_base_one(home: Household) -> None:
    await foreign_month(home)
    lines, names = await last_transactions(home.alice, 10, only_me=False, uow_factory=home.factory)
    text = _nbsp(last_text(lines, names, _t("ru")))
    assert text.splitlines() == [
        "Последние записи:",
        "#9 31.10.2026 −410,00 ₴ (10,00 $) · кафе  /del9",
        "#8 10.11.2026 +20 600,00 ₴ (500,00 $) · зарплата  /del8",
        "#7 07.11.2026 −100,00 ₴ · такси  /del7",
        "#4 05.11.2026 −510,51 ₴ (12,34 $) · такси  /del4",
        "#3 04.11.2026 −622,50 ₴ (15,00 $) · кафе  /del3",
        "#2 03.11.2026 −913,00 ₴ (20,00 €) · кафе  /del2",
        "#1 02.11.2026 −250,00 ₴ · кафе  /del1",
    ]
    english = _nbsp(last_text(lines, names, _t("en")))
    assert "#2 2026-11-03 −₴913.00 (€20.00) · cafe  /del2" in english


async def test_accounts_name_other_currencies_and_hide_the_conversion_accounts(
    home: Household,
) -> None:
    await foreign_month(home)
    await add_account(home, "йены", "JPY", owner=home.alice)

    view = await list_accounts(home.alice, uow_factory=home.factory)

    assert not any(a.type is AccountType.EQUITY for a in view.accounts)
    text = _nbsp(accounts_text(view, _t("ru"), currency="UAH"))
    assert "⇄" not in text
    assert "• йены · JPY\n" in text
    assert "• евро · EUR\n" in text
    assert "• доллары · USD (общий)\n" in text
    assert "• карта ⭐ по умолчанию\n" in text


@pytest.mark.parametrize(
    ("minor", "currency", "language", "text"),
    [
        (1_234_567, "KWD", "ru", "1 234,567 KWD"),
        (1_234_567, "KWD", "en", "1,234.567 KWD"),
        (1_500, "JPY", "ru", "1 500 ¥"),
        (-5, "BHD", "en", "−0.005 BHD"),
        (2_000, "EUR", "ru", "20,00 €"),
        (99, "CLF", "en", "0.0099 CLF"),  # four decimals
    ],
)
def test_money_is_written_at_its_currencys_scale(
    minor: int, currency: str, language: str, text: str
) -> None:
    assert _nbsp(format_money(Money(minor, currency), language)) == text


@pytest.mark.parametrize(
    ("rate", "language", "text"),
    [
        ("41.5", "ru", "41,50"),
        ("0.2778", "ru", "0,2778"),
        ("42", "en", "42.00"),
        ("1234.5", "en", "1,234.50"),
        ("41.50000", "ru", "41,50"),
    ],
)
def test_rates_are_written_with_the_decimals_they_have(rate: str, language: str, text: str) -> None:
    assert _nbsp(format_rate(Decimal(rate), language)) == text
