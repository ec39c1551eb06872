"""The languages the bot speaks.

Every Python list of languages comes from here; the members table's CHECK in migration
0001 spells the same list, and tests/integration/test_migrations.py holds the two together.
"""

from __future__ import annotations

from typing import Final, Literal, get_args

Language = Literal["ru", "en"]
LANGUAGES: Final[tuple[Language, ...]] = get_args(Language)
