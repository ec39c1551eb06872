"""Many households on one service, through the running bot (docs/product.md §14): invitations
and what each refusal says, /members, /leave, /settings, and metrics free of ids and names."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import aiohttp
import asyncpg
import pytest

from finance_bot.adapters.postgres.check import check_all
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
        # A number stands alone: "3003" inside a timestamp (1.7963003944e+09) is no id.
        assert not re.search(rf"(?<![0-9.]){re.escape(secret)}(?![0-9])", text), secret
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


async def _leave(person: Person) -> None:
    question = await person.say("/leave")
    left = await person.press(question, "Leave")
    assert "you have left" in left.text.lower()


async def _entries_by(database_url: str, telegram_id: int) -> list[tuple[object, ...]]:
    """A person's entries, each with its number and household."""
    rows = await ledger_rows(
        database_url,
        "SELECT id, number, household_id FROM transactions WHERE author_telegram_id = $1"
        " ORDER BY household_id, number",
        telegram_id,
    )
    return [tuple(row) for row in rows]


async def _sees_only_the_second_household(erin: Person) -> None:
    """Erin, in Dave's household after Alice's: /month, /last, /members and /balance
    show Dave's household alone — nothing of the spending (₴250, ₴100) or the people of
    the household she left."""
    month = (await erin.say("/month")).text
    assert "taxi" in month
    for theirs in ("cafe", "кафе", "₴100.00", "₴250.00", "Алиса"):
        assert theirs not in month, theirs
    last = (await erin.say("/last")).text
    assert "#1" in last
    assert "#2" not in last
    members = (await erin.say("/members")).text
    assert "Dave" in members
    assert "Erin (you)" in members
    assert "Алиса" not in members
    balance = (await erin.say("/balance")).text
    assert "₴250.00" not in balance
    assert "₴100.00" not in balance


async def test_who_left_joins_another_household_and_sees_only_its_books(
    fake: FakeTelegram, fresh_database_url: str, alice: Person
) -> None:
    """Erin keeps books with Alice (A), leaves, joins Dave's household (B) by invitation,
    leaves that too and founds her own (C): each time she sees only the household she is
    in, and the households she left keep their books, her entries under her name."""
    dave = Person(fake, DAVE, "Dave", language_code="en")
    erin = Person(fake, ERIN, "Erin", language_code="en")
    open_signup = settings_for(fake, fresh_database_url, signup="open", whitelist_telegram_ids=())
    async with running_bot(open_signup):
        assert "first member" in (await dave.say("/start")).text  # B

    async with running_bot(settings_for(fake, fresh_database_url, signup="invite")) as bot:
        await alice.say("250 кафе")  # A, the whitelist's household
        joined = await erin.say(f"/start {await invitation(alice)}")
        assert "joined the household" in joined.text
        assert (await erin.say("100 cafe")).text.startswith("#2 ")
        await _leave(erin)
        month_a, last_a = (await alice.say("/month")).text, (await alice.say("/last")).text
        assert "Erin" in month_a
        books_a = await _entries_by(bot.database_url, ALICE)

        joined = await erin.say(f"/start {await invitation(dave)}")
        assert "joined the household" in joined.text
        assert (await erin.say("40 taxi")).text.startswith("#1 ")  # B's own numbers
        await _sees_only_the_second_household(erin)
        # A as it was: Alice's books, and Erin's entry in them under her name.
        assert "Erin" not in (await alice.say("/members")).text
        assert (await alice.say("/month")).text == month_a
        assert (await alice.say("/last")).text == last_a
        assert await _entries_by(bot.database_url, ALICE) == books_a
        household_a = books_a[0][2]
        erins = {
            household: number for _, number, household in await _entries_by(bot.database_url, ERIN)
        }
        assert erins.pop(household_a) == 2  # her entry in A, #2 there
        assert list(erins.values()) == [1]  # and #1 in B
        await _leave(erin)

    async with running_bot(open_signup) as bot:
        assert "first member" in (await erin.say("/start")).text  # C, her own
        members = (await erin.say("/members")).text
        assert "Erin (you)" in members
        assert "Dave" not in members
        assert "Алиса" not in members
        assert "taxi" not in (await erin.say("/month")).text
        assert "Erin" not in (await dave.say("/members")).text
        rows = await ledger_rows(
            bot.database_url,
            "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = $1"
            " ORDER BY created_at",
            ERIN,
        )
        assert [row["active"] for row in rows] == [False, False, True]
        assert len({row["household_id"] for row in rows}) == 3
        connection = await asyncpg.connect(bot.database_url)
        try:
            assert await check_all(connection) == []
        finally:
            await connection.close()


async def _delivered_twice(fake: FakeTelegram, person: Person, text: str) -> list[str]:
    """`text` from `person`, then the very same update again (same update_id): Telegram
    never got the first answer's 200. What the bot answered, in order."""
    before = len(fake.messages_to(person.telegram_id))
    update_id = fake.send_text(
        person.telegram_id, text, language_code=person.language_code, first_name=person.first_name
    )
    await person.processed(update_id)
    fake.redeliver(update_id)
    await fake.wait_for(lambda: len(fake.messages_to(person.telegram_id)) >= before + 2)
    await fake.wait_for(lambda: update_id not in fake.pending_update_ids())
    return [str(m.get("text", "")) for m in fake.messages_to(person.telegram_id)[before:]]


async def test_a_redelivered_invitation_is_answered_as_the_first_time_and_joins_once(
    invite_bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    code = await invitation(alice)
    carol = Person(fake, CAROL, "Carol", language_code="en")
    first, again = await _delivered_twice(fake, carol, f"/start {code}")
    assert "joined the household" in first
    assert again == first
    rows = await ledger_rows(
        invite_bot.database_url,
        "SELECT (SELECT count(*) FROM members WHERE telegram_id = $1) AS memberships,"
        " (SELECT count(*) FROM accounts WHERE owner_telegram_id = $1) AS accounts,"
        " (SELECT count(*) FROM invites WHERE used_by_telegram_id = $1) AS used",
        CAROL,
    )
    assert tuple(rows[0]) == (1, 2, 1)
    # Another update with the same code: for someone else it is used, for Carol (a member
    # now, and not by this message) her household is one already.
    dave = Person(fake, DAVE, "Dave", language_code="en")
    assert "used already" in (await dave.say(f"/start {code}")).text
    assert "already belong" in (await carol.say(f"/start {code}")).text
    assert await counts(invite_bot) == (2, 1, 0)


async def test_a_redelivered_founding_start_founds_one_household(
    open_bot: RunningBot, fake: FakeTelegram
) -> None:
    carol = Person(fake, CAROL, "Carol", language_code="en")
    first, again = await _delivered_twice(fake, carol, "/start")
    assert "first member" in first
    assert again == first
    assert await counts(open_bot) == (1, 1, 0)
    # A /start of her own later is no founding: the usual greeting.
    assert "first member" not in (await carol.say("/start")).text
    assert await counts(open_bot) == (1, 1, 0)


async def test_who_leaves_cannot_come_back_through_a_link_they_made(
    invite_bot: RunningBot, fake: FakeTelegram, alice: Person
) -> None:
    carol = Person(fake, CAROL, "Carol", language_code="en")
    await carol.say(f"/start {await invitation(alice)}")
    own = await invitation(carol)  # made while a member, never sent on
    await carol.say("100 cafe")
    await _leave(carol)
    before = await counts(invite_bot)
    refused = await carol.say(f"/start {own}")
    assert "the member who made it has left" in refused.text
    assert await counts(invite_bot) == before
    assert "Carol" not in (await alice.say("/members")).text
    unused = await ledger_rows(
        invite_bot.database_url, "SELECT count(*) AS n FROM invites WHERE used_at IS NULL"
    )
    assert unused[0]["n"] == 1  # hers, refused and still unused


async def test_a_leave_button_of_a_household_left_before_leaves_no_other(
    open_bot: RunningBot, fake: FakeTelegram
) -> None:
    """Carol asks /leave twice in her own household and leaves through the second
    question; in Dave's household now, she presses Leave on the first one, still in the
    chat. It asked about the household she has left: she stays in Dave's."""
    carol = Person(fake, CAROL, "Carol", language_code="en")
    dave = Person(fake, DAVE, "Dave", language_code="en")
    await carol.say("/start")
    await dave.say("/start")
    old = await carol.say("/leave")
    await _leave(carol)
    assert "joined the household" in (await carol.say(f"/start {await invitation(dave)}")).text
    before = await ledger_rows(
        open_bot.database_url,
        "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = $1"
        " ORDER BY household_id",
        CAROL,
    )
    pressed = await carol.press(old, "Leave")
    assert "you have left" not in pressed.text.lower()
    assert "does nothing any more" in pressed.text
    after = await ledger_rows(
        open_bot.database_url,
        "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = $1"
        " ORDER BY household_id",
        CAROL,
    )
    assert [tuple(row) for row in after] == [tuple(row) for row in before]
    assert [row["active"] for row in after] == [False, True]
    # A question of the first form, which named no household, leaves nobody either.
    question = next(m for m in old.messages if m.get("reply_markup"))
    await carol.processed(fake.press_button(CAROL, question["message_id"], "l:1"))
    assert (
        await ledger_rows(
            open_bot.database_url,
            "SELECT household_id, left_at IS NULL AS active FROM members WHERE telegram_id = $1"
            " ORDER BY household_id",
            CAROL,
        )
        == after
    )
    assert "Carol" in (await dave.say("/members")).text
