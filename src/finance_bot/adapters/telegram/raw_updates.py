"""getUpdates read as plain JSON first: updates already in hand are not decoded again, and
the one update aiogram's models cannot decode is found by its id (docs/adr/0008).

While updates are in hand the offset cannot pass them, so every poll brings them back; the
poller decodes only the ones it has not seen (`GetRawUpdates`, `decode_fresh`). Decoding
each of them at every poll had cost more CPU than handling them.

After a Bot API change an update may carry a shape the pinned aiogram rejects; every
getUpdates that includes it then fails, and the offset never moves. Only its update_id is
read here — nothing else of it is trusted or kept — so that the bot can acknowledge past it.
"""

from __future__ import annotations

from collections.abc import Container
from typing import Any

import aiohttp
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import ClientDecodeError
from aiogram.methods import TelegramMethod
from aiogram.types import Update
from pydantic import ValidationError


class GetRawUpdates(TelegramMethod[list[dict[str, Any]]]):
    """getUpdates, answered through the session like any method (its errors, retries and
    metrics alike), its updates left as JSON objects."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def decode_fresh(bot: Bot, raw: list[dict[str, Any]], seen: Container[int]) -> list[Update]:
    """The updates of a getUpdates answer not in `seen`, decoded; ClientDecodeError, as
    aiogram raises it, when one of them does not decode."""
    fresh = []
    for item in raw:
        update_id = item.get("update_id")
        if isinstance(update_id, int) and update_id in seen:
            continue  # in hand: decoded when it was first fetched
        try:
            fresh.append(Update.model_validate(item, context={"bot": bot}))
        except ValidationError as error:
            raise ClientDecodeError("Failed to deserialize object", error, item) from error
    return fresh


class UnreadableUpdates(Exception):
    """The raw answer does not say which update is first either."""


async def first_undecodable_update_id(
    bot: Bot, offset: int | None, allowed_updates: list[str], *, timeout_seconds: float = 30.0
) -> int | None:
    """The update_id of the first pending update at offset, if aiogram cannot decode it.

    None when nothing is pending or the first update decodes after all: then there is
    nothing to skip, and nothing is skipped on a guess.
    """
    if not isinstance(bot.session, AiohttpSession):
        raise UnreadableUpdates("no HTTP session to read the raw answer with")
    session = await bot.session.create_session()
    url = bot.session.api.api_url(token=bot.token, method="getUpdates")
    payload: dict[str, Any] = {"limit": 1, "timeout": 0, "allowed_updates": allowed_updates}
    if offset is not None:
        payload["offset"] = offset
    async with session.post(
        url, json=payload, timeout=aiohttp.ClientTimeout(total=timeout_seconds)
    ) as response:
        body = await response.json(content_type=None)
    if not isinstance(body, dict) or body.get("ok") is not True:
        raise UnreadableUpdates("getUpdates did not answer ok")
    result = body.get("result")
    if not isinstance(result, list):
        raise UnreadableUpdates("getUpdates answered no list")
    if not result:
        return None
    first = result[0]
    update_id = first.get("update_id") if isinstance(first, dict) else None
    if not isinstance(update_id, int) or isinstance(update_id, bool):
        raise UnreadableUpdates("the first update has no update_id")
    try:
        Update.model_validate(first, context={"bot": bot})
    except ValidationError:
        return update_id
    return None
