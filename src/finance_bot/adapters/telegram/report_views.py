"""Pure rendering: reports, balances, lists and settings as reply text. No I/O."""

from __future__ import annotations

from datetime import date, timedelta

from finance_bot.adapters.telegram.formatting import (
    format_date,
    format_money,
    format_rate,
    percent,
)
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.adapters.telegram.presenters import account_label
from finance_bot.application.budgets import BudgetLine
from finance_bot.application.directory import AccountsView, CategoryView
from finance_bot.application.reports import BalanceView, PeriodReport
from finance_bot.domain.accounts import Account, AccountType
from finance_bot.domain.currencies import symbol
from finance_bot.domain.money import Money
from finance_bot.domain.periods import Period, PeriodKind
from finance_bot.ports.records import Member, TransactionLine


def period_title(period: Period, t: Translator) -> str:
    if period.kind is PeriodKind.DAY:
        return t("period_today", date=format_date(period.start, t.language))
    if period.kind is PeriodKind.WEEK:
        last = period.end - timedelta(days=1)
        return t(
            "period_week",
            start=format_date(period.start, t.language),
            end=format_date(last, t.language),
        )
    if period.kind is PeriodKind.MONTH:
        return t(
            "period_month", month=t.month(period.start.month).capitalize(), year=period.start.year
        )
    return t("period_year", year=period.start.year)


def person_name(telegram_id: int, members: dict[int, Member], t: Translator) -> str:
    member = members.get(telegram_id)
    if member is not None and member.display_name:
        return member.display_name
    return t("person_unknown", telegram_id=telegram_id)


def foreign_text(parts: tuple[Money, ...], t: Translator) -> str:
    return ", ".join(format_money(part, t.language) for part in parts)


def with_foreign(amount: Money, parts: tuple[Money, ...], t: Translator) -> str:
    """A base-currency amount, and what of it was typed in other currencies, as typed:
    `850,00 ₴ (в т. ч. 20,00 €)`."""
    written = format_money(amount, t.language)
    if not parts:
        return written
    return t("amount_with_foreign", amount=written, foreign=foreign_text(parts, t))


def period_report_text(report: PeriodReport, members: dict[int, Member], t: Translator) -> str:
    totals = report.totals
    title = period_title(report.period, t)
    if report.only_telegram_id is not None:
        title += t("report_only_me")
    lines = [title]
    spending = totals.spending.amount_minor
    if spending == 0:
        lines.append(t("report_nothing"))
    else:
        lines.append(
            t("report_spending", amount=with_foreign(totals.spending, report.foreign_spending, t))
        )
        for line in totals.by_category:
            category = account_label(report.accounts[line.key], t)
            amount = format_money(line.amount, t.language)
            share = percent(line.amount.amount_minor, spending)
            parts = report.foreign.get(line.key, ())
            if parts:
                lines.append(
                    t(
                        "report_category_line_foreign",
                        category=category,
                        amount=amount,
                        foreign=foreign_text(parts, t),
                        percent=share,
                    )
                )
            else:
                lines.append(
                    t("report_category_line", category=category, amount=amount, percent=share)
                )
        if report.only_telegram_id is None and len(totals.by_person) > 1:
            lines.append(t("report_people"))
            for line in totals.by_person:
                lines.append(
                    t(
                        "report_person_line",
                        name=person_name(line.key, members, t),
                        amount=format_money(line.amount, t.language),
                    )
                )
    if report.period.kind in (PeriodKind.MONTH, PeriodKind.YEAR):
        lines.append(
            t("report_income", amount=with_foreign(totals.income, report.foreign_income, t))
        )
        net = totals.income - totals.spending
        lines.append(t("report_net", amount=format_money(net, t.language, signed=True)))
    if report.previous is not None:
        change = totals.spending - report.previous.spending
        lines.append(
            t(
                "report_change",
                change=format_money(change, t.language, signed=True),
                previous=format_money(report.previous.spending, t.language),
            )
        )
    if report.budgets:
        lines.append("")
        lines.extend(budget_lines_text(list(report.budgets), report.accounts, t))
    return "\n".join(lines)


def budget_lines_text(
    lines: list[BudgetLine], accounts: dict[int, Account], t: Translator
) -> list[str]:
    out = []
    for line in lines:
        name = (
            account_label(accounts[line.category_id], t)
            if line.category_id is not None
            else t("budget_total")
        )
        out.append(
            t(
                "budget_line",
                category=name,
                spent=format_money(line.spent, t.language),
                limit=format_money(line.limit, t.language),
                percent=line.used_pct,
                remaining=format_money(line.remaining, t.language),
            )
        )
        if line.safe_per_day is not None and line.remaining.amount_minor > 0:
            out.append(
                t("budget_line_per_day", per_day=format_money(line.safe_per_day, t.language))
            )
    return out


def budgets_text(
    lines: list[BudgetLine], accounts: dict[int, Account], month: date, t: Translator
) -> str:
    if not lines:
        return t("budgets_none")
    title = t("budgets_title", month=f"{t.month(month.month)} {month.year}")
    return "\n".join([title, *budget_lines_text(lines, accounts, t)])


def balance_text(view: BalanceView, t: Translator) -> str:
    lines = [t("balance_title")]
    for line in view.accounts:
        label = account_label(line.account, t)
        if line.account.is_shared:
            label += t("balance_shared")
        lines.append(
            t("balance_line", account=label, amount=format_money(line.balance, t.language))
        )
    total = format_money(view.total, t.language)
    if not view.approximate:
        lines.append(t("balance_total", amount=total))
    else:
        rates = ", ".join(
            t(
                "balance_rate",
                currency=rate.currency,
                rate=format_rate(rate.rate, t.language),
                base=symbol(view.total.currency),
                date=format_date(rate.valid_from, t.language),
            )
            for rate in view.rates
        )
        lines.append(t("balance_total_approximate", amount=total))
        lines.append(t("balance_rates", rates=rates))
    if view.left_out:
        accounts = ", ".join(
            t("balance_left_out_account", account=account_label(a, t), currency=a.currency)
            for a in view.left_out
        )
        lines.append(
            t(
                "balance_left_out",
                accounts=accounts,
                code=view.left_out[0].currency,
                base=view.total.currency,
            )
        )
    return "\n".join(lines)


def last_text(lines: list[TransactionLine], accounts: dict[int, Account], t: Translator) -> str:
    if not lines:
        return t("last_none")
    out = [t("last_title")]
    for line in lines:
        debit, credit = accounts[line.debit_account_id], accounts[line.credit_account_id]
        if line.kind == "expense":
            what, amount = account_label(debit, t), -line.amount
        elif line.kind == "income":
            what, amount = account_label(credit, t), line.amount
        else:
            what, amount = f"{account_label(credit, t)} → {account_label(debit, t)}", line.amount
        if line.note:
            what += f" · {line.note}"
        written = format_money(amount, t.language, signed=line.kind == "income")
        if line.converted_from is not None:
            # the amount as it was typed, beside what it came to
            typed = format_money(line.converted_from, t.language)
            written = t("last_converted", amount=written, typed=typed)
        out.append(
            t(
                "last_line",
                number=line.number,
                date=format_date(line.booked_on, t.language),
                amount=written,
                what=what,
            )
        )
    return "\n".join(out)


def accounts_text(view: AccountsView, t: Translator, *, currency: str) -> str:
    """`currency`: the household's base one, left unsaid; any other is named."""
    lines = [t("accounts_title")]
    for account in view.accounts:
        if not account.type.holds_money:
            continue  # the conversion accounts only carry money across currencies
        marks = ""
        if account.currency != currency:
            marks += t("account_currency_mark", currency=account.currency)
        if account.id == view.default_account_id:
            marks += t("account_default_mark")
        if account.is_shared:
            marks += t("account_shared_mark")
        lines.append(t("account_line", name=account_label(account, t), marks=marks))
    lines.append("")
    lines.append(t("accounts_usage"))
    return "\n".join(lines)


def categories_text(categories: list[CategoryView], t: Translator) -> str:
    lines = []
    for kind, title in (
        (AccountType.EXPENSE, "categories_expense"),
        (AccountType.INCOME, "categories_income"),
    ):
        lines.append(t(title))
        for view in categories:
            if view.category.type is kind:
                lines.append(
                    t(
                        "category_line",
                        name=account_label(view.category, t),
                        aliases=", ".join(view.aliases) or "—",
                    )
                )
    lines.append("")
    lines.append(t("categories_usage"))
    return "\n".join(lines)
