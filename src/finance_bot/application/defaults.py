"""What a new household and a new person start with (docs/product.md §4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from finance_bot.domain.accounts import AccountType


@dataclass(frozen=True, slots=True)
class DefaultAccount:
    code: str
    type: AccountType
    names: dict[str, str]  # language -> display name
    aliases: tuple[str, ...] = ()

    def name(self, language: str) -> str:
        return self.names.get(language, self.names["en"])


OTHER_EXPENSE: Final = "other"
OTHER_INCOME: Final = "other_income"
# Where a line goes when no word names its category: one per kind.
OTHER_CATEGORY_CODES: Final = (OTHER_EXPENSE, OTHER_INCOME)

_E = AccountType.EXPENSE
_I = AccountType.INCOME

DEFAULT_CATEGORIES: Final[tuple[DefaultAccount, ...]] = (
    DefaultAccount("products", _E, {"ru": "продукты", "en": "groceries"},
                   ("продукты", "еда", "супермаркет", "products", "groceries", "food")),
    DefaultAccount("cafe", _E, {"ru": "кафе", "en": "cafe"},
                   ("кафе", "ресторан", "cafe", "restaurant")),
    DefaultAccount("coffee", _E, {"ru": "кофе", "en": "coffee"}, ("кофе", "coffee")),
    DefaultAccount("lunch", _E, {"ru": "обед", "en": "lunch"},
                   ("обед", "ланч", "бизнес ланч", "lunch", "business lunch")),
    DefaultAccount("transport", _E, {"ru": "транспорт", "en": "transport"},
                   ("транспорт", "метро", "автобус", "проезд", "transport", "metro", "bus")),
    DefaultAccount("taxi", _E, {"ru": "такси", "en": "taxi"}, ("такси", "taxi", "uber")),
    DefaultAccount("phone", _E, {"ru": "связь", "en": "phone"},
                   ("связь", "телефон", "мобильный", "phone", "mobile")),
    DefaultAccount("internet", _E, {"ru": "интернет", "en": "internet"},
                   ("интернет", "internet")),
    DefaultAccount("subscriptions", _E, {"ru": "подписки", "en": "subscriptions"},
                   ("подписки", "подписка", "subscriptions", "subscription")),
    DefaultAccount("housing", _E, {"ru": "жильё", "en": "housing"},
                   ("жилье", "квартира", "аренда", "коммуналка", "housing", "rent", "utilities")),
    DefaultAccount("health", _E, {"ru": "здоровье", "en": "health"},
                   ("здоровье", "аптека", "врач", "лекарства", "health", "pharmacy", "doctor")),
    DefaultAccount("clothes", _E, {"ru": "одежда", "en": "clothes"},
                   ("одежда", "обувь", "clothes", "shoes")),
    DefaultAccount("entertainment", _E, {"ru": "развлечения", "en": "entertainment"},
                   ("развлечения", "кино", "entertainment", "fun", "cinema")),
    DefaultAccount("gifts", _E, {"ru": "подарки", "en": "gifts"},
                   ("подарки", "подарок", "gifts", "gift")),
    DefaultAccount(OTHER_EXPENSE, _E, {"ru": "прочее", "en": "other"},
                   ("прочее", "другое", "other", "misc")),
    DefaultAccount("salary", _I, {"ru": "зарплата", "en": "salary"},
                   ("зарплата", "зп", "salary", "wage")),
    DefaultAccount("gift_income", _I, {"ru": "подарок", "en": "gift"},
                   ("подарок", "подарки", "gift", "gifts")),
    DefaultAccount(OTHER_INCOME, _I, {"ru": "прочий доход", "en": "other income"},
                   ("прочий доход", "доход", "other income", "income")),
)  # fmt: skip

DEFAULT_ACCOUNTS: Final[tuple[DefaultAccount, ...]] = (
    DefaultAccount("card", AccountType.ASSET, {"ru": "карта", "en": "card"}, ("карта", "card")),
    DefaultAccount("cash", AccountType.ASSET, {"ru": "наличные", "en": "cash"},
                   ("наличные", "нал", "cash")),
)  # fmt: skip
DEFAULT_ACCOUNT_CODE: Final = "card"
