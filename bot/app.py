"""The one place that builds the Telegram application: resources in post_init/post_shutdown, handlers in
groups, command lists per chat scope, the error handler, and a clean stop on SIGINT/SIGTERM."""

from __future__ import annotations

import asyncio
import logging
import signal
import sys
from typing import TYPE_CHECKING

import uvloop
from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
    Message,
    Update,
)
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    ApplicationBuilder,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

from bot.application import LookalikeApplication
from bot.handlers import (
    admin,
    albums,
    audit_chat,
    info,
    leaderboard,
    lookalike,
    morph,
    rounds,
    share,
    twins,
    webapp,
    wikidata_chat,
)
from bot.handlers.errors import on_error
from bot.keyboards import MORPH_PREFIX
from bot.loop_lag import LagMonitor
from bot.ops_server import OpsServer
from bot.telegram_metrics import CountingRequest
from bot.webapp.runner import WebApp
from bot.webapp.sources import extensions_for
from engine.pool import DrawPool, FacePool
from engine.process_memory import steady_malloc
from service import metrics
from service.albums import ADD_CAPTION, TWINS_CAPTION
from service.logs import setup_logging
from service.morph_memory import MorphMemory
from service.services import INTAKE_PER_WORKER, Admission, Intake, LastAnswers, Services
from service.settings import DEFAULT_QUEUE_LIMIT, Settings, SettingsError, default_db_path, load_settings
from service.shared_answers import SharedAnswers
from store.calibrate import Refitter, stale
from store.demo import open_demo_gallery
from store.gallery import DISK_FULL, Gallery
from store.gallery_file import GalleryFault
from store.jobs import Jobs

if TYPE_CHECKING:  # engine.cluster imports distributed: only when a cluster is configured
    from engine.cluster import ClusterPool

log = logging.getLogger("bot")

EXIT_CONFIG = 2
# What the draw workers import at start: the drawing functions' modules (the collage code, the morph).
DRAW_MODULES = ("service.render", "service.morphs", "engine.morph")


class StartupError(Exception):
    """The bot cannot start (for a reason worth one line)."""


def build_application(settings: Settings) -> Application:
    """The configured PTB application; resources open in post_init and close in post_shutdown."""
    builder = (
        ApplicationBuilder()
        .application_class(LookalikeApplication)
        .token(settings.token)
        .concurrent_updates(True)  # users never wait on each other's photos
        .rate_limiter(AIORateLimiter(max_retries=3))
        # aiohttp's client (bot.telegram_http), counting failed calls and noting each getUpdates answered
        .request(CountingRequest(connection_pool_size=32, pool_timeout=10.0))
        .get_updates_request(CountingRequest(connection_pool_size=1, read_timeout=40.0))
        .post_init(on_startup)
        .post_stop(on_stop)
        .post_shutdown(on_shutdown)
    )
    if settings.telegram_base_url:
        builder = builder.base_url(settings.telegram_base_url)
    if settings.telegram_base_file_url:
        builder = builder.base_file_url(settings.telegram_base_file_url)
    application = builder.build()
    application.bot_data["settings"] = settings
    register_handlers(application)
    return application


def register_handlers(application: Application) -> None:
    private = filters.ChatType.PRIVATE
    groups = filters.ChatType.GROUPS
    media = filters.PHOTO | filters.Document.ALL
    add_caption = filters.CaptionRegex(ADD_CAPTION)
    import_caption = filters.CaptionRegex(r"^/import(@\w+)?(\s|$)")
    album_item = media & _InAlbum() & (private | add_caption | filters.CaptionRegex(TWINS_CAPTION))
    # A selfie is an entry; anything else replying to the round gets the rules again (a command stays
    # that command, and a photo captioned /add goes to its handler above).
    round_entry = groups & rounds.ReplyToRound(application) & ~filters.COMMAND & ~filters.StatusUpdate.ALL

    application.add_handlers(
        [
            CommandHandler("start", info.on_start),
            CommandHandler("help", info.on_help),
            CommandHandler("privacy", info.on_privacy),
            # admins
            CommandHandler("add", admin.on_add_command),
            CommandHandler("remove", admin.on_remove),
            CommandHandler("rename", admin.on_rename),
            CommandHandler("list", admin.on_list),
            CommandHandler("stats", admin.on_stats),
            CommandHandler("export", admin.on_export),
            CommandHandler("import", admin.on_import),
            CommandHandler(
                "wikidata", wikidata_chat.on_wikidata, block=False
            ),  # minutes: never hold others up
            CommandHandler("credits", wikidata_chat.on_credits),
            CommandHandler("admin", webapp.on_admin),
            CommandHandler("audit", audit_chat.on_audit),
            MessageHandler(album_item, albums.on_album_item),
            MessageHandler(media & add_caption, admin.on_add_caption),
            MessageHandler(filters.Document.ALL & import_caption, admin.on_import),
            # group games
            CommandHandler("game", rounds.on_game),
            CommandHandler("endgame", rounds.on_endgame),
            CommandHandler("leaderboard", leaderboard.on_leaderboard),
            CommandHandler("twins", twins.on_twins),
            MessageHandler(round_entry, rounds.on_round_reply),
            # lookalike requests
            CommandHandler("lookalike", lookalike.on_lookalike_command),
            CommandHandler("morph", morph.on_morph_command),
            CallbackQueryHandler(morph.on_morph_button, pattern=f"^{MORPH_PREFIX}"),
            MessageHandler(private & media, lookalike.on_private_photo),
            MessageHandler(groups & filters.PHOTO & filters.CAPTION, lookalike.on_group_photo),
            # anything else in a private chat gets a short hint
            MessageHandler(private & filters.TEXT, info.on_text),
            MessageHandler(private & ~filters.StatusUpdate.ALL, info.on_other_media),
            InlineQueryHandler(share.on_inline_query),  # Share: the user's own recent collages
        ],
        group=0,
    )
    # Group -1 runs first and answers nothing: it only notes album items for /twins.
    application.add_handler(MessageHandler(media & _InAlbum(), twins.on_album_item, block=False), group=-1)
    application.add_error_handler(on_error)


class _InAlbum(filters.MessageFilter):
    """Messages that are items of an album (they share a media_group_id)."""

    def filter(self, message: Message) -> bool:
        return message.media_group_id is not None


USER_COMMANDS = {
    "en": [
        ("start", "Start"),
        ("help", "How it works"),
        ("privacy", "What is kept"),
        ("credits", "Photo credits"),
    ],
    "ko": [("start", "시작"), ("help", "사용법"), ("privacy", "보관하는 정보"), ("credits", "사진 출처")],
}
GROUP_COMMANDS = {
    "en": [
        ("lookalike", "Reply to a photo: who does it look like?"),
        ("game", "Start a round: /game [NAME]"),
        ("endgame", "End the round now"),
        ("twins", "Reply to a group photo: how alike are they?"),
        ("leaderboard", "This group's winners"),
        ("credits", "Photo credits"),
        ("help", "How it works"),
    ],
    "ko": [
        ("lookalike", "사진에 답장: 누구를 닮았을까?"),
        ("game", "게임 시작: /game [이름]"),
        ("endgame", "게임 끝내기"),
        ("twins", "단체 사진에 답장: 얼마나 닮았을까?"),
        ("leaderboard", "이 그룹의 우승자"),
        ("credits", "사진 출처"),
        ("help", "사용법"),
    ],
}
ADMIN_COMMANDS = {
    "en": [
        ("add", "Caption a photo: /add NAME"),
        ("remove", "/remove NAME"),
        ("rename", "/rename OLD | NEW"),
        ("list", "Celebrities in the gallery"),
        ("stats", "Gallery and queue"),
        ("export", "Projector files"),
        ("import", "Caption a zip of photos"),
        ("wikidata", "/wikidata NAME or Q-id: people from Wikidata"),
        ("admin", "The gallery at a glance (app)"),
        ("audit", "Suspect photos and double names"),
    ],
    "ko": [
        ("add", "사진 캡션: /add 이름"),
        ("remove", "/remove 이름"),
        ("rename", "/rename 이전 | 새 이름"),
        ("list", "갤러리의 연예인"),
        ("stats", "갤러리와 대기열"),
        ("export", "Projector 파일"),
        ("import", "사진 zip 파일 캡션"),
        ("wikidata", "/wikidata 이름 또는 Q-ID: 위키데이터에서 추가"),
        ("admin", "갤러리 한눈에 보기 (앱)"),
        ("audit", "의심 사진과 중복 이름 점검"),
    ],
}


# Listed in private chats while the Morph button is on (LOOKALIKE_MORPH_MINUTES > 0).
MORPH_COMMAND = {
    "en": ("morph", "Reply to an answer: your face blended with your #1"),
    "ko": ("morph", "답에 답장: 내 얼굴과 1위 얼굴 합성"),
}


def _commands(pairs: list[tuple[str, str]]) -> list[BotCommand]:
    return [BotCommand(name, description) for name, description in pairs]


async def register_commands(application: Application, admin_ids: frozenset[int], morph: bool = False) -> None:
    """Command lists per scope and language: private chats (with /morph while `morph` is on), groups, and
    each admin's own chat."""
    bot = application.bot
    for language in ("en", "ko"):
        code = "" if language == "en" else language
        private = USER_COMMANDS[language] + ([MORPH_COMMAND[language]] if morph else [])
        await bot.set_my_commands(
            _commands(private), scope=BotCommandScopeAllPrivateChats(), language_code=code
        )
        await bot.set_my_commands(
            _commands(GROUP_COMMANDS[language]), scope=BotCommandScopeAllGroupChats(), language_code=code
        )
        for admin_id in admin_ids:
            try:
                await bot.set_my_commands(
                    _commands(private + ADMIN_COMMANDS[language]),
                    scope=BotCommandScopeChat(admin_id),
                    language_code=code,
                )
            except TelegramError as exc:  # an admin who never opened a chat with the bot
                log.info("no admin command list for %s yet: %s", admin_id, exc)


async def on_startup(application: Application) -> None:
    """Open the gallery (checked), the demo gallery, the face and draw pools; resume unanswered selfies."""
    settings: Settings = application.bot_data["settings"]
    if settings.metrics_port:  # first: /healthz and /readyz answer while the rest starts
        _start_ops_server(application, settings)
    gallery = await Gallery.open(settings.lookalike_db or default_db_path())
    if not await gallery.integrity_ok():
        await gallery.close()
        raise StartupError(f"the gallery {gallery.path} failed SQLite's integrity check; restore a backup")
    demo = await open_demo_gallery()
    draw = DrawPool(settings.lookalike_draw_pool, settings.lookalike_draw_workers, preload=DRAW_MODULES)
    warming = asyncio.create_task(asyncio.to_thread(draw.warm_up))  # beside the face pool's start
    try:
        pool = await open_face_pool(settings)
    except StartupError:
        await warming
        await asyncio.to_thread(draw.close)
        await demo.close()
        await gallery.close()
        raise
    await warming
    svc = Services(
        settings=settings,
        gallery=gallery,
        demo=demo,
        pool=pool,
        draw=draw,
        jobs=Jobs(gallery),
        admission=Admission(lambda: pool.queue_limit),
        intake=Intake(lambda: INTAKE_PER_WORKER * pool.workers),
        last_answers=LastAnswers(settings.lookalike_remember_minutes),
        shared=SharedAnswers(settings.lookalike_share_minutes),
        morphs=MorphMemory(settings.lookalike_morph_minutes),
    )
    application.bot_data["services"] = svc
    metrics.watch(svc)
    svc.refitter = Refitter(gallery, settings.lookalike_refit_seconds)
    if stale(gallery):
        svc.refitter.touch()  # fitted in the background; answers use the stored (or fixed) curve meanwhile
    await register_commands(application, settings.admin_ids, morph=settings.lookalike_morph_minutes > 0)
    _stop_on_signals(application)
    if settings.lookalike_lag_report:
        monitor = LagMonitor()
        monitor.start()
        application.bot_data["lag"] = monitor
    if settings.web_app_url:
        await _start_web_app(application, svc)
    context = ContextTypes.DEFAULT_TYPE(application)
    await rounds.recover_rounds(context)
    await lookalike.resume_jobs(context)
    log.info(
        "ready: @%s, %s%s, %s, %s %s draw workers, %s photos in flight (limit %s), %s",
        application.bot.username,
        describe_gallery(gallery, demo),
        describe_disk(gallery),
        describe_pool(pool),
        draw.workers,
        draw.kind,
        svc.admission.in_flight,
        svc.admission.limit,
        share.describe_sharing(application),
    )


def describe_gallery(gallery: Gallery, demo: Gallery) -> str:
    """The gallery that answers, for the start-up line: the real one, or the demo one and how to fill it."""
    if gallery.photo_count:
        return f"gallery {gallery.path} ({gallery.celebrity_count} celebrities, {gallery.photo_count} photos)"
    return (
        f"gallery {gallery.path} is empty, so the DEMO gallery answers "
        f"({demo.celebrity_count} celebrities, {demo.photo_count} photos); add celebrities with "
        "/add NAME (an admin's photo caption), /import (a zip) or `lookalike import DIR`"
    )


def describe_disk(gallery: Gallery) -> str:
    """For the start-up line: nothing when the gallery can be written, else why not and what that means."""
    if not gallery.read_only:
        return ""
    why = "no space left on its disk" if gallery.read_only_reason == DISK_FULL else "READ-ONLY"
    return (
        f" — {why}: answering from it read-only, without durable jobs (a crash loses the selfies in "
        "progress); every change is refused until it can be written and the bot restarts"
    )


async def _start_web_app(application: Application, svc: Services) -> None:
    """Serve the admins' Mini App in this event loop (WEB_APP_LISTEN:WEB_APP_PORT)."""
    settings = svc.settings
    try:
        application.bot_data["web_app"] = await WebApp.start(
            svc, settings.web_app_listen, settings.web_app_port, extensions_for(svc)
        )
    except OSError as exc:
        raise StartupError(
            f"the admin Mini App cannot listen on {settings.web_app_listen}:{settings.web_app_port}: {exc}"
        ) from None


def _start_ops_server(application: Application, settings: Settings) -> None:
    """Serve /metrics, /healthz and /readyz (METRICS_LISTEN:METRICS_PORT) in a thread of their own."""
    assert settings.metrics_port is not None
    try:
        application.bot_data["ops"] = OpsServer.start(
            application, settings.metrics_listen, settings.metrics_port
        )
    except OSError as exc:
        raise StartupError(
            f"the metrics endpoint cannot listen on {settings.metrics_listen}:{settings.metrics_port}: {exc}"
        ) from None


async def open_face_pool(settings: Settings) -> FacePool | ClusterPool:
    """The local process pool, warmed up; or, with LOOKALIKE_CLUSTER, a client of that Dask cluster."""
    if not settings.lookalike_cluster:
        pool = FacePool(
            settings.lookalike_pool,
            settings.lookalike_workers,
            settings.lookalike_queue_limit or DEFAULT_QUEUE_LIMIT,
            nice=settings.lookalike_face_nice,
        )
        await asyncio.to_thread(pool.warm_up)
        return pool
    from engine.cluster import ClusterPool, TLSFiles, cluster_security  # imports distributed

    tls = settings.cluster_tls
    cluster = ClusterPool(
        settings.lookalike_cluster,
        cluster_security(TLSFiles(*tls) if tls else None),
        queue_limit=settings.lookalike_queue_limit,
        wait=settings.lookalike_cluster_wait,
    )
    try:
        await cluster.start()
    except (OSError, TimeoutError) as exc:
        raise StartupError(
            f"cannot reach the cluster scheduler at {settings.lookalike_cluster}: {exc}"
        ) from None
    return cluster


def describe_pool(pool: FacePool | ClusterPool) -> str:
    """For the start-up log: how many workers of which kind (and where, for a cluster)."""
    if pool.kind == "cluster":
        return f"{pool.workers} cluster workers at {pool.address}"
    return f"{pool.workers} {pool.kind} workers"


def _stop_on_signals(application: Application) -> None:
    """First SIGINT/SIGTERM: stop taking updates, finish the work in progress, close. Later ones: noted."""
    loop = asyncio.get_running_loop()
    stopping = False

    def on_signal(signum: int) -> None:
        nonlocal stopping
        if stopping:
            log.info("%s again: already stopping", signal.Signals(signum).name)
            return
        stopping = True
        log.info("%s: stopping after the work in progress", signal.Signals(signum).name)
        application.stop_running()

    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, on_signal, signum)


async def on_stop(application: Application) -> None:
    log.info("stopped taking updates")


async def on_shutdown(application: Application) -> None:
    ops: OpsServer | None = application.bot_data.pop("ops", None)
    if ops is not None:
        await asyncio.to_thread(ops.stop)
    svc: Services | None = application.bot_data.get("services")
    if svc is None:
        return
    monitor: LagMonitor | None = application.bot_data.get("lag")
    if monitor is not None and svc.settings.lookalike_lag_report:
        await monitor.stop()
        monitor.write(svc.settings.lookalike_lag_report)
    web_app: WebApp | None = application.bot_data.get("web_app")
    if web_app is not None:
        await web_app.stop()
    if svc.pool.kind == "cluster":
        await asyncio.gather(svc.pool.close(), asyncio.to_thread(svc.draw.close))
    else:
        await asyncio.gather(asyncio.to_thread(svc.pool.close), asyncio.to_thread(svc.draw.close))
    if svc.refitter is not None:
        await svc.refitter.close()
    await svc.demo.close()
    await svc.gallery.close()
    log.info("closed the gallery; bye")


def run() -> int:
    """`lookalike run`: serve by long polling (or by webhook when WEBHOOK_URL is set); returns the exit status."""
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(f"lookalike: bad settings: {exc}", file=sys.stderr)
        return EXIT_CONFIG
    setup_logging(settings.token, settings.log_level)
    steady_malloc()  # before the threads start: a bot runs for months
    application = build_application(settings)
    # libuv's event loop (uvloop): the bot's loop mostly moves bytes between sockets, pipes and threads,
    # which it does for a fraction of asyncio's own loop's CPU. PTB runs on the loop set here.
    asyncio.set_event_loop(uvloop.new_event_loop())
    try:
        if settings.webhook_url:
            application.run_webhook(
                listen=settings.webhook_listen,
                port=settings.webhook_port,
                url_path="telegram",
                webhook_url=settings.webhook_url,
                secret_token=settings.webhook_secret.get_secret_value() if settings.webhook_secret else None,
                allowed_updates=Update.ALL_TYPES,
                stop_signals=None,
                close_loop=False,
            )
        else:
            application.run_polling(allowed_updates=Update.ALL_TYPES, stop_signals=None, close_loop=False)
    except InvalidToken:
        log.error("Telegram refused the token (TELEGRAM_BOT_TOKEN): check it with @BotFather")
        return 1
    except (StartupError, GalleryFault) as exc:  # GalleryFault: an unusable or read-only gallery file
        log.error("cannot start: %s", exc)
        return 1
    except NetworkError as exc:
        log.error("cannot reach the Telegram Bot API: %s", exc)
        return 1
    return 0
