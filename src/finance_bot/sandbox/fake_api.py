"""A fake Telegram Bot API server, for the end-to-end tests and the offline `finance-bot sandbox`.

It speaks real HTTP on 127.0.0.1 — `POST /bot<token>/<method>` with multipart, urlencoded or
JSON bodies — so the bot runs its production aiogram session and long-polling code unchanged.
Tests play the users (send_text, press_button…), watch what the bot sent (messages_to, sent,
wait_for) and inject faults (fail_next, drop_next, page_next, set_latency). After a setWebhook it
pushes the updates to the bot instead, as Telegram does (fake_api_webhook.py), and makes
the call an answer to one carries as if the bot had requested it (recorded `inline`).
Everything lives on the one asyncio loop that started it.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Final, Literal

from aiohttp import web

from finance_bot.sandbox import fake_api_updates as shapes
from finance_bot.sandbox.fake_api_methods import CONFLICT, BotApi
from finance_bot.sandbox.fake_api_rules import JSON, ApiError, Upload, read_params
from finance_bot.sandbox.fake_api_webhook import Webhook

__all__ = ["ApiCall", "ApiError", "FakeTelegram", "Upload"]

_DESCRIPTIONS: Final = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: CONFLICT,
    500: "Internal Server Error",
    502: "Bad Gateway",
}


@dataclass(frozen=True)
class ApiCall:
    """One request the bot made, recorded once it was answered."""

    method: str  # as Telegram documents it ("sendMessage"), whatever case the URL used
    params: JSON  # nested objects decoded; an uploaded file is an Upload
    at: float  # loop.time() when the request arrived
    status: int | None  # HTTP status of the reply; None when the connection was dropped
    # Made because a webhook answer carried it (fake_api_webhook.py), not by a request of
    # the bot's; its status is then what Telegram would have answered, told to nobody.
    inline: bool = False


@dataclass
class _Fault:
    kind: Literal["fail", "drop", "page"]
    times: int
    error: ApiError | None = None
    processed: bool = False
    status: int = 502  # of a "page": the proxy's own status


# What a proxy or CDN in front of the Bot API answers when Telegram does not: its own HTML.
ERROR_PAGE: Final = (
    "<html><head><title>502 Bad Gateway</title></head>"
    "<body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"
)


class FakeTelegram(BotApi):
    """The fake server, and the handles tests and the sandbox hold it by."""

    def __init__(
        self,
        *,
        host: str = "127.0.0.1",
        port: int = 0,
        bot_id: int = 42,
        bot_username: str = "finance_test_bot",
        bot_first_name: str = "Finance",
        clock: Callable[[], float] = time.time,
    ) -> None:
        bot_user: JSON = {
            "id": bot_id,
            "is_bot": True,
            "first_name": bot_first_name,
            "username": bot_username,
            "can_join_groups": False,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        super().__init__(bot_user, clock)
        self._host, self._port = host, port
        self.tokens: set[str] = set()  # every token the bot called with
        self.sent: list[ApiCall] = []  # every call, answered or failed, in arrival order
        self._users: dict[int, JSON] = {}
        self._user_chats: dict[int, int] = {}  # the chat each user last wrote in
        self._faults: dict[str, list[_Fault]] = {}
        self._latency: dict[str, float] = {}
        self._chat_latency: dict[tuple[str, int], float] = {}
        self._listeners: list[Callable[[ApiCall], None]] = []
        self._rejected_tokens: dict[str, int] = {}  # token -> the status every call gets
        self._blocked: set[int] = set()  # chats whose person blocked the bot
        self._owner: int | None = None  # the thread whose loop started the server
        self._runner: web.AppRunner | None = None
        self.webhook.call = self._webhook_call

    # Lifecycle

    async def start(self) -> None:
        self._owner = threading.get_ident()
        self._stopping = False
        app = web.Application(client_max_size=50 * 1024 * 1024)  # Telegram's upload limit
        app.router.add_post("/bot{token}/{method}", self._serve)
        app.router.add_get("/bot{token}/{method}", self._serve)
        # A client that hangs up (a bot stopping mid long-poll) cancels its handler, as it
        # should: a stale long-poll must not outlive the connection it was answering.
        self._runner = web.AppRunner(
            app, handler_cancellation=True, access_log=None, shutdown_timeout=1.0
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        self._port = self._runner.addresses[0][1]

    async def stop(self) -> None:
        self._stopping = True
        await self.webhook.stop()
        self._notify()  # long-polls answer [] at once instead of holding the shutdown up
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def __aenter__(self) -> FakeTelegram:
        await self.start()
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.stop()

    @property
    def port(self) -> int:
        return self._port

    @property
    def base_url(self) -> str:
        """For aiogram: `TelegramAPIServer.from_base(fake.base_url)`."""
        return f"http://{self._host}:{self._port}"

    # Playing the users

    def send_text(
        self,
        user_id: int,
        text: str,
        *,
        language_code: str | None = "ru",
        chat_type: str = "private",
        chat_id: int | None = None,
        date: datetime | None = None,
        first_name: str | None = None,
        message_id: int | None = None,
    ) -> int:
        """A user writes to the bot; returns the update_id."""
        message = self._user_message(
            user_id,
            shapes.text_content(text),
            language_code,
            chat_type=chat_type,
            chat_id=chat_id,
            first_name=first_name,
            date=date,
            message_id=message_id,
        )
        return self._push({"message": message})

    def edit_text(self, user_id: int, message_id: int, new_text: str) -> int:
        """The user edits a message they sent earlier: an `edited_message` update."""
        chat_id = self._user_chats.get(user_id, user_id)
        original = self._messages.get(chat_id, {}).get(message_id)
        if original is None or original["from"]["id"] != user_id:
            raise KeyError(f"user {user_id} sent no message {message_id} to chat {chat_id}")
        edited = {k: v for k, v in original.items() if k not in ("text", "entities")}
        edited |= shapes.text_content(new_text) | {"edit_date": int(self._clock())}
        self._messages[chat_id][message_id] = edited
        return self._push({"edited_message": copy.deepcopy(edited)})

    def send_sticker(self, user_id: int, *, language_code: str | None = "ru") -> int:
        content = shapes.sticker_content(next(self._numbers))
        return self._push({"message": self._user_message(user_id, content, language_code)})

    def send_photo(
        self, user_id: int, *, caption: str | None = None, language_code: str | None = "ru"
    ) -> int:
        content: JSON = {"photo": shapes.photo_sizes(f"photo-{next(self._numbers)}", 20_000)}
        if caption:
            content["caption"] = caption
        return self._push({"message": self._user_message(user_id, content, language_code)})

    def send_voice(self, user_id: int, *, language_code: str | None = "ru") -> int:
        content = shapes.voice_content(next(self._numbers))
        return self._push({"message": self._user_message(user_id, content, language_code)})

    def forward_text(
        self,
        user_id: int,
        text: str,
        *,
        origin_user_id: int | None = None,
        origin_date: datetime | None = None,
        language_code: str | None = "ru",
    ) -> int:
        """The user forwards someone's text (their own by default): `forward_origin` is set."""
        author = origin_user_id if origin_user_id is not None else user_id
        written = origin_date.timestamp() if origin_date is not None else self._clock()
        origin: JSON = {
            "type": "user",
            "date": int(written),
            "sender_user": shapes.user(author, f"User {author}", None),
        }
        content = shapes.text_content(text) | {"forward_origin": origin}
        return self._push({"message": self._user_message(user_id, content, language_code)})

    def press_button(
        self, user_id: int, message_id: int, callback_data: str, *, chat_id: int | None = None
    ) -> int:
        """The user taps an inline button of a message the bot sent: a `callback_query`."""
        chat = user_id if chat_id is None else chat_id
        message = self._messages.get(chat, {}).get(message_id)
        if message is None:
            raise KeyError(f"no message {message_id} in chat {chat}")
        query_id = str(next(self._numbers))
        self._callbacks[query_id] = user_id
        sender = self._users.get(user_id) or shapes.user(user_id, f"User {user_id}", "ru")
        query = {
            "id": query_id,
            "from": sender,
            "message": copy.deepcopy(message),
            "chat_instance": f"instance-{chat}",
            "data": callback_data,
        }
        return self._push({"callback_query": query})

    def push_raw(self, update: JSON) -> int:
        """Any update, verbatim; given no update_id it gets the next one."""
        return self._push(copy.deepcopy(update))

    def push_undecodable(self, user_id: int) -> int:
        """An update the bot's aiogram models reject, as after a Bot API change: a message
        whose chat has no `type`. Its update_id."""
        message = self._user_message(user_id, shapes.text_content("?"), "ru")
        message["chat"] = {"id": message["chat"]["id"]}
        return self._push({"message": message})

    def reject_token(self, token: str, status: int = 401) -> None:
        """Every call with token fails as Telegram answers a revoked token (401) or a
        malformed one (404)."""
        self._rejected_tokens[token] = status

    def redeliver(self, update_id: int) -> int:
        """Telegram delivers an update again, even though the bot had confirmed it."""
        self._check_thread()
        self.updates.redeliver(update_id)
        self._notify()
        return update_id

    def repeat_in_batch(self, update_id: int) -> int:
        """The next getUpdates that returns the update returns it twice in the one batch."""
        self._check_thread()
        return self.updates.double(update_id)

    def _user_message(
        self,
        user_id: int,
        content: JSON,
        language_code: str | None,
        *,
        chat_type: str = "private",
        chat_id: int | None = None,
        first_name: str | None = None,
        date: datetime | None = None,
        message_id: int | None = None,
    ) -> JSON:
        known = self._users.get(user_id, {})
        name = first_name or known.get("first_name") or f"User {user_id}"
        self._users[user_id] = shapes.user(user_id, name, language_code)
        chat_id = (
            chat_id if chat_id is not None else user_id if chat_type == "private" else -user_id
        )
        self._user_chats[user_id] = chat_id  # where edit_text finds the user's messages
        self._chats[chat_id] = shapes.chat(
            chat_id, chat_type, name if chat_type == "private" else "Household"
        )
        if message_id is None:
            message_id = self._new_message_id(chat_id)
        self._next_message_id[chat_id] = max(self._next_message_id.get(chat_id, 1), message_id + 1)
        stamp = int(date.timestamp()) if date is not None else int(self._clock())
        message = {
            "message_id": message_id,
            "date": stamp,
            "chat": self._chats[chat_id],
            "from": self._users[user_id],
            **content,
        }
        self._messages.setdefault(chat_id, {})[message_id] = message
        return copy.deepcopy(message)

    def _push(self, update: JSON) -> int:
        self._check_thread()
        update_id = self.updates.push(update)
        self._notify()
        return update_id

    # Observing the bot

    def messages_to(self, chat_id: int) -> list[JSON]:
        """The bot's messages in the chat as the user sees them now: after edits, not deleted."""
        chat = self._messages.get(chat_id, {})
        own = [m for m in chat.values() if m["from"]["id"] == self.bot_user["id"]]
        return copy.deepcopy(own)

    def reply_keyboard(self, chat_id: int) -> JSON | None:
        """The reply keyboard the bot last showed in the chat, unless it removed it."""
        return copy.deepcopy(self._reply_keyboards.get(chat_id))

    def my_commands(self, language_code: str = "", scope: str = "default") -> list[JSON] | None:
        """The commands set for a scope (`default`, `chat:<id>`…) and language, if any."""
        return copy.deepcopy(self._commands.get((scope, language_code)))

    def calls(self, method: str) -> list[ApiCall]:
        return [call for call in self.sent if call.method.lower() == method.lower()]

    @property
    def confirmed_offset(self) -> int:
        return self.updates.confirmed_offset

    def update_json(self, update_id: int) -> JSON:
        """The update as Telegram sends it, to post it by hand as a retry would."""
        return self.updates.queued(update_id)

    def pending_update_ids(self) -> list[int]:
        return self.updates.pending_ids()

    def on_call(self, listener: Callable[[ApiCall], None]) -> None:
        """Call listener with every answered request (the sandbox prints the bot's replies)."""
        self._listeners.append(listener)

    async def wait_for(self, predicate: Callable[[], object], timeout: float = 10.0) -> None:  # noqa: ASYNC109
        """Wait until predicate() is true; it is re-checked whenever the fake's state changes."""
        try:
            async with asyncio.timeout(timeout):
                while not predicate():
                    await self._next_change()
        except TimeoutError:
            recent = [(c.method, c.params.get("text"), c.status) for c in self.sent[-5:]]
            raise TimeoutError(f"condition not met in {timeout}s; last calls: {recent}") from None

    # Fault injection

    def fail_next(
        self,
        method: str,
        times: int = 1,
        *,
        status: int = 500,
        description: str | None = None,
        retry_after: int | None = None,
    ) -> None:
        """The next calls of method get an error reply; retry_after makes it a 429 flood wait."""
        if retry_after is not None:
            status = 429
            description = description or f"Too Many Requests: retry after {retry_after}"
        error = ApiError(
            status, description or _DESCRIPTIONS.get(status, "Error"), retry_after=retry_after
        )
        self._faults.setdefault(method.lower(), []).append(_Fault("fail", times, error))

    def drop_next(self, method: str, times: int = 1, *, processed: bool = False) -> None:
        """The next calls of method get no reply: the connection closes under them.

        processed=True carries the call out first, as when a reply is lost on the way back
        (the message is sent, the offset confirmed); by default the call never took effect.
        """
        self._faults.setdefault(method.lower(), []).append(_Fault("drop", times, None, processed))

    def page_next(
        self, method: str, times: int = 1, *, status: int = 502, processed: bool = False
    ) -> None:
        """The next calls of method get a proxy's HTML error page, not a Bot API answer.

        processed=True carries the call out first, as when the proxy gave up waiting for a
        Telegram that did answer; by default the call never reached Telegram.
        """
        fault = _Fault("page", times, None, processed, status)
        self._faults.setdefault(method.lower(), []).append(fault)

    def set_latency(self, method: str, seconds: float, *, chat_id: int | None = None) -> None:
        """Delay every reply to method ("*" for all methods) by seconds; 0 removes the delay.

        With chat_id, only the calls about that chat: one chat held up, as by a slow
        network on its way or a flood wait of its own."""
        if chat_id is not None:
            if seconds > 0:
                self._chat_latency[(method.lower(), chat_id)] = seconds
            else:
                self._chat_latency.pop((method.lower(), chat_id), None)
        elif seconds > 0:
            self._latency[method.lower()] = seconds
        else:
            self._latency.pop(method.lower(), None)

    def block(self, chat_id: int) -> None:
        """The person of chat_id blocks the bot: every call about their chat gets Telegram's
        403 until the end of the test, as a real block lasts until they undo it."""
        self._blocked.add(chat_id)

    def _blocks(self, params: JSON) -> bool:
        chat = params.get("chat_id")
        if not self._blocked or chat is None:
            return False
        try:
            return int(chat) in self._blocked
        except (TypeError, ValueError):
            return False

    def _delay(self, method: str, params: JSON) -> float:
        chat = params.get("chat_id")
        if self._chat_latency and chat is not None:
            with contextlib.suppress(TypeError, ValueError):
                held = self._chat_latency.get((method.lower(), int(chat)))
                if held is not None:
                    return held
        return self._latency.get(method.lower(), self._latency.get("*", 0.0))

    def _take_fault(self, method: str) -> _Fault | None:
        queue = self._faults.get(method.lower())
        if not queue:
            return None
        fault = queue[0]
        fault.times -= 1
        if fault.times <= 0:
            queue.pop(0)
        return fault

    # HTTP

    async def _serve(self, request: web.Request) -> web.StreamResponse:
        arrived = asyncio.get_running_loop().time()
        token = request.match_info["token"]
        self.tokens.add(token)
        try:
            params = await read_params(request)
        except ApiError as error:
            return web.json_response(error.body(), status=error.status)
        answer = await self._call(request.match_info["method"], params, token, arrived)
        if answer is None:
            # Closing the transport before a byte of the reply is written makes aiohttp's
            # client raise ServerDisconnectedError, a ClientError, which aiogram turns into
            # TelegramNetworkError. force_close() is the server protocol's own hang-up: aiohttp
            # then sees the connection gone, skips writing the reply below and logs nothing.
            request.protocol.force_close()
            return web.Response()
        status, body = answer
        if isinstance(body, str):
            return web.Response(status=status, text=body, content_type="text/html")
        return web.json_response(body, status=status)

    async def _webhook_call(self, webhook: Webhook, method: str, params: JSON) -> None:
        """The call a webhook answer carried, made as if the bot had sent it; its outcome is
        recorded and told to nobody."""
        await self._call(
            method, params, webhook.token, asyncio.get_running_loop().time(), inline=True
        )

    async def _call(
        self, method: str, params: JSON, token: str, arrived: float, *, inline: bool = False
    ) -> tuple[int, JSON | str] | None:
        """One Bot API call, its faults and its record: the status and body of its reply (a
        str is a proxy's page), None when the connection is to be dropped."""
        name, handler = self.methods.get(method.lower(), (method, None))
        rejected = self._rejected_tokens.get(token)
        if rejected is not None:
            self._record(ApiCall(name, params, arrived, rejected, inline))
            refusal = ApiError(rejected, _DESCRIPTIONS.get(rejected, "Error"))
            return refusal.status, refusal.body()
        delay = self._delay(name, params)
        if delay:
            await asyncio.sleep(delay)
        fault = self._take_fault(name)
        if fault is not None and fault.kind in ("drop", "page"):
            if fault.processed and handler is not None:
                with contextlib.suppress(ApiError):
                    await handler(params, token)
            if fault.kind == "page":
                self._record(ApiCall(name, params, arrived, fault.status, inline))
                return fault.status, ERROR_PAGE
            self._record(ApiCall(name, params, arrived, None, inline))
            return None
        try:
            if fault is not None and fault.error is not None:
                planned = fault.error  # raised afresh each time: a fault may fire repeatedly
                raise ApiError(planned.status, planned.description, retry_after=planned.retry_after)
            if self._blocks(params):
                raise ApiError(403, _DESCRIPTIONS[403])
            if handler is None:
                raise ApiError(404, "Not Found: method not found")
            result = await handler(params, token)
        except ApiError as error:
            self._record(ApiCall(name, params, arrived, error.status, inline))
            return error.status, error.body()
        self._record(ApiCall(name, params, arrived, 200, inline))
        return 200, {"ok": True, "result": result}

    def _record(self, call: ApiCall) -> None:
        self.sent.append(call)
        for listener in self._listeners:
            listener(call)
        self._notify()

    def _check_thread(self) -> None:
        if self._owner is not None and threading.get_ident() != self._owner:
            raise RuntimeError("FakeTelegram is not thread-safe: use it from its loop's thread")
