"""The composition root: the only place that builds adapters and wires them together."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import signal
import sys
from collections.abc import AsyncIterator, Coroutine
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

import asyncpg
from aiogram import Bot
from pydantic import SecretStr

from finance_bot.adapters.observability.http_endpoints import Endpoints
from finance_bot.adapters.observability.metrics import BotMetrics
from finance_bot.adapters.observability.watchdog import (
    watch_backups,
    watch_idempotency_keys,
    watch_ledger,
)
from finance_bot.adapters.postgres.embedded import EmbeddedPostgres
from finance_bot.adapters.postgres.export import PostgresExport
from finance_bot.adapters.postgres.leadership import AdvisoryLease
from finance_bot.adapters.postgres.migrator import can_migrate, migrate, pending_versions
from finance_bot.adapters.postgres.roles import (
    APP,
    DUMP,
    OWNER,
    Logins,
    least_privilege_logins,
    url_password,
    url_user,
)
from finance_bot.adapters.postgres.unit_of_work import PostgresUnitOfWorkFactory, create_pool
from finance_bot.adapters.rates.feed import RatesFeed, StoreRates
from finance_bot.adapters.rates.nbu import NbuRates, OfficialRates
from finance_bot.adapters.scheduling import NamedJob, Scheduler
from finance_bot.adapters.system import SystemClock, UuidV7Source
from finance_bot.adapters.telegram.commands import register_commands
from finance_bot.adapters.telegram.context import ChatServices
from finance_bot.adapters.telegram.digests import DigestJob
from finance_bot.adapters.telegram.dispatcher import build_dispatcher
from finance_bot.adapters.telegram.i18n import Catalog
from finance_bot.adapters.telegram.lean_import import warm_up
from finance_bot.adapters.telegram.polling import (
    ALLOWED_UPDATES,
    Poller,
    QuietObserver,
    token_rejection,
)
from finance_bot.adapters.telegram.recurring_notices import RecurringEntries
from finance_bot.adapters.telegram.replies import send_text
from finance_bot.adapters.telegram.session import build_bot
from finance_bot.adapters.telegram.webhook import WebhookServer
from finance_bot.adapters.transient import is_transient
from finance_bot.application.rates import store_official_rates
from finance_bot.config import Settings
from finance_bot.ports.unit_of_work import UnitOfWorkFactory

if TYPE_CHECKING:
    from finance_bot.adapters.backup import BackupOptions
    from finance_bot.adapters.postgres.check import Violation
    from finance_bot.application.books_import import Imported

log = logging.getLogger(__name__)
T = TypeVar("T")
BACKUP_LOG_INTERVAL_SECONDS = 60.0  # the backup age alert fires after hours; a minute is plenty
KEY_PRUNING_INTERVAL_SECONDS = 3600.0  # keys are kept a week; pruning hourly keeps the table small


@dataclass(frozen=True)
class Database:
    logins: Logins  # one login per job: the bot, migrations and restores, backups
    client_bin_dir: Path | None  # pg_dump / pg_restore of the embedded server, if used

    @property
    def url(self) -> str:
        """The bot's own login, the runtime role."""
        return self.logins.runtime


@asynccontextmanager
async def database(settings: Settings) -> AsyncIterator[Database]:
    """The configured PostgreSQL, or an embedded one in DATA_DIR when DATABASE_URL is unset;
    reached with the least-privilege roles (docs/adr/0009)."""
    if settings.database_url is not None:
        runtime = settings.database_url.get_secret_value()
        yield Database(await _logins(settings, runtime), None)
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    url = embedded.start()
    try:
        yield Database(await _logins(settings, url), embedded.bin_dir())
    finally:
        embedded.stop()


async def _logins(settings: Settings, runtime: str) -> Logins:
    def configured(value: SecretStr | None) -> str:
        return value.get_secret_value() if value is not None else runtime

    return await least_privilege_logins(
        runtime, configured(settings.database_owner_url), configured(settings.database_backup_url)
    )


@asynccontextmanager
async def admin_database(settings: Settings) -> AsyncIterator[str]:
    """A superuser's URL for `setup-roles`: DATABASE_ADMIN_URL, or the embedded server's."""
    if settings.database_admin_url is not None:
        yield settings.database_admin_url.get_secret_value()
        return
    embedded = EmbeddedPostgres(settings.data_dir)
    try:
        yield embedded.start()
    finally:
        embedded.stop()


def role_passwords(settings: Settings) -> dict[str, str]:
    """The passwords the DATABASE_*_URL settings carry for the finance-bot login roles."""
    found = {}
    for value, role in (
        (settings.database_url, APP),
        (settings.database_owner_url, OWNER),
        (settings.database_backup_url, DUMP),
    ):
        if value is None:
            continue
        url = value.get_secret_value()
        password = url_password(url)
        if url_user(url) == role and password:
            found[role] = password
    return found


@dataclass(frozen=True)
class Application:
    settings: Settings
    pool: asyncpg.Pool
    uow_factory: PostgresUnitOfWorkFactory
    ids: UuidV7Source
    clock: SystemClock
    metrics: BotMetrics
    runtime_url: str  # the bot's own login, for the connections a pool does not serve


@asynccontextmanager
async def application(
    settings: Settings, *, run_migrations: bool = True
) -> AsyncIterator[Application]:
    async with database(settings) as db:
        if run_migrations:
            await _migrate_or_verify(db.logins.owner)
        pool = await create_pool(db.url)
        # Role names are no secret; which one runs is what an operator checks first.
        log.info(
            f"database role {url_user(db.logins.runtime)}; migrations as "
            f"{url_user(db.logins.owner)}"
            + ("; roles set up with the superuser's URL" if db.logins.set_up_here else "")
        )
        try:
            yield Application(
                settings=settings,
                pool=pool,
                uow_factory=PostgresUnitOfWorkFactory(pool),
                ids=UuidV7Source(),
                clock=SystemClock(),
                metrics=BotMetrics(),
                runtime_url=db.url,
            )
        finally:
            await pool.close()


async def _migrate_or_verify(url: str) -> None:
    """Migrate when this login is the owner's; the bot's own login (compose, where the
    migrate service runs first) only makes sure the schema is up to date."""
    connection = await asyncpg.connect(url)
    try:
        if await can_migrate(connection):
            await migrate(connection)
            return
        pending = await pending_versions(connection)
    finally:
        await connection.close()
    if pending:
        raise SystemExit(
            f"the database schema lacks migrations {pending}: run `finance-bot migrate` with "
            "the owner role's login (DATABASE_OWNER_URL; docs/runbook.md)"
        )


def chat_services(app: Application) -> ChatServices:
    settings = app.settings
    return ChatServices(
        uow_factory=app.uow_factory,
        ids=app.ids,
        catalog=Catalog.load(),
        timezone=settings.timezone,
        currency=settings.default_currency,
        fallback_language=settings.bot_language,
        whitelist=frozenset(settings.whitelist_telegram_ids),
        signup=settings.signup,
        clock=app.clock,
        metrics=app.metrics,
        recurring=app.uow_factory,
        export=PostgresExport(app.pool),
        sharing=app.uow_factory.sharing,
    )


class UpdateSource(Protocol):
    """Where updates come from: the polling loop, or the webhook endpoint (BOT_MODE)."""

    def healthy(self, now: float) -> bool: ...

    def stop(self) -> None: ...

    async def run(self) -> None: ...


@asynccontextmanager
async def chat(app: Application, *, token: str, api_base: str) -> AsyncIterator[ChatBot]:
    """The bot, its dispatcher and where its updates come from, wired to the application."""
    settings = app.settings
    services = chat_services(app)
    warm_up()  # build the aiogram models every update needs now, not on the first message
    bot = build_bot(token, api_base, app.metrics, before_request=app.uow_factory.park)
    try:
        dispatcher = build_dispatcher(services)
        source: UpdateSource
        if settings.bot_mode == "webhook":
            assert settings.webhook_secret is not None  # Settings refuses webhook mode without
            source = WebhookServer(
                bot,
                dispatcher,
                secret=settings.webhook_secret.get_secret_value(),
                host=settings.webhook_host,
                port=settings.webhook_port,
                observer=CountSkipped(app.metrics),
                inline_replies=settings.webhook_inline_replies,
            )
        else:
            source = Poller(bot, dispatcher, observer=CountSkipped(app.metrics), api_base=api_base)
        yield ChatBot(bot=bot, source=source, services=services, mode=settings.bot_mode)
    finally:
        await bot.session.close()


class CountSkipped(QuietObserver):
    def __init__(self, metrics: BotMetrics) -> None:
        self._metrics = metrics

    def update_skipped(self, update_id: int) -> None:
        self._metrics.update_skipped()


@dataclass(frozen=True)
class ChatBot:
    bot: Bot
    source: UpdateSource
    services: ChatServices
    mode: str = "polling"  # BOT_MODE: "polling" or "webhook"

    async def run(self) -> None:
        """Register the command menu, then take updates until stopped."""
        try:
            # The bot's username, for invitation links: asked once here, kept by aiogram.
            await self.bot.me()
        except Exception as error:
            rejected = token_rejection(error, "getMe")
            if rejected is not None:
                raise rejected from None
            if not is_transient(error):
                raise
            log.warning("bot's name not read yet", extra={"error": type(error).__name__})
        try:
            await register_commands(self.bot, self.services.catalog)
        except Exception as error:  # the menu is a nicety; polling must not wait on it
            rejected = token_rejection(error, "setMyCommands")
            if rejected is not None:
                raise rejected from None
            if not is_transient(error):
                raise
            log.warning("command menu not registered", extra={"error": type(error).__name__})
        keep_out_of_collections()
        await self.source.run()


def keep_out_of_collections() -> None:
    """Everything made so far — modules, classes, aiogram's and pydantic's models — lives as
    long as the process: out of the garbage collector's way. A full collection looks at
    every object it tracks; with these among them it held the bot up to ~140 ms at a time
    under load (a p99 of 130–260 ms at 200 messages/s), without them a few ms."""
    gc.collect()
    gc.freeze()
    # An update makes a few thousand short-lived objects, nearly all freed by reference
    # counting; collecting the youngest generation every 700 allocations then mostly
    # examined (and promoted) objects about to die anyway. Every 10 000, the collector's
    # share of a chat line fell by half (docs/adr/0028); what it holds meanwhile is a few MB.
    gc.set_threshold(10_000, 10, 10)


async def run_bot(settings: Settings, *, stop_signals: bool = True) -> None:
    token = settings.telegram_bot_token
    if token is None:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set (see README, Configuration)")
    if not settings.whitelist_telegram_ids:
        # Allowed on purpose: the bot then answers everyone with their id, which is how an
        # operator learns the ids to put in WHITELIST_TELEGRAM_IDS (docs/runbook.md).
        log.warning("WHITELIST_TELEGRAM_IDS is empty: nobody is served")
    async with (
        application(settings) as app,
        chat(app, token=token.get_secret_value(), api_base=settings.telegram_api_base) as bot,
        serving_metrics(app, bot),
        official_rates_feed(settings, app.metrics, store=official_rates_storage(app.uow_factory)),
        scheduled_work(app, bot),
    ):
        if stop_signals:
            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGTERM, signal.SIGINT):
                loop.add_signal_handler(signal_number, bot.source.stop)
        log.info("bot started", extra={"mode": bot.mode})
        await bot.run()
        log.info("bot stopped")


@asynccontextmanager
async def serving_metrics(app: Application, bot: ChatBot) -> AsyncIterator[Endpoints]:
    """/metrics and /healthz, and the periodic invariant check behind its metrics."""

    async def probe() -> dict[str, bool]:
        try:
            database = await app.pool.fetchval("SELECT true", timeout=3) is True
        except Exception:
            database = False
        # Per replica: in webhook mode, ready means the endpoint is listening.
        receiving = bot.source.healthy(asyncio.get_running_loop().time())
        return {"database": database, bot.mode: receiving}

    endpoints = Endpoints(app.metrics, probe)
    try:
        await endpoints.start(app.settings.metrics_host, app.settings.metrics_port)
    except OSError as error:
        # The household is served all the same; the operator sees the health check fail.
        log.error("metrics endpoint not available", extra={"error": type(error).__name__})
    watchers = [
        asyncio.create_task(
            watch_ledger(app.pool, app.metrics, app.settings.invariant_check_interval_seconds)
        ),
        asyncio.create_task(watch_backups(app.pool, app.metrics, BACKUP_LOG_INTERVAL_SECONDS)),
        asyncio.create_task(watch_idempotency_keys(app.pool, KEY_PRUNING_INTERVAL_SECONDS)),
    ]
    try:
        yield endpoints
    finally:
        for watcher in watchers:
            watcher.cancel()
        for watcher in watchers:
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await endpoints.stop()


def scheduled_jobs(app: Application, bot: ChatBot) -> list[NamedJob]:
    """What the scheduler runs at each tick, in this order."""
    return [recurring_entries_job(app, bot), digest_job(app, bot)]


def recurring_entries_job(app: Application, bot: ChatBot) -> NamedJob:
    """Each due date of every repeating entry recorded once, its author told (§9)."""
    return RecurringEntries(bot.services, app.uow_factory, bot.bot).job()


def digest_job(app: Application, bot: ChatBot) -> NamedJob:
    """Each person's digest, sent once per period (docs/product.md §10, docs/adr/0017)."""
    services = bot.services

    async def send(chat_id: int, text: str) -> None:
        await send_text(bot.bot, chat_id, text)

    job = DigestJob(
        uow_factory=app.uow_factory,
        catalog=services.catalog,
        timezone=services.timezone,
        fallback_language=services.fallback_language,
        send=send,
        # SIGNUP=whitelist: the list decides, as ever; otherwise every member is served
        # (pending_digests yields members only).
        serves=services.whitelist.__contains__ if services.signup == "whitelist" else _anyone,
    )
    return NamedJob("digests", job.run)


def _anyone(telegram_id: int) -> bool:
    return True


@asynccontextmanager
async def scheduled_work(app: Application, bot: ChatBot) -> AsyncIterator[asyncio.Task[None]]:
    """The scheduler as a task beside the chat (docs/product.md §9, §10)."""
    # Replicas share one database: the one holding the lease runs the jobs (SPEC §15).
    lease = AdvisoryLease(app.runtime_url)
    scheduler = Scheduler(
        jobs=scheduled_jobs(app, bot),
        interval_seconds=app.settings.scheduler_interval_seconds,
        lease=lease.held,
    )
    try:
        async with beside(scheduler.run(), "scheduler") as task:
            yield task
    finally:
        await lease.release()


def official_rates_storage(uow_factory: UnitOfWorkFactory) -> StoreRates:
    """Each day's official rates go into every household's rate history (source
    `official`), each in its own base currency."""

    async def store(rates: OfficialRates) -> None:
        await store_official_rates(uow_factory, rates)

    return store


@asynccontextmanager
async def official_rates_feed(
    settings: Settings, metrics: BotMetrics, *, store: StoreRates
) -> AsyncIterator[asyncio.Task[None] | None]:
    """The daily official-rates feed as a task beside the chat when FX_RATES_SOURCE=nbu;
    with the default, off, nothing at all."""
    if settings.fx_rates_source != "nbu":
        yield None
        return
    feed = RatesFeed(
        fetch=NbuRates(settings.fx_rates_url).fetch,
        store=store,
        timezone=settings.timezone,
        metrics=metrics,
    )
    async with beside(feed.run(), "official-rates-feed") as task:
        yield task


@asynccontextmanager
async def beside(work: Coroutine[Any, Any, None], name: str) -> AsyncIterator[asyncio.Task[None]]:
    """`work` as a task while the block runs; cancelled, and awaited, when it ends."""
    task = asyncio.create_task(work, name=name)
    try:
        yield task
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """Run on uvloop where it exists (a faster event loop), else on asyncio's own."""
    try:
        import uvloop
    except ImportError:  # Windows
        return asyncio.run(main)
    return uvloop.run(main)


def backup_options(settings: Settings, client_bin_dir: Path | None) -> BackupOptions:
    """The BACKUP_* settings as the backup adapter's options (docs/adr/0006)."""
    # Imported here: `run` never needs the backup machinery (cryptography, the S3 client).
    from finance_bot.adapters.backup import BackupOptions, S3Target

    s3 = None
    if settings.backup_s3_bucket is not None:
        secret = settings.backup_s3_secret_access_key
        s3 = S3Target(
            bucket=settings.backup_s3_bucket,
            endpoint=settings.backup_s3_endpoint,
            region=settings.backup_s3_region,
            access_key_id=settings.backup_s3_access_key_id,
            secret_access_key=secret.get_secret_value() if secret is not None else None,
            prefix=settings.backup_s3_prefix,
        )
    passphrase = settings.backup_passphrase
    return BackupOptions(
        directory=settings.backup_path,
        keep_days=settings.backup_keep_days,
        passphrase=passphrase.get_secret_value() if passphrase is not None else None,
        s3=s3,
        client_bin_dir=client_bin_dir,
    )


async def export_command(
    settings: Settings,
    name: str,
    period_text: str | None,
    output: str | None,
    household: int | None,
) -> int:
    """`finance-bot export`: one format of one household's books, to a file or stdout. The
    household is the only one, or the one `--household` names (docs/adr/0018)."""
    from finance_bot.adapters.export.files import open_output, writer
    from finance_bot.application.export import export_books, export_period

    try:
        period = export_period(period_text)
    except ValueError:
        print(f"--period {period_text!r}: use YYYY or YYYY-MM (2000 to 2100)", file=sys.stderr)
        return 2
    async with database(settings) as db:
        pool = await create_pool(db.url, min_size=1, max_size=1)
        try:
            reader = PostgresExport(pool)
            households = await reader.household_ids()
            if household is None and len(households) == 1:
                household = households[0]
            if household is None or household not in households:
                known = ", ".join(map(str, households)) or "none yet"
                print(
                    f"say which household with --household ID (households: {known})",
                    file=sys.stderr,
                )
                return 2
            with open_output(output) as out:
                exported = await export_books(reader, household, period, [writer(name, out)])
        finally:
            await pool.close()
    print(f"exported {exported.transactions} transaction(s)", file=sys.stderr)
    return 0


async def import_books_file(
    settings: Settings, text: str, *, new_household: bool
) -> tuple[Imported, list[Violation]]:
    """`finance-bot import`: the CSV read and checked, loaded as the owner role, then the
    whole ledger re-checked. The owner, because an import looks across households (a
    transaction id or a person already in another one refuses the file), which the bot's
    role, bound to one household, cannot (docs/adr/0021); the ledger's triggers and COMMIT
    checks judge the owner's writes as they judge the bot's (docs/adr/0019)."""
    from finance_bot.adapters.export.csv_reader import read_csv
    from finance_bot.adapters.postgres.books_import import books_store
    from finance_bot.adapters.postgres.check import check_all
    from finance_bot.application.books_import import import_books

    books = read_csv(text)  # refused before any connection when the file is wrong
    async with database(settings) as db:
        await _migrate_or_verify(db.logins.owner)
        imported = await import_books(
            books.postings,
            books.lines,
            store_factory=lambda: books_store(db.logins.owner),
            language=settings.bot_language,
            new_household=new_household,
        )
        connection = await asyncpg.connect(db.logins.owner)
        try:
            violations = await check_all(connection)
        finally:
            await connection.close()
    return imported, violations


async def set_webhook(settings: Settings, url: str, *, max_connections: int) -> None:
    """Have Telegram push updates to url (SPEC §15): with WEBHOOK_SECRET, and the updates
    polling asks for. Pending updates are kept: the webhook delivers them."""
    token, secret = settings.telegram_bot_token, settings.webhook_secret
    if token is None:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set (see README, Configuration)")
    if secret is None:
        raise SystemExit("set-webhook needs WEBHOOK_SECRET, the one every replica checks")
    bot = build_bot(token.get_secret_value(), settings.telegram_api_base)
    try:
        await bot.set_webhook(
            url,
            secret_token=secret.get_secret_value(),
            allowed_updates=list(ALLOWED_UPDATES),
            max_connections=max_connections,
            drop_pending_updates=False,
        )
    finally:
        await bot.session.close()


async def delete_webhook(settings: Settings) -> None:
    """Back to polling: Telegram keeps the pending updates for getUpdates."""
    token = settings.telegram_bot_token
    if token is None:
        raise SystemExit("TELEGRAM_BOT_TOKEN is not set (see README, Configuration)")
    bot = build_bot(token.get_secret_value(), settings.telegram_api_base)
    try:
        await bot.delete_webhook(drop_pending_updates=False)
    finally:
        await bot.session.close()
