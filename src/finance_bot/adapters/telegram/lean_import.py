"""Importing aiogram without building every one of its ~600 pydantic models up front.

aiogram's `types/__init__.py` ends by calling `model_rebuild()` on every type, which
builds a complete validator per type (aiogram issue #1513) and costs ~120 MB before the
bot has handled a single update. The models already defer their build, so skipping that
loop lets pydantic build each model on first use; giving every aiogram model the names of
all aiogram types as its namespace lets those deferred builds resolve forward references.
The bot then builds the few models it actually uses when it starts (`warm_up`), so the
first message is as quick as the rest. Guarded by tests/unit/test_lean_import.py, which
fails if an aiogram or pydantic upgrade breaks it.
"""

from __future__ import annotations

import sys
from typing import Any, Literal, Optional, Union

import pydantic

_REBUILD = "model_rebuild"
_PARENT_NAMESPACE = "__pydantic_parent_namespace__"


def import_aiogram_lean() -> bool:
    """Import aiogram the lean way; False when it was imported already (nothing to do)."""
    if "aiogram" in sys.modules:
        return False
    original: Any = pydantic.BaseModel.__dict__[_REBUILD]
    rebuild: Any = original.__func__

    def skip_aiogram_bulk_rebuild(cls: Any, /, **kwargs: Any) -> Any:
        if set(kwargs) == {"_types_namespace"} and cls.__module__.startswith("aiogram."):
            return None
        return rebuild(cls, **kwargs)

    setattr(pydantic.BaseModel, _REBUILD, classmethod(skip_aiogram_bulk_rebuild))
    try:
        from aiogram import methods, types
        from aiogram.client.default import Default
    finally:
        setattr(pydantic.BaseModel, _REBUILD, original)
    namespace: dict[str, Any] = {
        "List": list,
        "Optional": Optional,
        "Union": Union,
        "Literal": Literal,
        "Default": Default,
    }
    for module in (types, methods):
        namespace.update({name: getattr(module, name) for name in module.__all__})
    for model in _subclasses(pydantic.BaseModel):
        if model.__module__.startswith("aiogram."):
            # the namespace pydantic resolves a deferred model's annotations in
            setattr(model, _PARENT_NAMESPACE, namespace)
    return True


def warm_up() -> None:
    """Build the models every update and reply goes through, before polling starts."""
    from aiogram import methods, types

    for model in (
        types.Update,
        types.Message,
        types.CallbackQuery,
        types.User,
        types.Chat,
        types.InlineKeyboardMarkup,
        types.BotCommand,
        methods.GetUpdates,
        methods.SendMessage,
        methods.EditMessageText,
        methods.EditMessageReplyMarkup,
        methods.AnswerCallbackQuery,
        methods.DeleteWebhook,
        methods.SetMyCommands,
        methods.GetMe,
    ):
        model.model_rebuild()


def _subclasses(root: type) -> list[type]:
    found: list[type] = []
    pending: list[type] = [root]
    while pending:
        child: type
        for child in pending.pop().__subclasses__():
            if child not in found:
                found.append(child)
                pending.append(child)
    return found
