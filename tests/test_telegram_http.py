"""The bot's Bot API client (bot/telegram_http.py) against a real aiohttp server on 127.0.0.1: what it
sends, what it hands PTB back, and how each failure reaches PTB. (The whole bot over it: tests/test_bot.py.)
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest
from aiohttp import web
from telegram.error import BadRequest, NetworkError, RetryAfter, TimedOut
from telegram.request import RequestData
from telegram.request._requestparameter import RequestParameter

from bot.telegram_http import AiohttpRequest

TOKEN = "123456:SECRET-token-never-in-a-message"

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@pytest.fixture
async def server() -> AsyncIterator[Callable[[Handler], Awaitable[str]]]:
    """Starts an aiohttp server on 127.0.0.1 answering every path with a handler; its base URL."""
    runners: list[web.AppRunner] = []

    async def start(handler: Handler) -> str:
        app = web.Application()
        app.router.add_route("*", "/{tail:.*}", handler)
        runner = web.AppRunner(app)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        runners.append(runner)
        port = runner.addresses[0][1]
        return f"http://127.0.0.1:{port}/bot{TOKEN}"

    yield start
    for runner in runners:
        await runner.cleanup()


@pytest.fixture
async def client() -> AsyncIterator[AiohttpRequest]:
    request = AiohttpRequest(connection_pool_size=2, read_timeout=2.0, pool_timeout=0.2)
    async with request:
        yield request


def _ok(result: object) -> web.Response:
    return web.json_response({"ok": True, "result": result})


def _data(**parameters: object) -> RequestData:
    return RequestData([RequestParameter.from_input(k, v) for k, v in parameters.items()])


async def test_a_call_sends_its_parameters_form_encoded_and_hands_ptb_the_result(client, server) -> None:
    seen: dict[str, object] = {}

    async def handler(request: web.Request) -> web.Response:
        seen.update(path=request.path, agent=request.headers["User-Agent"], form=dict(await request.post()))
        return _ok({"message_id": 7})

    base = await server(handler)
    result = await client.post(f"{base}/sendMessage", _data(chat_id=42, text="안녕하세요", reply_markup=None))
    assert result == {"message_id": 7}
    assert seen["path"] == f"/bot{TOKEN}/sendMessage"
    assert seen["form"] == {"chat_id": "42", "text": "안녕하세요"}
    assert str(seen["agent"]).startswith("python-telegram-bot")


async def test_an_upload_is_multipart_with_its_file_name_type_and_bytes(client, server) -> None:
    from telegram import InputFile

    received: dict[str, object] = {}

    async def handler(request: web.Request) -> web.Response:
        form = await request.post()
        upload = form["photo"]
        assert isinstance(upload, web.FileField)
        received.update(
            chat=form["chat_id"],
            caption=form["caption"],
            name=upload.filename,
            type=upload.content_type,
            data=upload.file.read(),
        )
        return _ok({"message_id": 8})

    base = await server(handler)
    jpeg = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 300 + b"\xff\xd9"
    photo = InputFile(jpeg, filename="닮은꼴.jpg")
    await client.post(f"{base}/sendPhoto", _data(chat_id=42, caption="#1 아이유", photo=photo))
    assert received["chat"] == "42" and received["caption"] == "#1 아이유"
    assert received["name"] == "닮은꼴.jpg" and received["type"] == "image/jpeg"
    assert received["data"] == jpeg


async def test_a_file_download_returns_its_bytes(client, server) -> None:
    payload = bytes(range(256)) * 4000

    async def handler(request: web.Request) -> web.Response:
        assert request.method == "GET"
        return web.Response(body=payload, content_type="image/jpeg")

    base = await server(handler)
    assert await client.retrieve(f"{base}/photos/file_1.jpg") == payload


async def test_telegram_s_errors_reach_ptb_as_its_exceptions(client, server) -> None:
    async def handler(request: web.Request) -> web.Response:
        if request.path.endswith("/sendMessage"):
            body = {"ok": False, "error_code": 400, "description": "Bad Request: chat not found"}
            return web.json_response(body, status=400)
        body = {
            "ok": False,
            "error_code": 429,
            "description": "Too Many Requests",
            "parameters": {"retry_after": 3},
        }
        return web.json_response(body, status=429)

    base = await server(handler)
    with pytest.raises(BadRequest, match="Chat not found"):
        await client.post(f"{base}/sendMessage", _data(chat_id=1, text="x"))
    with pytest.raises(RetryAfter, match="Retry in 3"):
        await client.post(f"{base}/sendPhoto", _data(chat_id=1))


async def test_an_answer_slower_than_the_read_timeout_is_timed_out(client, server) -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(1.0)
        return _ok(True)

    base = await server(handler)
    with pytest.raises(TimedOut):
        await client.post(f"{base}/getMe", read_timeout=0.2)
    assert await client.post(f"{base}/getMe", read_timeout=3.0) is True  # the client still works


async def test_a_refused_connection_is_a_network_error_that_never_shows_the_token(client) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]  # closed again: nothing listens there
    with pytest.raises(NetworkError) as caught:
        await client.post(f"http://127.0.0.1:{port}/bot{TOKEN}/getMe")
    assert not isinstance(caught.value, TimedOut)
    assert "SECRET" not in str(caught.value) and "127.0.0.1" in str(caught.value)


async def test_a_full_pool_times_out_without_sending_and_frees_up_after(client, server) -> None:
    release = asyncio.Event()
    arrived: list[str] = []

    async def handler(request: web.Request) -> web.Response:
        arrived.append(request.path.rsplit("/", 1)[-1])
        if request.path.endswith("/hold"):
            await release.wait()
        return _ok(True)

    base = await server(handler)
    held = [asyncio.create_task(client.post(f"{base}/hold")) for _ in range(2)]  # the pool has two
    while len(arrived) < 2:
        await asyncio.sleep(0.01)
    with pytest.raises(TimedOut, match="Pool timeout"):
        await client.post(f"{base}/getMe")
    assert "getMe" not in arrived  # not sent
    release.set()
    assert await asyncio.gather(*held) == [True, True]
    assert await client.post(f"{base}/getMe") is True


async def test_a_client_shut_down_refuses_calls_until_initialized_again(server) -> None:
    async def handler(request: web.Request) -> web.Response:
        return _ok(True)

    base = await server(handler)
    request = AiohttpRequest()
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{base}/getMe", "POST")
    await request.initialize()
    assert await request.post(f"{base}/getMe") is True
    await request.shutdown()
    await request.shutdown()  # twice is harmless, as PTB may
    with pytest.raises(RuntimeError, match="not initialized"):
        await request.do_request(f"{base}/getMe", "POST")
    await request.initialize()
    assert await request.post(f"{base}/getMe") is True
    await request.shutdown()


async def test_the_client_s_own_read_timeout_applies_when_a_call_gives_none(server) -> None:
    async def handler(request: web.Request) -> web.Response:
        await asyncio.sleep(0.6)
        return _ok(True)

    base = await server(handler)
    async with AiohttpRequest(read_timeout=0.2) as hasty, AiohttpRequest(read_timeout=2.0) as patient:
        assert hasty.read_timeout == 0.2
        with pytest.raises(TimedOut):
            await hasty.post(f"{base}/getMe")
        assert await patient.post(f"{base}/getMe") is True


async def test_a_proxy_set_in_the_environment_carries_the_calls(server, monkeypatch) -> None:
    seen: list[str] = []

    async def proxy(request: web.Request) -> web.Response:
        seen.append(f"{request.host} {request.path}")
        return _ok("via the proxy")

    proxy_base = (await server(proxy)).split("/bot", 1)[0]
    monkeypatch.setenv("HTTP_PROXY", proxy_base)
    monkeypatch.delenv("NO_PROXY", raising=False)
    monkeypatch.delenv("no_proxy", raising=False)
    async with AiohttpRequest() as request:  # the environment is read when the client starts
        result = await request.post(f"http://api.telegram.invalid/bot{TOKEN}/getMe")
    assert result == "via the proxy"
    assert seen == [f"api.telegram.invalid /bot{TOKEN}/getMe"]
