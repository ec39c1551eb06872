"""An update's last reply carried in the webhook's answer (docs/adr/0026).

Telegram lets a webhook answer an update with one Bot API call: the body of the 200 names
the method and its parameters, and Telegram makes the call. Nobody learns whether it
succeeded, nor its result. So what may travel there is a send whose result nobody reads:
a reply sent with `replies.reply_text`, which returns nothing. It saves the bot an HTTP
request of its own (building the form, the round trip, reading the answer) per update, and
the reply now travels with the acknowledgement: lost with it, it comes again with the
redelivery, which the update's idempotency key turns into the stored answer.

While the webhook handles an update, the update has an `Outbox` (a context variable, so
only that update's own code sees it). A reply is held there rather than sent; the next
request of the update, whatever its method, sends the held reply first, so the messages
keep the order in which they were made. When the update ends, the reply still held is
the answer's body — on a 200 only: a 503 asks Telegram for a retry, which answers for
itself, and carries no call. Polling has no outbox: there every reply is sent at once.
"""

from __future__ import annotations

import contextvars
import json
from typing import Any

from aiogram import Bot
from aiogram.client.session.middlewares.base import BaseRequestMiddleware, NextRequestMiddlewareType
from aiogram.methods import SendMessage, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InputFile

CONTENT_TYPE = "application/json"


class Outbox:
    """The reply of one update held back for the webhook's answer: at most one at a time."""

    def __init__(self) -> None:
        self._held: SendMessage | None = None
        self._open = True

    async def hold(self, bot: Bot, method: SendMessage) -> None:
        """Hold method; one held already is sent first. Once the update ended (a task it
        started may outlive it), method is sent at once."""
        if not self._open:
            await bot(method)
            return
        previous, self._held = self._held, None
        if previous is not None:
            await bot(previous)
        self._held = method

    @property
    def open(self) -> bool:
        return self._open

    def take(self) -> SendMessage | None:
        held, self._held = self._held, None
        return held

    def close(self) -> SendMessage | None:
        """The update ended: what is still held, which is no longer sent by anyone else."""
        self._open = False
        return self.take()


_outbox: contextvars.ContextVar[Outbox | None] = contextvars.ContextVar("outbox", default=None)


def open_outbox() -> tuple[Outbox, contextvars.Token[Outbox | None]]:
    """An outbox for the update handled in this context (webhook.py); reset it with the token."""
    outbox = Outbox()
    return outbox, _outbox.set(outbox)


def reset_outbox(token: contextvars.Token[Outbox | None]) -> None:
    _outbox.reset(token)


def holding() -> bool:
    """Whether a reply may be held now: this update's answer is still to be made."""
    outbox = _outbox.get()
    return outbox is not None and outbox.open


async def send_or_hold(bot: Bot, method: SendMessage) -> None:
    """In an update with an outbox, hold method for the webhook's answer; else send it."""
    outbox = _outbox.get()
    if outbox is None:
        await bot(method)
    else:
        await outbox.hold(bot, method)


class SendHeldFirst(BaseRequestMiddleware):
    """Before any request of an update, the reply it holds goes out: order kept.

    The outermost of the session's middlewares, so that the held reply is sent with the
    same retries as any other request.
    """

    async def __call__(
        self,
        make_request: NextRequestMiddlewareType[TelegramType],
        bot: Bot,
        method: TelegramMethod[TelegramType],
    ) -> Any:
        outbox = _outbox.get()
        if outbox is not None:
            held = outbox.take()
            if held is not None:
                await bot(held)
        return await make_request(bot, method)


def answer_body(bot: Bot, method: SendMessage) -> bytes:
    """The webhook answer's body that makes Telegram call method: its parameters as aiogram
    would send them (the bot's defaults filled in, nested objects as JSON objects) and
    "method"."""
    files: dict[str, InputFile] = {}
    session = bot.session
    body: dict[str, Any] = {"method": method.__api_method__}
    for key, value in method.model_dump(warnings=False).items():
        prepared = session.prepare_value(value, bot=bot, files=files, _dumps_json=False)
        if prepared is not None:
            body[key] = prepared
    if files:  # never for a text message; an upload cannot travel in an answer
        raise ValueError("a webhook answer carries no files")
    return json.dumps(body, ensure_ascii=False).encode()
