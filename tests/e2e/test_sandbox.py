"""`finance-bot sandbox`: the whole bot offline, chatted with through the terminal."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.postgres


async def test_sandbox_chats_in_the_terminal_with_buttons(tmp_path: Path) -> None:
    environment = {
        key: value for key, value in os.environ.items() if key != "DATABASE_URL"
    }  # the sandbox never touches a real database anyway
    environment.update(DATA_DIR=str(tmp_path), LOG_LEVEL="WARNING", BOT_LANGUAGE="ru")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "sandbox",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    lines = "250 кафе\n!2\n!3\n/balance\n!9\n"
    out, err = await asyncio.wait_for(process.communicate(lines.encode()), timeout=120)
    transcript = out.decode()
    assert process.returncode == 0, err.decode()[-2000:]
    assert "#1 −250,00\u00a0₴ · кафе · карта" in transcript
    assert "[1] Отменить  [2] Категория" in transcript
    assert "#3 −250,00\u00a0₴ · кофе · карта" in transcript  # re-filed by button [3]
    assert "карта: −250,00\u00a0₴" in transcript
    assert "no such button" in transcript
    assert (tmp_path / "sandbox" / "pgdata").is_dir()


async def test_sandbox_terminal_shows_the_chat_and_its_logs_go_to_a_file(tmp_path: Path) -> None:
    environment = {key: value for key, value in os.environ.items() if key != "DATABASE_URL"}
    environment.update(DATA_DIR=str(tmp_path), LOG_LEVEL="INFO", BOT_LANGUAGE="en")
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "finance_bot",
        "sandbox",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=environment,
    )
    out, err = await asyncio.wait_for(process.communicate(b""), timeout=120)
    assert process.returncode == 0, err.decode()[-2000:]
    log_file = tmp_path / "sandbox" / "finance-bot.log"
    before_prompt = out.decode().split("\n> ")[0].splitlines() + err.decode().splitlines()
    assert before_prompt[0] == f"finance-bot sandbox: logs go to {log_file}"
    assert not [line for line in before_prompt if line.lstrip().startswith("{")]
    logged = [json.loads(line) for line in log_file.read_text(encoding="utf-8").splitlines()]
    assert "starting embedded postgresql" in [entry["message"] for entry in logged]
