"""Every string of an update made storable before anything reads it.

PostgreSQL text cannot hold NUL, and a lone UTF-16 surrogate (JSON may carry "\\ud800")
cannot be encoded to UTF-8 at all. Either one in a name, a language code, a caption or
callback data would make the first write that stores it fail. No person means to type
them, so NUL is dropped and a lone surrogate becomes U+FFFD, in every string of the update
at once: no field can be forgotten.
"""

from __future__ import annotations

import re
from typing import Any, TypeVar

from pydantic import BaseModel

_NOT_STORABLE = re.compile("[\x00\ud800-\udfff]")
_SURROGATES = dict.fromkeys(range(0xD800, 0xE000), "\ufffd")
_Model = TypeVar("_Model", bound=BaseModel)


def clean_text(text: str) -> str:
    if _NOT_STORABLE.search(text) is None:
        return text
    return text.replace("\x00", "").translate(_SURROGATES)


def cleaned(model: _Model) -> _Model:
    """The same object when nothing needed cleaning, else a copy with every string cleaned."""
    result: _Model = _clean(model)
    return result


def _clean(value: Any) -> Any:
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, BaseModel):
        changes = {}
        # Only what the update carried: a field it left out holds its default, which is
        # never text from outside (a message has some 80 fields and sets a handful).
        for name in value.model_fields_set:
            field = getattr(value, name)
            fixed = _clean(field)
            if fixed is not field:
                changes[name] = fixed
        return value.model_copy(update=changes) if changes else value
    if isinstance(value, list | tuple):
        items = [_clean(item) for item in value]
        if all(new is old for new, old in zip(items, value, strict=True)):
            return value
        return type(value)(items)
    if isinstance(value, dict):
        fixed_items = {_clean(key): _clean(item) for key, item in value.items()}
        unchanged = all(key in value and value[key] is item for key, item in fixed_items.items())
        return value if unchanged and len(fixed_items) == len(value) else fixed_items
    return value
