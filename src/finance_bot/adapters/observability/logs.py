"""JSON logs that keep the household's secrets.

At INFO and above a record carries only its message (a fixed string in our code), the
logger name, and `extra` fields whose names are on an allowlist of ids and codes; anything
else — amounts, message text, names of categories, accounts and people — is masked.
Exceptions keep their type and stack frames but not their message, which may quote data.
DEBUG shows everything, for a developer's own machine.
"""

from __future__ import annotations

import json
import logging
import traceback
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Final

SAFE_FIELDS: Final = frozenset(
    {
        "update_id",
        "telegram_id",
        "error",
        "retry_after",
        "version",
        "attempt",
        "status",
        "method",
        "seconds",
        "violations",
        "outcome",
        "kind",
        "path",
        "port",
        "base_url",  # the Bot API's address, without credentials or token (polling.public_url)
        "rates_day",  # which day's official rates, and how many: never a rate
        "currencies",
    }
)
MASK: Final = "***"
_STANDARD: Final = frozenset(logging.LogRecord("", 0, "", 0, "", None, None).__dict__) | {
    "message",
    "asctime",
}


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        reveal = record.levelno < logging.INFO
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage() if reveal else str(record.msg),
        }
        for key, value in record.__dict__.items():
            if key in _STANDARD or key.startswith("_"):
                continue
            entry[key] = value if reveal or key in SAFE_FIELDS else MASK
        if not reveal and record.args:
            entry["message"] = f"{record.msg} {MASK}"
        if record.exc_info and record.exc_info[0] is not None:
            kind, error, trace = record.exc_info
            entry["exception"] = kind.__name__
            frames = traceback.extract_tb(trace)
            entry["stack"] = [f"{f.filename}:{f.lineno} {f.name}" for f in frames]
            if reveal:
                entry["exception_message"] = str(error)
        return json.dumps(entry, ensure_ascii=False, default=str)


def configure_logging(level: str, *, file: Path | None = None) -> None:
    """Log to standard error, or append to `file` when given (the sandbox keeps the terminal
    for the chat)."""
    handler: logging.Handler
    if file is None:
        handler = logging.StreamHandler()
    else:
        file.parent.mkdir(parents=True, exist_ok=True)
        handler = logging.FileHandler(file, encoding="utf-8")
    handler.setFormatter(JsonFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiogram's own INFO lines name no user data, but its event log is chatty.
    logging.getLogger("aiogram.event").setLevel(max(logging.WARNING, root.level))
