"""A household that spends and earns in several currencies, built straight from the domain
builders and stored through the ledger repository: the same month for the in-memory fakes
and for PostgreSQL, so both tiers check one set of hand-computed figures.

November 2026, base currency UAH:

    #1 Alice  cafe   250,00 ₴ from the card
    #2 Alice  cafe    20,00 € from the card, at 45,65      ->   913,00 ₴
    #3 Bob    cafe    15,00 $ from «доллары», at 41,50      ->   622,50 ₴
    #4 Alice  taxi    12,34 $ from «доллары», at 41,37      ->   510,51 ₴ (510,5058)
    #5 Alice  cafe    30,00 € from «евро», at 45,00         -> 1 350,00 ₴, voided (#6)
    #7 Bob    taxi   100,00 ₴ from the card
    #8 Alice  salary 500,00 $ into «доллары», at 41,20      -> 20 600,00 ₴
    and in October, #9 Alice cafe 10,00 $ from the card at 41,00 -> 410,00 ₴
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from finance_bot.domain.accounts import AccountType
from finance_bot.domain.money import Money
from finance_bot.domain.transactions import Conversion, Transaction, expense, income
from tests.support.household import Household

NOVEMBER = date(2026, 11, 1)
TODAY = date(2026, 11, 20)


def money(major: str, currency: str) -> Money:
    return Money.from_decimal(Decimal(major), currency)


async def add_account(
    home: Household,
    name: str,
    currency: str,
    *,
    owner: int | None = None,
    type: AccountType = AccountType.ASSET,
) -> int:
    async with home.factory() as uow:
        account = await uow.directory.add_account(
            household_id=home.id,
            type=type,
            name=name,
            currency=currency,
            owner_telegram_id=owner,
        )
        await uow.commit()
        return account.id


async def _through(home: Household, *currencies: str) -> dict[str, int]:
    async with home.factory() as uow:
        found = await uow.directory.conversion_accounts(home.id, list(currencies))
        await uow.commit()
        return found


async def spend_foreign(
    home: Household,
    typed: Money,
    rate: str,
    code: str,
    *,
    account_id: int | None = None,
    author: int = 0,
    on: date = NOVEMBER,
) -> Transaction:
    """`typed` in a foreign currency, for category `code`, paid from the card (the price
    converted, the card pays in hryvnias) or from `account_id` in the typed currency."""
    conversion = Conversion.at_rate(typed, Decimal(rate), "UAH")
    through = await _through(home, typed.currency, "UAH")
    spent = expense(
        id=home.ids.new_id(),
        household_id=home.id,
        author_telegram_id=author or home.alice,
        booked_on=on,
        amount=conversion.target,
        account_id=account_id or home.accounts["card"].id,
        category_id=home.accounts[code].id,
        conversion=conversion,
        paid=typed if account_id else None,
        conversion_accounts=through,
    )
    await home.add(spent)
    return spent


async def earn_foreign(
    home: Household,
    typed: Money,
    rate: str,
    account_id: int,
    *,
    code: str = "salary",
    author: int = 0,
    on: date = NOVEMBER,
) -> Transaction:
    conversion = Conversion.at_rate(typed, Decimal(rate), "UAH")
    through = await _through(home, typed.currency, "UAH")
    earned = income(
        id=home.ids.new_id(),
        household_id=home.id,
        author_telegram_id=author or home.alice,
        booked_on=on,
        amount=conversion.target,
        account_id=account_id,
        category_id=home.accounts[code].id,
        received=typed,
        conversion=conversion,
        conversion_accounts=through,
    )
    await home.add(earned)
    return earned


@dataclass(frozen=True)
class Month:
    dollars: int  # shared, USD
    euros: int  # Alice's, EUR


async def foreign_month(home: Household) -> Month:
    dollars = await add_account(home, "доллары", "USD")
    euros = await add_account(home, "евро", "EUR", owner=home.alice)
    await home.add(home.expense(250, "cafe", on=date(2026, 11, 2)))
    await spend_foreign(home, money("20", "EUR"), "45.65", "cafe", on=date(2026, 11, 3))
    await spend_foreign(
        home,
        money("15", "USD"),
        "41.50",
        "cafe",
        account_id=dollars,
        author=home.bob,
        on=date(2026, 11, 4),
    )
    await spend_foreign(
        home, money("12.34", "USD"), "41.37", "taxi", account_id=dollars, on=date(2026, 11, 5)
    )
    await spend_foreign(
        home, money("30", "EUR"), "45.00", "cafe", account_id=euros, on=date(2026, 11, 6)
    )
    await home.void(5)
    await home.add(home.expense(100, "taxi", author=home.bob, on=date(2026, 11, 7)))
    await earn_foreign(home, money("500", "USD"), "41.20", dollars, on=date(2026, 11, 10))
    await spend_foreign(home, money("10", "USD"), "41.00", "cafe", on=date(2026, 10, 31))
    return Month(dollars, euros)
