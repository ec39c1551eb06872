"""Telegram's side of the fake Bot API (see fake_api.py): what it stores, and the methods.

The chats and the messages in them, bot commands, callback queries, uploads and the update
queue, and the Bot API methods that read and change them, answering as Telegram does.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import re
from collections.abc import Awaitable, Callable
from typing import Any, Final

from finance_bot.sandbox import fake_api_updates as shapes
from finance_bot.sandbox.fake_api_rules import (
    JSON,
    ApiError,
    ChatRateLimit,
    Upload,
    bad_request,
    callback_answer_text,
    chat_id_of,
    commands_of,
    flag,
    int_param,
    render_text,
    replied_message_id,
    reply_markup_of,
    required_int,
    scope_key,
)
from finance_bot.sandbox.fake_api_updates import UpdateQueue
from finance_bot.sandbox.fake_api_webhook import Webhook, WebhookDelivery

_SECRET: Final = re.compile(r"[A-Za-z0-9_-]{1,256}")
Handler = Callable[[JSON, str], Awaitable[Any]]  # (params, token) -> result
_CHAT_ACTIONS: Final = frozenset(
    {
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
        "upload_video_note",
    }
)
CONFLICT: Final = (
    "Conflict: terminated by other getUpdates request; make sure that only one bot instance is "
    "running"
)
WEBHOOK_ACTIVE: Final = (
    "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete "
    "the webhook first"
)


class BotApi:
    """The server's state and its Bot API methods; FakeTelegram adds HTTP, users and faults.

    Each method takes the call's decoded parameters and the token, and returns the `result`
    or raises ApiError.
    """

    def __init__(self, bot_user: JSON, clock: Callable[[], float]) -> None:
        self.bot_user = bot_user
        self._clock = clock
        self.answered_callbacks: set[str] = set()
        self.webhook_deletions: list[bool] = []  # drop_pending_updates of each deleteWebhook
        self.uploads: dict[str, Upload] = {}  # by the file_id the fake gave the upload
        self.updates = UpdateQueue()
        self.webhook = WebhookDelivery(self.updates, self._next_change, self._notify)
        self._commands: dict[tuple[str, str], list[JSON]] = {}
        self._messages: dict[int, dict[int, JSON]] = {}  # chat -> message_id -> Message
        self._reply_keyboards: dict[int, JSON] = {}
        self._chats: dict[int, JSON] = {}
        self._callbacks: dict[str, int] = {}  # callback query id -> user id
        self._next_message_id: dict[int, int] = {}  # ids count per chat, as in private chats
        self._numbers = itertools.count(1)  # file and callback query ids
        self._changed = asyncio.Event()
        self._chat_rate_limit: ChatRateLimit | None = None  # off unless a test asks
        self._poll_generation = 0
        self._stopping = False
        # "getme" -> ("getMe", handler): Telegram's method names ignore case.
        self.methods: dict[str, tuple[str, Handler]] = {
            name.lower(): (name, handler)
            for name, handler in {
                "getMe": self._get_me,
                "getUpdates": self._get_updates,
                "setWebhook": self._set_webhook,
                "deleteWebhook": self._delete_webhook,
                "getWebhookInfo": self._get_webhook_info,
                "setMyCommands": self._set_my_commands,
                "getMyCommands": self._get_my_commands,
                "deleteMyCommands": self._delete_my_commands,
                "sendMessage": self._send_message,
                "editMessageText": self._edit_message_text,
                "editMessageReplyMarkup": self._edit_message_reply_markup,
                "answerCallbackQuery": self._answer_callback_query,
                "sendPhoto": self._send_photo,
                "sendDocument": self._send_document,
                "sendMediaGroup": self._send_media_group,
                "sendChatAction": self._send_chat_action,
                "deleteMessage": self._delete_message,
            }.items()
        }

    async def _next_change(self) -> None:
        await self._changed.wait()

    def _notify(self) -> None:
        # One event per generation: whoever waits holds the current one, which is set now and
        # replaced, so no waiter misses a change and none spins on an event left set.
        self._changed.set()
        self._changed = asyncio.Event()

    def limit_chat_rate(self, seconds_per_message: float | None = 1.0) -> None:
        """Enforce Telegram's per-chat flood limit on sends (None lifts it): a message to a
        chat sooner than seconds_per_message after the last one gets a 429 with retry_after."""
        self._chat_rate_limit = (
            ChatRateLimit(seconds_per_message) if seconds_per_message is not None else None
        )

    # Bot API methods

    async def _get_me(self, params: JSON, token: str) -> JSON:
        return dict(self.bot_user)

    async def _get_updates(self, params: JSON, token: str) -> list[JSON]:
        if self.webhook.webhook is not None:
            raise ApiError(409, WEBHOOK_ACTIVE)
        offset = int_param(params, "offset")
        limit = min(max(int_param(params, "limit") or 100, 1), 100)
        timeout = max(int_param(params, "timeout") or 0, 0)
        if offset is not None:
            self.updates.confirm(offset)
        # Telegram answers 409 to a long-poll overtaken by another: two bots on one token.
        self._poll_generation += 1
        generation = self._poll_generation
        self._notify()  # wakes that older poll, and tests waiting on confirmed_offset
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            if generation != self._poll_generation:
                raise ApiError(409, CONFLICT)
            batch = self.updates.take(offset, limit)
            if batch or self._stopping or loop.time() >= deadline:
                return batch
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(deadline - loop.time()):
                    await self._next_change()

    async def _set_webhook(self, params: JSON, token: str) -> bool:
        url = str(params.get("url") or "")
        if not url:
            return await self._delete_webhook(params, token)  # Telegram: an empty url removes it
        if not url.startswith(("http://", "https://")):
            raise bad_request("bad webhook: An HTTPS URL must be provided for webhook")
        secret = params.get("secret_token")
        if secret is not None and not _SECRET.fullmatch(str(secret)):
            raise bad_request("secret token contains unallowed characters")
        connections = int_param(params, "max_connections") or 40
        if not 1 <= connections <= 100:
            raise bad_request("bad webhook: max_connections must be between 1 and 100")
        if flag(params, "drop_pending_updates"):
            self.updates.drop_all()
        allowed = params.get("allowed_updates") or []
        if isinstance(allowed, str):
            allowed = json.loads(allowed)
        self.webhook.set(
            Webhook(
                url=url,
                secret_token=None if secret is None else str(secret),
                max_connections=connections,
                allowed_updates=tuple(str(kind) for kind in allowed),
                token=token,
            )
        )
        return True

    async def _delete_webhook(self, params: JSON, token: str) -> bool:
        drop = flag(params, "drop_pending_updates")
        self.webhook_deletions.append(drop)
        self.webhook.delete()
        if drop:
            self.updates.drop_all()
        return True

    async def _get_webhook_info(self, params: JSON, token: str) -> JSON:
        pending = len(self.updates.pending_ids())
        info: JSON = {"url": "", "has_custom_certificate": False, "pending_update_count": pending}
        hook = self.webhook.webhook
        if hook is not None:
            info |= {"url": hook.url, "max_connections": hook.max_connections}
            if hook.allowed_updates:
                info["allowed_updates"] = list(hook.allowed_updates)
        return info

    async def _set_my_commands(self, params: JSON, token: str) -> bool:
        commands = commands_of(params)
        self._commands[(scope_key(params), str(params.get("language_code") or ""))] = commands
        return True

    async def _get_my_commands(self, params: JSON, token: str) -> list[JSON]:
        key = (scope_key(params), str(params.get("language_code") or ""))
        return copy.deepcopy(self._commands.get(key, []))

    async def _delete_my_commands(self, params: JSON, token: str) -> bool:
        self._commands.pop((scope_key(params), str(params.get("language_code") or "")), None)
        return True

    async def _send_message(self, params: JSON, token: str) -> JSON:
        chat_id = chat_id_of(params)
        text, entities = render_text(params.get("text"), params.get("parse_mode"))
        content: JSON = {"text": text, **({"entities": entities} if entities else {})}
        content |= self._replied(chat_id, params)
        return self._bot_message(chat_id, content, reply_markup_of(params))

    async def _send_photo(self, params: JSON, token: str) -> JSON:
        chat_id = chat_id_of(params)
        file_id, upload = self._file(params, "photo")
        size = len(upload.data) if upload else None
        content = {"photo": shapes.photo_sizes(file_id, size), **self._caption(params)}
        return self._bot_message(chat_id, content, reply_markup_of(params))

    async def _send_document(self, params: JSON, token: str) -> JSON:
        chat_id = chat_id_of(params)
        file_id, upload = self._file(params, "document")
        content = {"document": _document(file_id, upload), **self._caption(params)}
        return self._bot_message(chat_id, content, reply_markup_of(params))

    async def _send_media_group(self, params: JSON, token: str) -> list[JSON]:
        """An album: 2-10 photos and videos, or documents, or audio files, each with its own
        caption; each is a message of its own, sharing a media_group_id, without buttons."""
        chat_id = chat_id_of(params)
        media = params.get("media")
        if not isinstance(media, list) or not media:
            raise bad_request('parameter "media" is required')
        if len(media) < 2:
            raise bad_request("wrong number of media in the album: 2 to 10 are sent")
        if len(media) > 10:
            raise bad_request("too many messages to send as an album")
        kinds = []
        contents = []
        for item in media:
            if not isinstance(item, dict) or item.get("type") not in _ALBUM_KINDS:
                raise bad_request("wrong type of the media in the album")
            kind = item["type"]
            value = item.get("media")
            # aiogram sends an upload's part under a random name and "attach://<name>" here
            if isinstance(value, str) and value.startswith("attach://"):
                value = params.get(value.removeprefix("attach://"))
                if not isinstance(value, Upload):
                    raise bad_request("wrong file identifier/HTTP URL specified")
            file_id, upload = self._file({kind: value}, kind)
            kinds.append(kind)
            contents.append({kind: _media_content(kind, file_id, upload), **self._caption(item)})
        groups = {_ALBUM_KINDS[kind] for kind in kinds}
        if len(groups) > 1:
            raise bad_request(f"{kinds[-1]} can't be mixed with other media types")
        group_id = str(next(self._numbers))
        replied = self._replied(chat_id, params)
        return [
            self._bot_message(chat_id, {**content, **replied, "media_group_id": group_id}, None)
            for content in contents
        ]

    async def _send_chat_action(self, params: JSON, token: str) -> bool:
        chat_id_of(params)
        if params.get("action") not in _CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    async def _edit_message_text(self, params: JSON, token: str) -> JSON:
        chat_id, message = self._stored(params, "message to edit not found")
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = render_text(params.get("text"), params.get("parse_mode"))
        # Like Telegram, an edit without reply_markup removes the message's inline keyboard.
        markup = reply_markup_of(params, inline_only=True)
        return self._edit(
            chat_id, message, text=text, entities=entities or None, reply_markup=markup
        )

    async def _edit_message_reply_markup(self, params: JSON, token: str) -> JSON:
        chat_id, message = self._stored(params, "message to edit not found")
        return self._edit(chat_id, message, reply_markup=reply_markup_of(params, inline_only=True))

    async def _delete_message(self, params: JSON, token: str) -> bool:
        chat_id, message = self._stored(params, "message to delete not found")
        del self._messages[chat_id][message["message_id"]]
        return True

    async def _answer_callback_query(self, params: JSON, token: str) -> bool:
        query_id = str(params.get("callback_query_id") or "")
        if query_id not in self._callbacks or query_id in self.answered_callbacks:
            raise bad_request(
                "query is too old and response timeout expired or query ID is invalid"
            )
        callback_answer_text(params)
        self.answered_callbacks.add(query_id)
        return True

    # Message store

    def _new_message_id(self, chat_id: int) -> int:
        message_id = self._next_message_id.get(chat_id, 1)
        self._next_message_id[chat_id] = message_id + 1
        return message_id

    def _replied(self, chat_id: int, params: JSON) -> JSON:
        """reply_to_message, as Telegram shows it: the replied message, one level deep."""
        message_id, without_reply = replied_message_id(params)
        if message_id is None:
            return {}
        replied = self._messages.get(chat_id, {}).get(message_id)
        if replied is None:
            if without_reply:
                return {}
            raise bad_request("message to be replied not found")
        shown = {k: v for k, v in replied.items() if k != "reply_to_message"}
        return {"reply_to_message": copy.deepcopy(shown)}

    def _bot_message(self, chat_id: int, content: JSON, markup: JSON | None) -> JSON:
        if self._chat_rate_limit is not None:
            now = asyncio.get_running_loop().time()
            self._chat_rate_limit.check(chat_id, now)
            self._chat_rate_limit.sent(chat_id, now)
        chat = self._chats.get(chat_id) or shapes.chat(chat_id, "private", f"User {chat_id}")
        message: JSON = {
            "message_id": self._new_message_id(chat_id),
            "date": int(self._clock()),
            "chat": chat,
            "from": dict(self.bot_user),
            **content,
        }
        if markup is not None and "inline_keyboard" in markup:
            message["reply_markup"] = markup  # a Message carries only an inline keyboard
        elif markup is not None and "keyboard" in markup:
            self._reply_keyboards[chat_id] = markup
        elif markup is not None and markup.get("remove_keyboard"):
            self._reply_keyboards.pop(chat_id, None)
        self._messages.setdefault(chat_id, {})[message["message_id"]] = message
        return copy.deepcopy(message)

    def _stored(self, params: JSON, missing: str) -> tuple[int, JSON]:
        if params.get("inline_message_id"):
            raise bad_request("inline messages are not supported by the fake")
        chat_id = chat_id_of(params)
        message = self._messages.get(chat_id, {}).get(required_int(params, "message_id"))
        if message is None:
            raise bad_request(missing)
        return chat_id, message

    def _edit(self, chat_id: int, message: JSON, **changes: Any) -> JSON:
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        edited = {k: v for k, v in message.items() if k not in changes}
        edited |= {k: v for k, v in changes.items() if v is not None}
        if _content(edited) == _content(message):
            raise bad_request(
                "message is not modified: specified new message content and reply markup are "
                "exactly the same as a current content and reply markup of the message"
            )
        edited["edit_date"] = int(self._clock())
        self._messages[chat_id][message["message_id"]] = edited
        return copy.deepcopy(edited)

    def _file(self, params: JSON, field: str) -> tuple[str, Upload | None]:
        value = params.get(field)
        if isinstance(value, Upload):
            file_id = f"{field}-{next(self._numbers)}"
            self.uploads[file_id] = value
            return file_id, value
        if isinstance(value, str) and value:
            return value, None  # a file_id or URL Telegram already knows
        raise bad_request(f"there is no {field} in the request")

    def _caption(self, params: JSON) -> JSON:
        caption, entities = render_text(
            params.get("caption"), params.get("parse_mode"), caption=True
        )
        content: JSON = {"caption": caption} if caption else {}
        if entities:
            content["caption_entities"] = entities
        return content


# An album is photos and videos, or documents only, or audio files only.
_ALBUM_KINDS: Final = {
    "photo": "visual",
    "video": "visual",
    "document": "document",
    "audio": "audio",
}


def _document(file_id: str, upload: Upload | None) -> JSON:
    document: JSON = {"file_id": file_id, "file_unique_id": f"u-{file_id}"}
    if upload is not None:
        document |= {"file_name": upload.filename, "mime_type": upload.content_type}
        document["file_size"] = len(upload.data)
    return document


def _media_content(kind: str, file_id: str, upload: Upload | None) -> Any:
    if kind == "photo":
        return shapes.photo_sizes(file_id, len(upload.data) if upload else None)
    if kind == "video":
        return {
            "file_id": file_id,
            "file_unique_id": f"u-{file_id}",
            "width": 1280,
            "height": 720,
            "duration": 1,
        }
    if kind == "audio":
        return {"file_id": file_id, "file_unique_id": f"u-{file_id}", "duration": 1}
    return _document(file_id, upload)


def _content(message: JSON) -> tuple[object, ...]:
    keys = ("text", "entities", "caption", "caption_entities", "reply_markup")
    return tuple(message.get(key) for key in keys)
