"""Message catalogues: every user-visible text, in Russian and English, from TOML files."""

from __future__ import annotations

import string
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

from finance_bot.domain.languages import LANGUAGES

# Telegram language codes answered in Russian; everything else gets English.
_RUSSIAN_SPEAKING = frozenset({"ru", "uk", "be"})


def resolve_language(chosen: str | None, telegram_code: str | None, fallback: str) -> str:
    """A person's language: their /lang choice, else Telegram's code, else BOT_LANGUAGE."""
    if chosen in LANGUAGES:
        return chosen
    if telegram_code:
        return "ru" if telegram_code.split("-")[0].lower() in _RUSSIAN_SPEAKING else "en"
    return fallback


class Catalog:
    def __init__(self, entries: dict[str, dict[str, Any]]) -> None:
        self._entries = entries

    @classmethod
    def load(cls) -> Catalog:
        folder = resources.files("finance_bot.adapters.telegram") / "locales"
        return cls(
            {
                language: tomllib.loads((folder / f"{language}.toml").read_text(encoding="utf-8"))
                for language in LANGUAGES
            }
        )

    def keys(self, language: str) -> set[str]:
        return set(self._entries[language])

    def raw(self, language: str, key: str) -> Any:
        return self._entries[language][key]

    def translator(self, language: str) -> Translator:
        return Translator(self, language)


@dataclass(frozen=True, slots=True)
class Translator:
    """The catalogue bound to one person's language."""

    catalog: Catalog
    language: str

    def __call__(self, key: str, **params: object) -> str:
        template: str = self.catalog.raw(self.language, key)
        return template.format(**params) if params else template

    def month(self, month: int) -> str:
        names: list[str] = self.catalog.raw(self.language, "months")
        return names[month - 1]


def placeholders(template: str) -> set[str]:
    return {field for _, field, _, _ in string.Formatter().parse(template) if field}
