"""Which chat an update belongs to: the unit whose updates are handled in order.

Updates of one chat are handled one after another, in update_id order, in both modes
(docs/adr/0020): a correction must meet the entry it corrects, an Undo the entry it undoes.
Updates of different chats share nothing that needs an order, so they may run at once.
"""

from __future__ import annotations

from aiogram.types import Update


def chat_key(update: Update) -> str:
    """The chat an update is about; an update that names no chat is a sequence of its own."""
    for message in (update.message, update.edited_message):
        if message is not None:
            return f"chat:{message.chat.id}"
    query = update.callback_query
    if query is not None:
        if query.message is not None:
            return f"chat:{query.message.chat.id}"
        return f"user:{query.from_user.id}"
    return f"update:{update.update_id}"
