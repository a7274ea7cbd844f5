"""The Mini App's launch-data check and its address setting (no browser: see test_webapp_browser.py)."""

from __future__ import annotations

import hashlib
import hmac
import json
import time
from urllib.parse import parse_qsl, urlencode

import pytest

from bot.webapp.initdata import InitDataError, sign, validate
from service.settings import web_app_address
from tests.botapi.harness import TOKEN

USER = {"id": 900, "first_name": "관리자", "language_code": "ko"}


def launch_data(user: dict = USER, auth_date: float | None = None, token: str = TOKEN) -> str:
    fields = {
        "query_id": "AAHdF6IQAAAAAN0XohDhrOrc",
        "user": json.dumps(user, ensure_ascii=False, separators=(",", ":")),
        "auth_date": str(int(time.time() if auth_date is None else auth_date)),
    }
    return sign(fields, token)


def test_launch_data_signed_as_telegram_documents_is_accepted() -> None:
    # Signed here by hand, independently of sign(): key = HMAC("WebAppData", token), fields sorted, \n-joined.
    fields = {"auth_date": str(int(time.time())), "user": json.dumps(USER), "chat_type": "sender"}
    check = "\n".join(f"{k}={fields[k]}" for k in sorted(fields))
    key = hmac.new(b"WebAppData", TOKEN.encode(), hashlib.sha256).digest()
    data = urlencode({**fields, "hash": hmac.new(key, check.encode(), hashlib.sha256).hexdigest()})
    user = validate(data, TOKEN)
    assert (user.id, user.first_name, user.language_code) == (900, "관리자", "ko")


def test_a_changed_field_a_changed_hash_or_another_bots_token_is_refused() -> None:
    genuine = launch_data()
    fields = dict(parse_qsl(genuine))
    tampered_user = urlencode({**fields, "user": json.dumps({**USER, "id": 901})})
    tampered_hash = urlencode({**fields, "hash": "0" * 64})
    for data in (
        tampered_user,
        tampered_hash,
        launch_data(token="987654321:another-bots-token-abcdefghijkl"),
    ):
        with pytest.raises(InitDataError) as refused:
            validate(data, TOKEN)
        assert refused.value.code == "bad_hash"


def test_launch_data_older_than_a_day_is_refused_and_a_day_is_not() -> None:
    now = time.time()
    assert validate(launch_data(auth_date=now - 86_000), TOKEN, now=now).id == 900
    with pytest.raises(InitDataError) as refused:
        validate(launch_data(auth_date=now - 86_401), TOKEN, now=now)
    assert refused.value.code == "expired"


@pytest.mark.parametrize(
    "data", ["", "hash", "user=x&auth_date=1", "a=1&a=2&hash=00", "%%%", "x" * 9000], ids=repr
)
def test_missing_or_shapeless_launch_data_is_refused(data: str) -> None:
    with pytest.raises(InitDataError):
        validate(data, TOKEN)


def test_signed_data_without_a_user_is_refused() -> None:
    data = sign({"auth_date": str(int(time.time())), "query_id": "x"}, TOKEN)
    with pytest.raises(InitDataError) as refused:
        validate(data, TOKEN)
    assert refused.value.code == "malformed"


@pytest.mark.parametrize(
    "url", ["https://admin.example.org/lookalike/", "http://127.0.0.1:8081/", "http://localhost:9000/x"]
)
def test_web_app_url_is_https_or_loopback_http(url: str) -> None:
    assert web_app_address(url) == url


@pytest.mark.parametrize("url", ["http://example.org/", "ftp://127.0.0.1/", "https:///nohost", "example.org"])
def test_web_app_url_refuses_plain_http_elsewhere(url: str) -> None:
    with pytest.raises(ValueError):
        web_app_address(url)
