"""Rule-named errors: each one says which ledger rule a request would break."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from finance_bot.domain.money import Money


class LedgerRuleViolation(Exception):
    """A request that the ledger's rules refuse; nothing has been written."""


class CurrencyMismatch(LedgerRuleViolation):
    def __init__(self, left: str, right: str) -> None:
        super().__init__(f"cannot combine {left} with {right}")
        self.left = left
        self.right = right


class UnknownCurrency(LedgerRuleViolation):
    def __init__(self, code: str) -> None:
        super().__init__(f"unknown currency {code!r}")
        self.code = code


class AmountMustBePositive(LedgerRuleViolation):
    pass


class AmountTooLarge(LedgerRuleViolation):
    pass


class PostingsMustBalance(LedgerRuleViolation):
    pass


class TransactionNeedsTwoPostings(LedgerRuleViolation):
    pass


class SingleCurrencyPerTransaction(LedgerRuleViolation):
    pass


class ConversionDoesNotFit(LedgerRuleViolation):
    """A conversion whose currencies, amounts or rate do not agree with each other or with
    its transaction's postings."""


class TransactionNotFound(LedgerRuleViolation):
    def __init__(self, number: int | None = None) -> None:
        super().__init__(f"no transaction #{number}" if number is not None else "no transaction")
        self.number = number


class AlreadyVoided(LedgerRuleViolation):
    def __init__(self, number: int) -> None:
        super().__init__(f"transaction #{number} is already voided")
        self.number = number


class ReversalCannotBeVoided(LedgerRuleViolation):
    def __init__(self, number: int) -> None:
        super().__init__(f"transaction #{number} is a reversal and cannot be voided")
        self.number = number


class NotTheAuthor(LedgerRuleViolation):
    def __init__(self, number: int) -> None:
        super().__init__(f"transaction #{number} was recorded by someone else")
        self.number = number


class NothingToUndo(LedgerRuleViolation):
    pass


class NotAMember(LedgerRuleViolation):
    def __init__(self, telegram_id: int) -> None:
        super().__init__(f"{telegram_id} is not a member of the household")
        self.telegram_id = telegram_id


class UnknownAccount(LedgerRuleViolation):
    def __init__(self, name: str) -> None:
        super().__init__(f"no account {name!r}")
        self.name = name


class UnknownCategory(LedgerRuleViolation):
    def __init__(self, name: str) -> None:
        super().__init__(f"no category {name!r}")
        self.name = name


class NameAlreadyTaken(LedgerRuleViolation):
    def __init__(self, name: str, *, holder: str | None = None) -> None:
        super().__init__(f"the name {name!r} is already taken")
        self.name = name
        self.holder = holder  # the category or account the word names now, if known


class InvalidName(LedgerRuleViolation):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} cannot be used as a name")
        self.name = name


class DefaultAccountKept(InvalidName):
    """The default account cannot be archived: lines without an account need it."""


class AccountArchived(LedgerRuleViolation):
    def __init__(self, name: str) -> None:
        super().__init__(f"account {name!r} is archived")
        self.name = name


class WrongCategoryKind(LedgerRuleViolation):
    def __init__(self, name: str) -> None:
        super().__init__(f"{name!r} is not a category of that kind")
        self.name = name


class SameAccountTransfer(LedgerRuleViolation):
    pass


class NoRate(LedgerRuleViolation):
    """Money in a currency the household has no rate for could not be converted."""

    def __init__(self, currency: str) -> None:
        super().__init__(f"no rate known for {currency}")
        self.currency = currency


class NotPayableFrom(LedgerRuleViolation):
    """An amount in one foreign currency from an account in another: which rate between
    the two would be a guess, so the person says the amount in the account's currency or
    in the base one."""

    def __init__(self, currency: str, account: str, account_currency: str, base: str) -> None:
        super().__init__(f"{currency} cannot be paid from {account!r} in {account_currency}")
        self.currency = currency
        self.account = account
        self.account_currency = account_currency
        self.base = base


class ReceivedAmountNeeded(LedgerRuleViolation):
    """An exchange between currencies with no rate known: what arrived must be said."""

    def __init__(self, amount: Money, source: str, target: str) -> None:
        super().__init__(f"how much arrived on {target!r}?")
        self.amount = amount
        self.source = source
        self.target = target


class SplitNeedsTwo(LedgerRuleViolation):
    """`/split` sets the shares of a two-person household; others share equally."""

    def __init__(self, members: int) -> None:
        super().__init__(f"a split needs a household of two, this one has {members}")
        self.members = members


class NotTheDebtor(LedgerRuleViolation):
    """Only the one who owes may settle: the money leaves their account."""

    def __init__(self, debtor: int) -> None:
        super().__init__("only the debtor may settle up")
        self.debtor = debtor


class SettlementChanged(LedgerRuleViolation):
    """The books moved since the button was shown: the debt it names is no longer owed."""


class NoAccountToSettle(LedgerRuleViolation):
    """A person has no own live account in the base currency to settle from or into."""

    def __init__(self, telegram_id: int, currency: str) -> None:
        super().__init__(f"no own account in {currency} to settle with")
        self.telegram_id = telegram_id
        self.currency = currency
