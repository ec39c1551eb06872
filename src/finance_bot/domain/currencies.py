"""Currencies: their scales from ISO 4217, their display symbols, and the words people type.

The ISO 4217 table comes from the ``iso4217`` package, pinned, so a new edition of the
standard arrives as a reviewed dependency update. Codes whose minor unit is "N.A." (gold
XAU, the SDR XDR, the test code XTS, "no currency" XXX…) count no money here: they are
unknown, like codes the standard does not list.

Reading a currency from chat (:func:`read_currency`) is deliberately narrow, so a note
word is never taken for money:

- a symbol (``$``, ``€``, ``₴``, ``zł``…), exactly as written;
- any all-uppercase ISO code (``CHF``, ``TOP``); "KFC" is no code and stays a word;
- a curated list of lowercase codes (``usd``, ``eur``, ``uah``…), leaving out those that
  are also English words (``cup``, ``all``, ``top``, ``try``, ``gel``, ``mad``, ``mop``,
  ``rub``…);
- currency words in Russian, Ukrainian and English with their usual inflections and
  abbreviations (``долларов``, ``долл.``, ``грн``, ``гривень``, ``euros``, ``zloty``…),
  compared case-insensitively with ё = е; one trailing "." is allowed (``грн.``).

A word that names several currencies (``¥``: JPY or CNY; ``kr``; ``руб``/``рублей``: RUB or
BYN; ``лей``: MDL or RON…) is :class:`Ambiguous`: the parser asks for the code instead of
guessing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from iso4217 import Currency

from finance_bot.domain.accounts import normalize_name
from finance_bot.domain.errors import UnknownCurrency

__all__ = ["SCALES", "Ambiguous", "is_known", "read_currency", "read_symbol", "scale", "symbol"]

#: Every ISO 4217 currency that counts money, with its number of decimals (JPY 0, KWD 3).
SCALES: Final[Mapping[str, int]] = MappingProxyType(
    {c.code: c.exponent for c in Currency if c.exponent is not None}
)


@dataclass(frozen=True, slots=True)
class Ambiguous:
    """A currency word or symbol that names more than one currency: ask, do not guess."""

    candidates: tuple[str, ...]  # ISO codes, most likely first


def scale(code: str) -> int:
    """Digits after the decimal point; ``UnknownCurrency`` for a code that counts no money."""
    try:
        return SCALES[code]
    except KeyError:
        raise UnknownCurrency(code) from None


def is_known(code: str) -> bool:
    return code in SCALES


# The same symbols the replies print (adapters/telegram/formatting.py), so what the bot
# writes reads back as the same currency, except "¥", which names two.
_DISPLAY: Final[Mapping[str, str]] = MappingProxyType({
    "UAH": "₴", "USD": "$", "EUR": "€", "GBP": "£", "PLN": "zł", "JPY": "¥", "CNY": "¥",
    "ILS": "₪", "KRW": "₩", "INR": "₹", "TRY": "₺", "GEL": "₾", "KZT": "₸", "RUB": "₽",
})  # fmt: skip


def symbol(code: str) -> str:
    """How an amount in ``code`` is marked for display: its symbol, else the code itself."""
    return _DISPLAY.get(code, code)


_RUB_BYN: Final = Ambiguous(("RUB", "BYN"))
_KRONA: Final = Ambiguous(("CZK", "SEK", "NOK", "DKK", "ISK"))
_KR: Final = Ambiguous(("SEK", "NOK", "DKK", "ISK"))
_LEU: Final = Ambiguous(("MDL", "RON"))

# Signs that may stand before the number too ("$20", "€ 15"), matched exactly as written.
_SYMBOLS: Final[Mapping[str, str | Ambiguous]] = MappingProxyType({
    "$": "USD", "US$": "USD", "€": "EUR", "₴": "UAH", "£": "GBP", "₽": "RUB", "₸": "KZT",
    "₾": "GEL", "₺": "TRY", "₪": "ILS", "₹": "INR", "₩": "KRW", "₼": "AZN", "֏": "AMD",
    "฿": "THB", "₫": "VND", "₱": "PHP", "₦": "NGN", "₮": "MNT", "₲": "PYG", "₵": "GHS",
    "₡": "CRC", "₭": "LAK", "৳": "BDT", "円": "JPY", "元": "CNY", "C$": "CAD", "CA$": "CAD",
    "A$": "AUD", "AU$": "AUD", "NZ$": "NZD", "HK$": "HKD", "S$": "SGD", "NT$": "TWD",
    "R$": "BRL", "MX$": "MXN", "zł": "PLN", "Kč": "CZK",
    "¥": Ambiguous(("JPY", "CNY")),
})  # fmt: skip

# Lowercase codes that are no English word ("cup", "all", "top", "try", "gel", "mad",
# "mop", "rub"… are, and stay words in lowercase).
_LOWERCASE_CODES: Final = frozenset({
    "usd", "eur", "uah", "gbp", "pln", "chf", "czk", "sek", "nok", "dkk", "huf", "mdl", "kzt",
    "byn", "cad", "aud", "nzd", "hkd", "sgd", "jpy", "cny", "krw", "inr", "ils", "isk", "thb",
    "vnd", "idr", "myr", "brl", "mxn", "zar", "aed", "azn", "uzs", "tjs", "egp", "rsd",
})  # fmt: skip


# Normalized (case-folded, ё = е) words after a number: ru, uk and en, with inflections.
_INFLECTED: Final[tuple[tuple[str | Ambiguous, str], ...]] = (
    (
        "USD",
        "доллар доллара долларов доллары долларах долл дол бакс бакса баксов баксы "
        "долар долара доларів долари dollar dollars buck bucks",
    ),
    ("EUR", "евро євро euro euros еврик евриков"),
    (
        "UAH",
        "грн гривна гривны гривен гривну гривня гривні гривень гривню "
        "hryvnia hryvnias hryvnya hryvna",
    ),
    ("PLN", "злотый злотых злотого злотые злотий злотих злоті zloty zlotys zlotych zł"),
    ("GBP", "фунт фунта фунтов фунты фунтів pound pounds quid"),
    ("CHF", "франк франка франков франки франків franc francs"),
    ("KZT", "тенге tenge"),
    ("GEL", "лари lari"),
    ("TRY", "лира лиры лир ліра ліри лір lira liras"),
    ("ILS", "шекель шекеля шекелей шекелі шекелів shekel shekels"),
    ("JPY", "иена иены иен йена йены йен єна єни єн yen"),
    ("CNY", "юань юаня юаней юані юанів yuan rmb"),
    ("HUF", "форинт форинта форинтов форинти форинтів forint forints"),
    ("AMD", "драм драмов"),
    ("CZK", "kč"),
    (_RUB_BYN, "р руб рубль рубля рублей рубли рублі рублів ruble rubles rouble roubles"),
    (_KR, "kr"),
    (_KRONA, "крона кроны крон крони"),
    (_LEU, "лей лея леев леи lei leu"),
    (Ambiguous(("AZN", "TMT")), "манат маната манатов"),
)


def _words() -> dict[str, str | Ambiguous]:
    table: dict[str, str | Ambiguous] = {code: code.upper() for code in _LOWERCASE_CODES}
    for currency, words in _INFLECTED:
        table.update(dict.fromkeys(words.split(), currency))
    return table


_WORDS: Final[Mapping[str, str | Ambiguous]] = MappingProxyType(_words())


def read_symbol(token: str) -> str | Ambiguous | None:
    """The currency of a sign that may also stand before the number ("$", "€", "US$")."""
    return _SYMBOLS.get(token)


def read_currency(token: str) -> str | Ambiguous | None:
    """The ISO code ``token`` names, ``Ambiguous`` when it names several, else None."""
    if not token or token.isspace():
        return None
    found = read_symbol(token)
    if found is not None:
        return found
    if len(token) == 3 and token.isascii() and token.isupper() and is_known(token):
        return token
    word = normalize_name(token)
    if word.endswith(".") and len(word) > 1:  # "грн.", "долл.", "р."
        word = word[:-1]
    return _WORDS.get(word)
