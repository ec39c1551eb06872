"""`finance-bot sandbox`: the whole bot, offline, chatting in the terminal.

A fake Bot API server runs on 127.0.0.1 and the real bot long-polls it over HTTP, so
everything from parsing to the ledger is the real thing. The books live in an embedded
PostgreSQL under DATA_DIR/sandbox — never in the household's real database — and the logs
in DATA_DIR/sandbox/finance-bot.log, so that the terminal shows only the chat.
Type lines as you would in Telegram; `!N` presses button N of the last message.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, TextIO

from finance_bot.bootstrap import application, chat
from finance_bot.config import Settings
from finance_bot.sandbox.fake_api import ApiCall, FakeTelegram

SANDBOX_USER_ID = 1
SANDBOX_TOKEN = "4242:sandbox"
_PROMPT = "> "


def sandbox_data_dir(settings: Settings) -> Path:
    return settings.data_dir / "sandbox"


def sandbox_log_file(settings: Settings) -> Path:
    return sandbox_data_dir(settings) / "finance-bot.log"


class Transcript:
    """Prints what the bot sends, numbering the buttons of the latest message."""

    def __init__(self, fake: FakeTelegram, out: TextIO, files: Path | None = None) -> None:
        self._fake = fake
        self._out = out
        self._files = files  # where the photos and documents the bot sends are saved
        self.buttons: list[tuple[int, str]] = []  # (message id, callback data)

    def __call__(self, call: ApiCall) -> None:
        if call.status == 200 and call.method in ("sendPhoto", "sendDocument"):
            self._file(call.params)
            return
        if call.status != 200 or call.method not in (
            "sendMessage",
            "editMessageText",
            "editMessageReplyMarkup",
        ):
            return
        params: dict[str, Any] = call.params
        text = params.get("text")
        if text:
            self._out.write(f"{text}\n")
        markup = params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard") or []
        message_id = int(params.get("message_id") or 0)
        if not message_id:  # a new message: the fake knows the id it gave it
            message_id = self._fake.messages_to(int(params["chat_id"]))[-1]["message_id"]
        if rows:
            self.buttons = []
            labels = []
            for row in rows:
                for button in row:
                    self.buttons.append((message_id, button["callback_data"]))
                    labels.append(f"[{len(self.buttons)}] {button['text']}")
            self._out.write("  ".join(labels) + "\n")
        self._out.flush()

    def _file(self, params: dict[str, Any]) -> None:
        upload = params.get("photo") or params.get("document")
        name = getattr(upload, "filename", None)
        data = getattr(upload, "data", None)
        shown = f"[{name}, {len(data) // 1024} KB]" if name and data is not None else "[file]"
        if self._files is not None and name and data is not None:
            self._files.mkdir(parents=True, exist_ok=True)
            path = self._files / Path(name).name
            path.write_bytes(data)
            shown = f"[{path}]"
        caption = params.get("caption")
        self._out.write(f"{shown} {caption}\n" if caption else f"{shown}\n")
        self._out.flush()


async def run_sandbox(
    settings: Settings, *, read_line: Callable[[], str] = input, out: TextIO = sys.stdout
) -> None:
    out.write(f"finance-bot sandbox: logs go to {sandbox_log_file(settings)}\n")
    out.flush()
    fake = FakeTelegram(bot_id=4242, bot_username="finance_sandbox_bot")
    await fake.start()
    transcript = Transcript(fake, out, sandbox_data_dir(settings) / "files")
    fake.on_call(transcript)
    sandbox = settings.model_copy(
        update={
            "data_dir": sandbox_data_dir(settings),
            "database_url": None,
            "whitelist_telegram_ids": (SANDBOX_USER_ID,),
            "bot_mode": "polling",  # the fake in this terminal is polled
        }
    )
    try:
        async with (
            application(sandbox) as app,
            chat(app, token=SANDBOX_TOKEN, api_base=fake.base_url) as bot,
        ):
            polling = asyncio.create_task(bot.run())
            out.write(
                "finance-bot sandbox — type “250 кафе”, /help; !N presses a button; Ctrl-D quits\n"
            )
            await _converse(fake, transcript, read_line, out, sandbox.bot_language)
            bot.source.stop()
            await polling
    finally:
        await fake.stop()


async def _converse(
    fake: FakeTelegram,
    transcript: Transcript,
    read_line: Callable[[], str],
    out: TextIO,
    language: str,
) -> None:
    loop = asyncio.get_running_loop()
    while True:
        out.write(_PROMPT)
        out.flush()
        try:
            line = (await loop.run_in_executor(None, read_line)).strip()
        except EOFError:
            out.write("\n")
            return
        if not line:
            continue
        if line.startswith("!") and line[1:].isdigit():
            index = int(line[1:]) - 1
            if not 0 <= index < len(transcript.buttons):
                out.write("no such button\n")
                continue
            message_id, data = transcript.buttons[index]
            update_id = fake.press_button(SANDBOX_USER_ID, message_id, data)
        else:
            update_id = fake.send_text(
                SANDBOX_USER_ID, line, language_code=language, first_name="You"
            )
        await _handled(fake, update_id)


async def _handled(fake: FakeTelegram, update_id: int) -> None:
    """Wait until the bot acknowledged the update: its replies have been printed."""
    with contextlib.suppress(TimeoutError):
        await fake.wait_for(lambda: fake.confirmed_offset > update_id, timeout=30)
