"""At INFO and above, logs carry ids and codes, never amounts, texts or names."""

from __future__ import annotations

import json
import logging
import sys

from finance_bot.adapters.observability.logs import MASK, JsonFormatter


def _format(level: int, message: str, *args: object, exc: bool = False, **extra: object) -> dict:
    record = logging.LogRecord("finance_bot.test", level, __file__, 1, message, args, None)
    if exc:
        try:
            raise ValueError("unbalanced by 250 кафе")
        except ValueError:
            record.exc_info = sys.exc_info()
    record.__dict__.update(extra)
    return json.loads(JsonFormatter().format(record))  # type: ignore[no-any-return]


def test_info_keeps_safe_fields_and_masks_the_rest() -> None:
    entry = _format(logging.INFO, "update handled", update_id=7, text="250 кафе", person="Маша")
    assert entry["message"] == "update handled"
    assert entry["update_id"] == 7
    assert entry["text"] == MASK
    assert entry["person"] == MASK


def test_info_masks_interpolated_arguments() -> None:
    entry = _format(logging.WARNING, "amount %s for %s", 250, "кафе")
    del entry["time"]  # its milliseconds may well read 250
    assert "250" not in json.dumps(entry, ensure_ascii=False)
    assert "кафе" not in json.dumps(entry, ensure_ascii=False)


def test_exceptions_keep_type_and_frames_but_not_their_message() -> None:
    entry = _format(logging.ERROR, "update failed", exc=True)
    assert entry["exception"] == "ValueError"
    assert entry["stack"]
    assert "кафе" not in json.dumps(entry, ensure_ascii=False)


def test_debug_shows_everything() -> None:
    entry = _format(logging.DEBUG, "line %s", "250 кафе", text="250 кафе", exc=True)
    assert entry["message"] == "line 250 кафе"
    assert entry["text"] == "250 кафе"
    assert "кафе" in entry["exception_message"]
