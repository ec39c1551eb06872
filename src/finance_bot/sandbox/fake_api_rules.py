"""Telegram's request rules for the fake Bot API (see fake_api.py).

Reading a request body the three ways aiogram and other clients send it, and the checks
Telegram makes on text, HTML markup, inline keyboards and bot commands — each failing with
Telegram's own error code and description, so the bot's error handling meets real answers.
"""

from __future__ import annotations

import html
import json
import math
import re
from dataclasses import dataclass
from typing import Any, Final

from aiohttp import web

JSON = dict[str, Any]

TEXT_LIMIT: Final = 4096
CAPTION_LIMIT: Final = 1024
CALLBACK_ANSWER_LIMIT: Final = 200
CALLBACK_DATA_LIMIT: Final = 64  # bytes, not characters

# Form and multipart bodies carry nested objects as JSON strings (aiogram's build_form_data
# dumps every dict and list); these are the parameters whose strings are such objects.
_JSON_FIELDS: Final = frozenset(
    {
        "reply_markup",
        "allowed_updates",
        "commands",
        "scope",
        "entities",
        "caption_entities",
        "link_preview_options",
        "reply_parameters",
        "media",
    }
)


class ApiError(Exception):
    """A Bot API error reply: `{"ok": false, "error_code": ..., "description": ...}`."""

    def __init__(self, status: int, description: str, *, retry_after: int | None = None) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.retry_after = retry_after

    def body(self) -> JSON:
        body: JSON = {"ok": False, "error_code": self.status, "description": self.description}
        if self.retry_after is not None:
            body["parameters"] = {"retry_after": self.retry_after}
        return body


def bad_request(what: str) -> ApiError:
    return ApiError(400, f"Bad Request: {what}")


@dataclass(frozen=True)
class Upload:
    """A file the bot uploaded in a multipart body."""

    filename: str
    content_type: str
    data: bytes


async def read_params(request: web.Request) -> JSON:
    """The call's parameters, from the query string and a JSON, urlencoded or multipart body."""
    params: JSON = dict(request.query)
    if request.content_type == "application/json":
        try:
            body = await request.json()
        except ValueError as error:
            raise bad_request("can't parse JSON encoded request body") from error
        if not isinstance(body, dict):
            raise bad_request("JSON object expected as request body")
        params.update(body)
    else:
        params.update(await _form_params(request))
    return nested_decoded(params)


def nested_decoded(params: JSON) -> JSON:
    """params with the nested objects that came as JSON strings decoded, in place."""
    for key in _JSON_FIELDS & params.keys():
        if isinstance(params[key], str) and params[key]:  # JSON bodies may nest objects either way
            params[key] = _decode_json(key, params[key])
    return params


async def _form_params(request: web.Request) -> JSON:
    params: JSON = {}
    uploads: dict[str, Upload] = {}
    for key, value in (await request.post()).items():
        if isinstance(value, web.FileField):
            uploads[key] = Upload(value.filename, value.content_type, value.file.read())
        else:
            params[key] = value if isinstance(value, str) else bytes(value).decode()
    for key, value in list(params.items()):
        # aiogram names an uploaded file's part at random and passes "attach://<part>".
        if isinstance(value, str) and value.startswith("attach://"):
            params[key] = uploads.pop(value.removeprefix("attach://"), value)
    return params | uploads  # parts sent under the parameter's own name, as curl -F does


def _decode_json(key: str, text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError as error:
        raise bad_request(f"can't parse {key} JSON object") from error


def chat_id_of(params: JSON) -> int:
    value = params.get("chat_id")
    if value is None or value == "":
        raise bad_request("chat_id is empty")
    number = _as_int(value)
    if number is None:  # "@channel" names exist, but never for the private chats the bot serves
        raise bad_request("chat not found")
    return number


def int_param(params: JSON, name: str) -> int | None:
    value = params.get(name)
    if value is None or value == "":
        return None
    number = _as_int(value)
    if number is None:
        raise bad_request(f'field "{name}" must be of type Integer')
    return number


def required_int(params: JSON, name: str) -> int:
    number = int_param(params, name)
    if number is None:
        raise bad_request(f"{name} is empty")
    return number


def _as_int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and re.fullmatch(r"-?\d+", value.strip()):
        return int(value)
    return None


def flag(params: JSON, name: str) -> bool:
    return params.get(name) in (True, "true", "True", "1", 1)


def render_text(
    raw: object, parse_mode: object, *, caption: bool = False
) -> tuple[str, list[JSON]]:
    """Text as the user sees it, and its entities; Telegram's limits count the visible text."""
    kind, limit = ("caption", CAPTION_LIMIT) if caption else ("text", TEXT_LIMIT)
    if raw is None or raw == "":
        if caption:
            return "", []
        raise bad_request("message text is empty")
    if not isinstance(raw, str):
        raise bad_request(f"{kind} must be a String")
    mode = str(parse_mode or "").lower()
    if mode == "html":
        text, entities = parse_html(raw)
    elif mode in ("", "markdown", "markdownv2"):
        text, entities = raw, []  # Markdown is passed through unparsed: the bot writes HTML
    else:
        raise bad_request(f"unsupported parse_mode {parse_mode}")
    text, entities = _trimmed(text, entities)
    if not text and not caption:
        raise bad_request("message text is empty")
    if len(text) > limit:
        raise bad_request("message caption is too long" if caption else "message is too long")
    return text, entities


_TAG: Final = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s+[^<>]*?)?)\s*>")
_ATTRIBUTE: Final = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_ENTITY: Final = re.compile(r"&(?:lt|gt|amp|quot|#[0-9]+|#x[0-9a-fA-F]+);")
_KINDS: Final = {
    "b": "bold",
    "strong": "bold",
    "i": "italic",
    "em": "italic",
    "u": "underline",
    "ins": "underline",
    "s": "strikethrough",
    "strike": "strikethrough",
    "del": "strikethrough",
    "tg-spoiler": "spoiler",
    "span": "spoiler",
    "a": "text_link",
    "code": "code",
    "pre": "pre",
    "blockquote": "blockquote",
    "tg-emoji": "custom_emoji",
}


def _utf16(text: str) -> int:
    """Telegram's entity offsets and lengths count UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


def _cant_parse(what: str) -> ApiError:
    return bad_request(f"can't parse entities: {what}")


def parse_html(source: str) -> tuple[str, list[JSON]]:
    """Telegram's HTML parse mode: the visible text and its entities, or Telegram's error."""
    out: list[str] = []
    width = 0
    open_tags: list[tuple[str, int, JSON | None]] = []
    entities: list[JSON] = []
    at = 0
    while at < len(source):
        char = source[at]
        if char == "<":
            offset = len(source[:at].encode())
            tag = _TAG.match(source, at)
            if tag is None:
                word = re.match(r"</?([^\s<>]*)", source[at:])
                name = word.group(1) if word else ""
                raise _cant_parse(f'Unsupported start tag "{name}" at byte offset {offset}')
            name = tag.group(2).lower()
            if tag.group(1):
                if not open_tags or open_tags[-1][0] != name:
                    expected = f'"</{open_tags[-1][0]}>"' if open_tags else "no end tag"
                    raise _cant_parse(
                        f"Unmatched end tag at byte offset {offset}, expected {expected}, "
                        f'found "</{name}>"'
                    )
                _, start, entity = open_tags.pop()
                if entity is not None and width > start:
                    entities.append({**entity, "offset": start, "length": width - start})
            else:
                open_tags.append((name, width, _entity(name, tag.group(3), offset)))
            at = tag.end()
            continue
        entity_match = _ENTITY.match(source, at) if char == "&" else None
        piece = html.unescape(entity_match.group()) if entity_match else char
        at = entity_match.end() if entity_match else at + 1
        out.append(piece)
        width += _utf16(piece)
    if open_tags:
        name = open_tags[-1][0]
        raise _cant_parse(f'Can\'t find end tag corresponding to start tag "{name}"')
    entities.sort(key=lambda entity: (entity["offset"], -entity["length"]))
    return "".join(out), entities


def _entity(name: str, raw_attributes: str, offset: int) -> JSON | None:
    kind = _KINDS.get(name)
    attributes = {
        match.group(1).lower(): next((g for g in match.groups()[1:] if g is not None), "")
        for match in _ATTRIBUTE.finditer(raw_attributes)
    }
    if kind is None or (name == "span" and attributes.get("class") != "tg-spoiler"):
        raise _cant_parse(f'Unsupported start tag "{name}" at byte offset {offset}')
    if name == "a":
        return {"type": kind, "url": attributes["href"]} if "href" in attributes else None
    if name == "blockquote" and "expandable" in attributes:
        return {"type": "expandable_blockquote"}
    if name == "tg-emoji":
        return {"type": kind, "custom_emoji_id": attributes.get("emoji-id", "")}
    if name == "pre" and (language := attributes.get("class", "")).startswith("language-"):
        return {"type": kind, "language": language.removeprefix("language-")}
    return {"type": kind}


def _trimmed(text: str, entities: list[JSON]) -> tuple[str, list[JSON]]:
    """Telegram strips a message's leading and trailing whitespace; entities shift with it."""
    kept = text.strip()
    lead = _utf16(text[: len(text) - len(text.lstrip())])
    total = _utf16(kept)
    shifted: list[JSON] = []
    for entity in entities:
        start = max(entity["offset"] - lead, 0)
        end = min(entity["offset"] + entity["length"] - lead, total)
        if end > start:
            shifted.append({**entity, "offset": start, "length": end - start})
    return kept, shifted


_BUTTON_ACTIONS: Final = frozenset(
    {
        "url",
        "callback_data",
        "web_app",
        "login_url",
        "switch_inline_query",
        "switch_inline_query_current_chat",
        "switch_inline_query_chosen_chat",
        "copy_text",
        "callback_game",
        "pay",
    }
)


def reply_markup_of(params: JSON, *, inline_only: bool = False) -> JSON | None:
    markup = params.get("reply_markup")
    if markup is None or markup == "":
        return None
    if not isinstance(markup, dict):
        raise bad_request("can't parse reply keyboard markup JSON object")
    if "inline_keyboard" not in markup:
        if inline_only:
            raise bad_request("inline keyboard expected")
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        raise bad_request('field "inline_keyboard" must be an Array of Arrays')
    for button in (button for row in rows for button in row):
        if not isinstance(button, dict) or not str(button.get("text", "")).strip():
            raise bad_request("BUTTON_TEXT_INVALID")
        data = button.get("callback_data")
        if data is not None and not (
            isinstance(data, str) and 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT
        ):
            raise bad_request("BUTTON_DATA_INVALID")
        if not _BUTTON_ACTIONS & button.keys():
            raise bad_request(
                "can't parse inline keyboard button: Text buttons are unallowed in the inline "
                "keyboard"
            )
    return markup


_COMMAND: Final = re.compile(r"[a-z0-9_]{1,32}")


def commands_of(params: JSON) -> list[JSON]:
    commands = params.get("commands")
    if not isinstance(commands, list):
        raise bad_request("can't parse commands JSON object")
    if len(commands) > 100:
        raise bad_request("BOT_COMMANDS_TOO_MUCH")
    checked: list[JSON] = []
    for command in commands:
        if not isinstance(command, dict) or not _COMMAND.fullmatch(str(command.get("command"))):
            raise bad_request("BOT_COMMAND_INVALID")
        description = command.get("description")
        if not isinstance(description, str) or not 1 <= len(description.strip()) <= 256:
            raise bad_request("BOT_COMMAND_DESCRIPTION_INVALID")
        checked.append({"command": command["command"], "description": description})
    return checked


def scope_key(params: JSON) -> str:
    """`default`, `all_private_chats`, `chat:<id>`, `chat_member:<chat>:<user>`…"""
    scope = params.get("scope")
    if scope is None or scope == "":
        return "default"
    if not isinstance(scope, dict) or not isinstance(scope.get("type"), str):
        raise bad_request("can't parse BotCommandScope JSON object")
    ids = [str(scope[key]) for key in ("chat_id", "user_id") if key in scope]
    return ":".join([scope["type"], *ids])


class ChatRateLimit:
    """Telegram's flood control for one chat: about one message a second, else a 429.

    Telegram answers `Too Many Requests: retry after N` with `parameters.retry_after`; a
    refused attempt sends nothing, so it does not count as the chat's last message.
    """

    def __init__(self, seconds_per_message: float = 1.0) -> None:
        self.seconds_per_message = seconds_per_message
        self._last_sent: dict[int, float] = {}

    def check(self, chat_id: int, now: float) -> None:
        last = self._last_sent.get(chat_id)
        if last is not None and now - last < self.seconds_per_message:
            wait = max(1, math.ceil(self.seconds_per_message - (now - last)))
            raise ApiError(429, f"Too Many Requests: retry after {wait}", retry_after=wait)

    def sent(self, chat_id: int, now: float) -> None:
        self._last_sent[chat_id] = now


def callback_answer_text(params: JSON) -> str:
    text = params.get("text")
    if text is None:
        return ""
    if not isinstance(text, str):
        raise bad_request("text must be a String")
    if len(text) > CALLBACK_ANSWER_LIMIT:
        raise bad_request("MESSAGE_TOO_LONG")
    return text


def replied_message_id(params: JSON) -> tuple[int | None, bool]:
    """The message a send answers (reply_parameters, or the older reply_to_message_id), and
    whether it may go out when that message is gone."""
    parameters = params.get("reply_parameters")
    if isinstance(parameters, dict):
        return int_param(parameters, "message_id"), flag(parameters, "allow_sending_without_reply")
    return int_param(params, "reply_to_message_id"), flag(params, "allow_sending_without_reply")
