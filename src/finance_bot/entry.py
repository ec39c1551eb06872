"""The process entry point: imports aiogram the lean way before anything else does."""

from __future__ import annotations

import sys
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    from finance_bot.adapters.telegram.lean_import import import_aiogram_lean

    import_aiogram_lean()  # must come before any module that imports aiogram
    from finance_bot.cli import main as cli_main

    return cli_main(argv)


if __name__ == "__main__":
    sys.exit(main())
