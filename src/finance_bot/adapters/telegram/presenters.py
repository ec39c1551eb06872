"""Pure rendering: use-case results as reply text. No I/O; every word from the catalogue."""

from __future__ import annotations

from datetime import date
from decimal import ROUND_HALF_EVEN, Decimal

from finance_bot.adapters.telegram.formatting import format_date, format_money
from finance_bot.adapters.telegram.i18n import Translator
from finance_bot.application.defaults import (
    DEFAULT_ACCOUNTS,
    DEFAULT_CATEGORIES,
    OTHER_EXPENSE,
    OTHER_INCOME,
)
from finance_bot.application.rates import RatesView
from finance_bot.application.results import BudgetAlert, TransactionView
from finance_bot.domain import errors
from finance_bot.domain.accounts import Account, AccountType, normalize_name
from finance_bot.domain.commands import ParseError, RecordCommand, RecordExpense, RecordTransfer
from finance_bot.domain.currencies import symbol
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Direction, Transaction, TransactionKind

# Telegram's limits, in characters of the text as sent (the bot sends plain text).
TELEGRAM_TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_ANSWER_LIMIT = 200
_DETAIL_LIMIT = 40  # a parse error quotes at most this much of the user's line
_RATE_PLACES = 4  # decimals a rate is shown with at most, unless it is tiny
_RATE_DIGITS = 3  # significant digits a tiny rate keeps

_DEFAULT_NAMES = {d.code: d.names for d in (*DEFAULT_CATEGORIES, *DEFAULT_ACCOUNTS)}


def account_label(account: Account, t: Translator) -> str:
    """A built-in account or category in the reader's language, unless it was renamed."""
    names = _DEFAULT_NAMES.get(account.code or "")
    if names and normalize_name(account.name) in {normalize_name(n) for n in names.values()}:
        return names.get(t.language, account.name)
    return account.name


def confirmation(view: TransactionView, t: Translator, *, today: date) -> str:
    transaction = view.transaction
    accounts = view.accounts
    # A converted entry also has legs on the conversion accounts: the accounts' types
    # tell the category and the money accounts apart, whatever the order of the legs.
    debit = _leg(transaction, accounts, Direction.DEBIT)
    credit = _leg(transaction, accounts, Direction.CREDIT)
    amount = _amount(transaction, t)
    if transaction.kind is TransactionKind.EXPENSE:
        line = t(
            "recorded_expense",
            number=transaction.number,
            amount=amount,
            category=account_label(accounts[debit], t),
            account=account_label(accounts[credit], t),
        )
    elif transaction.kind is TransactionKind.INCOME:
        line = t(
            "recorded_income",
            number=transaction.number,
            amount=amount,
            category=account_label(accounts[credit], t),
            account=account_label(accounts[debit], t),
        )
    else:
        line = t(
            "recorded_transfer",
            number=transaction.number,
            amount=amount,
            source=account_label(accounts[credit], t),
            target=account_label(accounts[debit], t),
        )
    lines = [line, *_details(transaction.booked_on, transaction.note, transaction.tags, t, today)]
    return "\n".join(lines)


def _leg(transaction: Transaction, accounts: dict[int, Account], side: Direction) -> int:
    """The account of the leg on `side` that is not a conversion account."""
    legs = [p.account_id for p in transaction.postings if p.direction is side]
    for account_id in legs:
        account = accounts.get(account_id)
        if account is not None and account.type is not AccountType.EQUITY:
            return account_id
    return legs[0]


def _amount(transaction: Transaction, t: Translator) -> str:
    """The amount; a converted one as typed, what it came to, and the rate used."""
    conversion = transaction.conversion
    if conversion is None:
        return format_money(transaction.amount, t.language)
    unit, rate, quote = conversion.source.currency, conversion.rate, conversion.target.currency
    if transaction.kind is TransactionKind.TRANSFER and rate < 1:
        # Hryvnias into dollars: quoted as people quote it, what one dollar cost.
        unit, rate, quote = quote, 1 / rate, unit
    return t(
        "converted_amount",
        source=format_money(conversion.source, t.language),
        target=format_money(conversion.target, t.language),
        rate=rate_text(unit, rate, quote, t),
    )


def rate_text(unit: str, rate: Decimal, quote: str, t: Translator) -> str:
    """`1 $ = 41,50 ₴`: what one unit of `unit` is worth in `quote`."""
    return t("rate_of", unit=symbol(unit), value=rate_number(rate, t.language), quote=symbol(quote))


def rate_number(rate: Decimal, language: str) -> str:
    """At least two decimals, at most four: 41,50 · 41,4987 · 0,0241; below 0,01 three
    significant digits, however many decimals that takes: 0,00241 · 0,000001. /rate takes
    six decimals and an exchange may make a smaller rate still: four would say 0,00."""
    places = max(_RATE_PLACES, _RATE_DIGITS - 1 - rate.adjusted())
    shown = rate.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN).normalize()
    if -shown.as_tuple().exponent < 2:  # type: ignore[operator]
        shown = shown.quantize(Decimal("0.01"))
    text = f"{shown:f}"
    return text.replace(".", ",") if language == "ru" else text


def rates_text(view: RatesView, t: Translator) -> str:
    """`/rates`: the newest rate of each currency, what it is worth in the base one."""
    if not view.rates:
        return t("rates_none")
    lines = [t("rates_title", base=symbol(view.base))]
    for rate in view.rates:
        lines.append(
            t(
                "rates_line",
                rate=rate_text(rate.currency, rate.rate, view.base, t),
                date=format_date(rate.valid_from, t.language),
                source=t(f"rate_source_{rate.source}"),
            )
        )
    return "\n".join(lines)


def typed_amount(amount: Money, language: str) -> str:
    """An amount as a person would type it in a line: digits, no currency."""
    whole, _, fraction = f"{amount.to_decimal():f}".partition(".")
    if not fraction.strip("0"):
        return whole
    return f"{whole},{fraction}" if language == "ru" else f"{whole}.{fraction}"


def forward_preview(
    command: RecordCommand,
    accounts: dict[int, Account],
    default_account_id: int | None,
    t: Translator,
    *,
    today: date,
) -> str:
    """How a forwarded line would be recorded, before anyone agrees to record it."""

    def label(account_id: int | None, fallback_code: str | None = None) -> str:
        account = accounts.get(account_id) if account_id is not None else None
        if account is None and fallback_code is not None:
            account = next((a for a in accounts.values() if a.code == fallback_code), None)
        return account_label(account, t) if account is not None else "?"

    amount = format_money(command.amount, t.language)
    if isinstance(command, RecordTransfer):
        line = t(
            "forward_transfer",
            amount=amount,
            source=label(command.from_account_id),
            target=label(command.to_account_id),
        )
    else:
        expense = isinstance(command, RecordExpense)
        category = label(command.category_id, OTHER_EXPENSE if expense else OTHER_INCOME)
        account = label(command.account_id or default_account_id)
        key = "forward_expense" if expense else "forward_income"
        line = t(key, amount=amount, category=category, account=account)
    details = _details(command.booked_on, command.note, command.tags, t, today)
    return "\n".join([t("forward_preview"), line, *details])


def _details(
    booked_on: date, note: str, tags: tuple[str, ...], t: Translator, today: date
) -> list[str]:
    lines = []
    if booked_on != today:
        lines.append(t("recorded_date", date=format_date(booked_on, t.language)))
    if note:
        lines.append(t("recorded_note", note=note))
    if tags:
        lines.append(" ".join(f"#{tag}" for tag in tags))
    return lines


def unknown_category_notice(word: str, other: Account, t: Translator) -> str:
    return t("recorded_unknown", word=_short(word), category=account_label(other, t))


def parse_error_text(error: ParseError, t: Translator) -> str:
    if error.reason.value == "no_amount":
        return t("hint")
    return t(f"parse_{error.reason.value}", detail=_short(error.detail))


def error_text(error: errors.LedgerRuleViolation, t: Translator) -> str:
    """The reply for a refused request; the ledger is untouched in every case."""
    match error:
        case errors.TransactionNotFound(number=number):
            return t("error_not_found", number=number)
        case errors.AlreadyVoided(number=number):
            return t("error_already_voided", number=number)
        case errors.ReversalCannotBeVoided(number=number):
            return t("error_reversal", number=number)
        case errors.NotTheAuthor(number=number):
            return t("error_not_author", number=number)
        case errors.NothingToUndo():
            return t("error_nothing_to_undo")
        case errors.UnknownAccount(name=name):
            return t("error_unknown_account", name=_short(name)) if name else t("error_no_account")
        case errors.UnknownCategory(name=name):
            if not name:
                return t("error_no_category")
            return t("error_unknown_category", name=_short(name))
        case errors.AccountArchived(name=name):
            return t("error_account_archived", name=_short(name))
        case errors.NameAlreadyTaken(name=name, holder=str() as holder) if holder:
            return t("error_name_held", name=_short(name), holder=_short(holder))
        case errors.NameAlreadyTaken(name=name):
            return t("error_name_taken", name=_short(name))
        case errors.DefaultAccountKept(name=name):
            return t("error_default_account", name=_short(name))
        case errors.InvalidName(name=name) if name.strip():
            return t("error_invalid_name", name=_short(name))
        case errors.InvalidName():
            return t("error_blank_name")
        case errors.SameAccountTransfer():
            return t("error_same_account")
        case errors.WrongCategoryKind():
            return t("error_wrong_kind")
        case errors.AmountMustBePositive():
            return t("parse_amount_not_positive")
        case errors.AmountTooLarge():
            return t("parse_amount_too_large")
        case errors.CurrencyMismatch() | errors.SingleCurrencyPerTransaction():
            return t("error_currency")
        case errors.UnknownCurrency(code=code):
            return t("error_unknown_currency", code=_short(code) or "?")
        case errors.NotAMember():
            return t("error_not_member")
        case errors.NoRate(currency=currency):
            return t("error_no_rate", currency=_short(currency))
        case errors.NotPayableFrom(account=account, account_currency=held, base=base):
            return t("error_not_payable", account=_short(account), account_currency=held, base=base)
        case errors.ReceivedAmountNeeded(amount=amount, source=source, target=target):
            return t(
                "error_received_needed",
                amount=typed_amount(amount, t.language),
                source=_short(source),
                target=_short(target),
            )
        case errors.SplitNeedsTwo():
            return t("error_split_needs_two")
        case errors.NotTheDebtor():
            return t("error_not_the_debtor")
        case errors.SettlementChanged():
            return t("error_settlement_changed")
        case errors.NoAccountToSettle(currency=currency):
            return t("error_no_account_to_settle", currency=currency)
    return t("error_refused")


def budget_alert_text(
    alert: BudgetAlert, category: Account | None, t: Translator, *, this_month: date
) -> str:
    """A backdated expense crosses its own month's budget, and the alert says which."""
    name = account_label(category, t) if category is not None else t("budget_total")
    percent = alert.spent.amount_minor * 100 // alert.limit.amount_minor
    spent, limit = format_money(alert.spent, t.language), format_money(alert.limit, t.language)
    if alert.month is None or alert.month == this_month:
        return t("budget_alert", category=name, spent=spent, limit=limit, percent=percent)
    month = f"{t.month(alert.month.month)} {alert.month.year}"
    return t(
        "budget_alert_month", category=name, spent=spent, limit=limit, percent=percent, month=month
    )


def split_message(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> list[str]:
    """Telegram refuses texts over 4096 characters: cut at line ends, or hard if must."""
    parts: list[str] = []
    current = ""
    for line in text.split("\n"):
        rest = line
        while len(rest) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(rest[:limit])
            rest = rest[limit:]
        candidate = f"{current}\n{rest}" if current else rest
        if len(candidate) > limit:
            parts.append(current)
            current = rest
        else:
            current = candidate
    if current or not parts:
        parts.append(current or "…")
    return parts


def fit(text: str, limit: int = TELEGRAM_TEXT_LIMIT) -> str:
    """One message's text within limit: an edit or a pop-up cannot be split in two.

    The last line is what an edit appends (an undo's outcome), so it is kept whole when it
    can be and the text before it is cut with an ellipsis.
    """
    if len(text) <= limit:
        return text
    head, newline, last = text.rpartition("\n")
    if newline and len(last) <= limit // 2:
        return head[: limit - len(last) - 2] + "…\n" + last
    return text[: limit - 1] + "…"


def short(text: str) -> str:
    """At most a few dozen characters of what a person typed, for quoting it back."""
    return _short(text)


def _short(text: str) -> str:
    return text if len(text) <= _DETAIL_LIMIT else text[: _DETAIL_LIMIT - 1] + "…"
