"""Many households on one service, through the running bot (docs/product.md §14): invitations
and what each refusal says, /members, /leave, /settings, and metrics free of ids and names."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import pytest

from finance_bot.application.membership import code_hash
from finance_bot.sandbox.fake_api import FakeTelegram
from finance_bot.sandbox.people import Person
from tests.e2e.support import (
    ALICE,
    STRANGER,
    RunningBot,
    ledger_rows,
    running_bot,
    settings_for,
    transaction_count,
)

pytestmark = pytest.mark.postgres

CAROL, DAVE, ERIN = 3001, 3002, 3003
_LINK = re.compile(r"https://t\.me/finance_test_bot\?start=([A-Za-z0-9_-]+)")


@pytest.fixture
async def invite_bot(fake: FakeTelegram, fresh_database_url: str) -> AsyncIterator[RunningBot]:
    settings = settings_for(fake, fresh_database_url, signup="invite")
    async with running_bot(settings) as running:
        yield running


@pytest.fixture
async def open_bot(fake: FakeTelegram, fresh_database_url: str) -> AsyncIterator[RunningBot]:
    settings = settings_for(fake, fresh_database_url, signup="open", whitelist_telegram_ids=())
    async with running_bot(settings) as running:
        yield running


async def invitation(person: Person) -> str:
    reply = await person.say("/invite")
    found = _LINK.search(reply.text)
    assert found is not None, reply.text
    return found[1]


async def counts(bot: RunningBot) -> tuple[int, int, int]:
    rows = await ledger_rows(
        bot.database_url,
        "SELECT (SELECT count(*) FROM members WHERE left_at IS NULL) AS members,"
        " (SELECT count(*) FROM households) AS households,"
        " (SELECT count(*) FROM transactions) AS entries",
    )
    return rows[0]["members"], rows[0]["households"], rows[0]["entries"]


async def test_an_invitation_joins_once_and_every_bad_code_is_answered_writing_nothing(
    invite_bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    await alice.say("250 кафе")
    code = await invitation(alice)
    stored = await ledger_rows(invite_bot.database_url, "SELECT code_hash FROM invites")
    assert [bytes(row["code_hash"]) for row in stored] == [code_hash(code)]  # never the code

    carol = Person(fake, CAROL, "Carol", language_code="en")
    stranger = Person(fake, STRANGER, "Eve", language_code="en")
    assert "invitation link" in (await stranger.say("/start")).text  # no code: a stranger
    before = await counts(invite_bot)
    forged = await carol.say("/start " + "A" * 22)
    assert "not valid" in forged.text
    assert await counts(invite_bot) == before

    joined = await carol.say(f"/start {code}")
    assert "joined the household" in joined.text
    members = await carol.say("/members")
    assert "Алиса" in members.text
    assert "Carol (you)" in members.text
    assert str(ALICE) not in members.text
    assert str(CAROL) not in members.text
    assert (await carol.say("100 cafe")).text.startswith("#2 ")  # the household's books

    dave = Person(fake, DAVE, "Dave", language_code="en")
    before = await counts(invite_bot)
    used = await dave.say(f"/start {code}")
    assert "used already" in used.text
    assert await counts(invite_bot) == before

    # An invitation past its 48 hours, made as /invite makes one but two days ago.
    expired_code = "expired-code-0123456789"
    await ledger_rows(
        invite_bot.database_url,
        "INSERT INTO invites (code_hash, household_id, inviter_telegram_id, created_at,"
        " expires_at) SELECT $1, household_id, telegram_id, $2, $3 FROM members"
        " WHERE telegram_id = $4",
        code_hash(expired_code),
        datetime.now(UTC) - timedelta(hours=49),
        datetime.now(UTC) - timedelta(hours=1),
        ALICE,
    )
    erin = Person(fake, ERIN, "Erin", language_code="en")
    expired = await erin.say(f"/start {expired_code}")
    assert "expired" in expired.text
    assert await counts(invite_bot) == before

    # Someone in a household already keeps it: the invitation is not used.
    fresh = await invitation(alice)
    assert "already belong" in (await carol.say(f"/start {fresh}")).text
    assert (
        await ledger_rows(
            invite_bot.database_url, "SELECT count(*) AS n FROM invites WHERE used_at IS NOT NULL"
        )
    )[0]["n"] == 1


async def test_who_leaves_sees_nothing_and_their_entries_stay_under_their_name(
    invite_bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    code = await invitation(alice)
    carol = Person(fake, CAROL, "Carol", language_code="en")
    await carol.say(f"/start {code}")
    await alice.say("250 кафе")
    await carol.say("/every month 1 700 rent")
    await carol.say("100 cafe")
    month_before = (await alice.say("/month")).text
    last_before = (await alice.say("/last")).text
    assert "Carol" in month_before  # spending by person

    assert "оператор" in (await alice.say("/leave")).text
    question = await carol.say("/leave")
    stay = await carol.press(question, "Stay")
    assert "stay" in stay.text.lower()
    question = await carol.say("/leave")
    left = await carol.press(question, "Leave")
    assert "you have left" in left.text.lower()

    entries = await transaction_count(invite_bot.database_url)
    after = await carol.say("50 cafe")
    assert "invitation link" in after.text  # a stranger now
    assert "#" not in after.text
    assert await transaction_count(invite_bot.database_url) == entries
    assert (await alice.say("/month")).text == month_before
    assert (await alice.say("/last")).text == last_before  # Carol's entry is still there
    members = (await alice.say("/members")).text
    assert "Carol" not in members
    rules = await ledger_rows(invite_bot.database_url, "SELECT stopped_at FROM recurring_rules")
    assert [row["stopped_at"] is not None for row in rules] == [True]
    # The household's budget alerts reach its members, not who left.
    await alice.say("/budget кафе 400")
    heard_before = len(fake.messages_to(CAROL))
    alert = await alice.say("200 кафе")
    assert "%" in alert.text
    assert len(fake.messages_to(CAROL)) == heard_before


async def test_a_whitelisted_member_cannot_leave_and_is_told_why(
    invite_bot: RunningBot, alice: Person
) -> None:
    reply = await alice.say("/leave")
    assert "оператор" in reply.text
    assert not reply.buttons()
    assert (await counts(invite_bot))[0] == 1


async def test_settings_refuse_a_bad_zone_and_a_currency_once_something_is_recorded(
    open_bot: RunningBot, fake: FakeTelegram
) -> None:
    carol = Person(fake, CAROL, "Carol", language_code="en")
    founded = await carol.say("/start")
    assert "first member" in founded.text
    shown = await carol.say("/settings")
    assert "Europe/Kyiv" in shown.text
    assert "UAH" in shown.text

    bad = await carol.say("/settings timezone Mars/Olympus_Mons")
    assert "do not know the time zone" in bad.text
    rows = await ledger_rows(open_bot.database_url, "SELECT timezone, currency FROM households")
    assert [tuple(row) for row in rows] == [("Europe/Kyiv", "UAH")]

    assert "USD" in (await carol.say("/settings currency usd")).text  # nothing recorded yet
    assert "$250.00" in (await carol.say("250 cafe")).text
    refused = await carol.say("/settings currency EUR")
    assert "stays USD" in refused.text
    rows = await ledger_rows(open_bot.database_url, "SELECT DISTINCT currency FROM accounts")
    assert [row["currency"] for row in rows] == ["USD"]

    assert "New_York" in (await carol.say("/settings timezone America/New_York")).text
    assert "America/New_York" in (await carol.say("/settings")).text
    assert "русский" in (await carol.say("/settings language ru")).text
    # Carol chose no language herself: the household's is hers now.
    assert "Участники" in (await carol.say("/members")).text


async def test_metrics_name_no_household_person_or_id_after_two_households(
    open_bot: RunningBot, fake: FakeTelegram
) -> None:
    carol = Person(fake, CAROL, "Carolyn", language_code="en")
    dave = Person(fake, DAVE, "Davidson", language_code="en")
    erin = Person(fake, ERIN, "Erinna", language_code="en")
    await carol.say("/start")
    await dave.say("/start")
    code = await invitation(carol)
    await erin.say(f"/start {code}")
    await erin.say("120 cafe")
    await dave.say("340 taxi")
    question = await erin.say("/leave")
    await erin.press(question, "Leave")
    await erin.say("1 cafe")
    await Person(fake, STRANGER, "Mallory").say(f"/start {code}")  # used: refused
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{open_bot.metrics_url}/metrics") as response,
    ):
        text = await response.text()
    households = await ledger_rows(open_bot.database_url, "SELECT id FROM households")
    assert len(households) == 2
    for secret in (
        str(CAROL),
        str(DAVE),
        str(ERIN),
        str(STRANGER),
        "Carolyn",
        "Davidson",
        "Erinna",
        "Mallory",
        code,
    ):
        assert secret not in text, secret
    for row in households:
        assert not re.search(rf'household[^"\n]*="{row["id"]}"', text)


async def test_rule_numbers_are_each_households_own(
    open_bot: RunningBot, fake: FakeTelegram
) -> None:
    carol = Person(fake, CAROL, "Carol", language_code="en")
    dave = Person(fake, DAVE, "Dave", language_code="en")
    for person in (carol, dave):
        await person.say("/start")
        await person.say("/every month 1 700 rent")
    await dave.say("/every week mon 50 taxi")
    assert "2" in (await dave.say("/recurring")).text
    await carol.say("/every off 1")
    rows = await ledger_rows(
        open_bot.database_url,
        "SELECT m.telegram_id, r.number, r.stopped_at IS NOT NULL AS stopped"
        "  FROM recurring_rules r JOIN members m ON m.telegram_id = r.author_telegram_id"
        " ORDER BY r.id",
    )
    assert [tuple(row) for row in rows] == [(CAROL, 1, True), (DAVE, 1, False), (DAVE, 2, False)]
    refused = await carol.say("/every off 2")  # Dave's second rule is not Carol's
    assert "2" in refused.text
    still = await ledger_rows(
        open_bot.database_url, "SELECT count(*) AS n FROM recurring_rules WHERE stopped_at IS NULL"
    )
    assert still[0]["n"] == 2


async def test_a_flood_of_forged_codes_is_answered_within_the_strangers_limits(
    invite_bot: RunningBot, fake: FakeTelegram
) -> None:
    update_ids = [
        fake.send_text(70_000 + n, f"/start forged{n:04d}forged{n:04d}", first_name="X")
        for n in range(25)
    ]
    again = fake.send_text(70_000, "/start forged0000forged0000", first_name="X")
    await Person(fake, 70_000, "X").processed(max([*update_ids, again]))
    answered = [n for n in range(25) if fake.messages_to(70_000 + n)]
    assert len(answered) == 20  # the global cap of denial replies a minute
    assert len(fake.messages_to(70_000)) == 1  # the same id again within the minute: silence
    assert await counts(invite_bot) == (0, 0, 0)  # nobody joined, nothing was founded
