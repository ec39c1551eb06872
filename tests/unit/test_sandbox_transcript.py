"""The sandbox terminal shows a photo the bot sends as the file it saved, and its caption."""

from __future__ import annotations

import io
from pathlib import Path

from finance_bot.sandbox.fake_api import ApiCall, FakeTelegram
from finance_bot.sandbox.fake_api_rules import Upload
from finance_bot.sandbox.terminal import Transcript


def test_a_photo_is_saved_and_shown_with_its_caption(tmp_path: Path) -> None:
    out = io.StringIO()
    transcript = Transcript(FakeTelegram(), out, tmp_path / "files")
    photo = Upload("chart.png", "image/png", b"\x89PNG" * 512)
    transcript(ApiCall("sendPhoto", {"chat_id": 1, "photo": photo, "caption": "Итого"}, 0.0, 200))
    saved = tmp_path / "files" / "chart.png"
    assert saved.read_bytes() == photo.data
    assert out.getvalue() == f"[{saved}] Итого\n"


def test_without_a_folder_the_file_is_named_only() -> None:
    out = io.StringIO()
    transcript = Transcript(FakeTelegram(), out)
    photo = Upload("chart.png", "image/png", b"x" * 4096)
    transcript(ApiCall("sendPhoto", {"chat_id": 1, "photo": photo}, 0.0, 200))
    transcript(ApiCall("sendPhoto", {"chat_id": 1, "photo": photo}, 0.0, 400))  # refused
    assert out.getvalue() == "[chart.png, 4 KB]\n"
