"""The webhook's paths nobody walks on a good day (SPEC §15, docs/adr/0020).

A forger without the secret, or a sender with it whose request cannot be an update, gets
a 4xx that says why: no 5xx, which asks for the same request again, and no write. The
books are compared table by table, before and after; the same update sent properly
afterwards is served, so each refusal was the request's own. And two deliveries of one
update at two replicas at once, or a database failing inside an update's transaction,
still leave the entry in the books once.
"""

from __future__ import annotations

import asyncio
import json
from urllib.parse import urlsplit

import asyncpg
import pytest

from finance_bot.sandbox.fake_api import FakeTelegram
from tests.e2e.processes import eventually
from tests.e2e.support import ALICE, ledger_rows, transaction_count
from tests.e2e.test_webhook import lock_waits
from tests.e2e.webhooks import SECRET, post_update, webhook_bot

pytestmark = pytest.mark.postgres

UPDATE_JSON = "application/json"
WAIT = 60.0


async def raw_request(
    url: str, body: bytes, headers: dict[bytes, bytes], *, method: bytes = b"POST"
) -> tuple[int, str]:
    """One HTTP/1.1 request written byte by byte, for what an HTTP client will not send
    (a header that is not UTF-8); the status and body of the answer."""
    parts = urlsplit(url)
    assert parts.hostname is not None
    assert parts.port is not None
    reader, writer = await asyncio.open_connection(parts.hostname, parts.port)
    try:
        lines = [method + b" " + parts.path.encode() + b" HTTP/1.1", b"Host: bot"]
        lines += [name + b": " + value for name, value in headers.items()]
        lines += [b"Content-Length: " + str(len(body)).encode(), b"Connection: close"]
        writer.write(b"\r\n".join(lines) + b"\r\n\r\n" + body)
        answer = await asyncio.wait_for(reader.read(), timeout=30)
    finally:
        writer.close()
    head, _, text = answer.partition(b"\r\n\r\n")
    return int(head.split(b" ", 2)[1]), text.decode(errors="replace")


async def row_counts(database_url: str) -> dict[str, int]:
    """Every table of the bot's schema and how many rows it holds."""
    tables = await ledger_rows(
        database_url,
        "SELECT quote_ident(table_name) AS name FROM information_schema.tables"
        " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'",
    )
    counts = {}
    for table in tables:
        rows = await ledger_rows(database_url, f"SELECT count(*) AS n FROM {table['name']}")
        counts[str(table["name"])] = int(rows[0]["n"])
    return counts


def secret_header(value: bytes, content_type: bytes = UPDATE_JSON.encode()) -> dict[bytes, bytes]:
    return {b"X-Telegram-Bot-Api-Secret-Token": value, b"Content-Type": content_type}


async def test_hostile_requests_get_a_4xx_that_says_why_and_write_nothing(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    async with webhook_bot(fake, fresh_database_url) as (_, url):
        fake.webhook.delete()  # the test is Telegram now, and a forger
        update = fake.update_json(fake.send_text(ALICE, "250 кафе", first_name="Алиса"))
        body = json.dumps(update).encode()
        secret = SECRET.encode()
        before = await row_counts(fresh_database_url)

        refused = [
            # Without the secret: refused before the body is read, whatever the header holds.
            (secret_header(secret + b"\xff"), body, 403),  # not UTF-8
            (secret_header(b"\xe9" + secret[1:]), body, 403),  # Latin-1, one byte replaced
            (secret_header(secret.upper()), body, 403),
            (secret_header(secret.replace(b"-", b" ")), body, 403),
            # With it, bodies no update can come of.
            (secret_header(secret), b"250 \xd0\xba\xd0\xb0\xd1\x84\xd0\xb5", 400),
            (secret_header(secret), b"[" + body + b"]", 400),
            (secret_header(secret), json.dumps({"message": update["message"]}).encode(), 400),
            # Nested past what the parser can follow, in a field nobody reads.
            (secret_header(secret), body[:-1] + b', "x": ' + b"[" * 100_000 + b"]}", 400),
            # A charset no decoder knows, for the update itself.
            (secret_header(secret, b"application/json; charset=x-unknown"), body, 400),
            # Over the size an update may have, with the update in front.
            (secret_header(secret), body[:-1] + b', "x": "' + b"a" * 2**20 + b'"}', 413),
        ]
        for headers, payload, status in refused:
            answer, text = await raw_request(url, payload, headers)
            assert (answer, bool(text)) == (status, True), (headers, payload[:60], text)
        assert (await raw_request(url, b"", secret_header(secret), method=b"GET"))[0] == 405
        assert (await raw_request(url + "/", body, secret_header(secret)))[0] == 404

        assert await row_counts(fresh_database_url) == before
        assert fake.calls("sendMessage") == []

        # The same update, as Telegram sends it, is served once.
        served, reply = await post_update(url, update)
        assert served == 200
        assert json.loads(reply)["method"] == "sendMessage"

    assert await transaction_count(fresh_database_url) == 1


async def test_one_update_posted_to_two_replicas_at_once_is_one_entry_answered_alike(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    """As a load balancer may do when its first try seemed lost: the same update at two
    replicas at the same moment, which share no lock but the database's. The first line
    founds the household, the race that writes the most."""
    async with (
        webhook_bot(fake, fresh_database_url) as (_, first),
        webhook_bot(fake, fresh_database_url) as (_, second),
    ):
        fake.webhook.delete()  # the test is the load balancer now
        for units in (250, 100, 40):
            update_id = fake.send_text(ALICE, f"{units} кафе", first_name="Алиса")
            update = fake.update_json(update_id)
            answers = await asyncio.gather(
                *(post_update(url, update) for url in (first, second, first, second))
            )
            assert {status for status, _ in answers} == {200}, answers
            assert len({json.loads(body)["text"] for _, body in answers}) == 1, answers

    rows = await ledger_rows(
        fresh_database_url,
        "SELECT t.number, p.amount_minor FROM transactions t"
        " JOIN postings p ON p.transaction_id = t.id AND p.direction = 'debit'"
        " ORDER BY t.number",
    )
    assert [(row["number"], row["amount_minor"]) for row in rows] == [
        (1, 25_000),
        (2, 10_000),
        (3, 4_000),
    ]
    assert (await row_counts(fresh_database_url))["households"] == 1


async def test_a_backend_killed_inside_the_updates_transaction_is_a_503_and_the_retry_books_once(
    fake: FakeTelegram, fresh_database_url: str
) -> None:
    """The database fails in the middle of the update's unit of work, not before it: the
    answer asks for the update again, nothing of the attempt stays, and the retry books
    the line once."""
    async with webhook_bot(fake, fresh_database_url) as (_, url):
        fake.webhook.delete()  # the test is Telegram now
        update = fake.update_json(fake.send_text(ALICE, "10 кафе", first_name="Алиса"))
        assert (await post_update(url, update))[0] == 200
        before = await row_counts(fresh_database_url)

        update = fake.update_json(fake.send_text(ALICE, "250 кафе", first_name="Алиса"))
        holder = await asyncpg.connect(fresh_database_url)
        try:
            async with holder.transaction():
                await holder.execute("LOCK TABLE transactions IN SHARE MODE")
                posted = asyncio.create_task(post_update(url, update))
                await eventually(lambda: lock_waits(holder), timeout=WAIT, what="the entry waiting")
                killed = await holder.fetchval(
                    "SELECT count(pg_terminate_backend(pid)) FROM pg_locks"
                    " WHERE NOT granted AND pid <> pg_backend_pid()"
                )
                assert killed == 1
                assert await asyncio.wait_for(posted, timeout=WAIT) == (503, "try again")
        finally:
            await holder.close()
        assert await row_counts(fresh_database_url) == before

        served, reply = await post_update(url, update)
        assert served == 200
        assert json.loads(reply)["text"].startswith("#2 ")
        assert (await post_update(url, update))[1] == reply  # and again: the stored answer

    assert await transaction_count(fresh_database_url) == 2
    assert fake.calls("sendMessage") == []  # every reply was in an answer
