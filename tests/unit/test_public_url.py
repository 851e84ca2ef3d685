"""REELCART_PUBLIC_URL is https; plain http only on this machine (tests, the sandbox)."""

from __future__ import annotations

import pytest

from reelcart.cli import main
from reelcart.config import ConfigError, Settings


@pytest.mark.parametrize(
    "url",
    [
        "https://bot.example.com",
        "https://bot.example.com:8443/shop/",
        "http://127.0.0.1:8080",
        "http://127.3.2.1",
        "http://localhost:9000",
        "http://[::1]:8080",
    ],
)
def test_https_and_loopback_http_are_accepted(url: str) -> None:
    assert Settings.from_env({"REELCART_PUBLIC_URL": url}).public_url == url.rstrip("/")


@pytest.mark.parametrize(
    "url",
    [
        "http://bot.example.com",
        "http://10.0.0.5:8080",
        "http://localhost.example.com",
        "http://127.0.0.1.nip.io",
        "ftp://bot.example.com",
        "https://",
        "bot.example.com",
    ],
)
def test_anything_else_is_refused_with_the_variable_named(url: str) -> None:
    with pytest.raises(ConfigError, match=r"REELCART_PUBLIC_URL .*https://"):
        Settings.from_env({"REELCART_PUBLIC_URL": url})


def test_run_stops_with_exit_2_on_an_http_public_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("REELCART_BOT_TOKEN", raising=False)
    monkeypatch.setenv("REELCART_PUBLIC_URL", "http://bot.example.com")
    assert main(["run", "--webhook"]) == 2
    assert "REELCART_PUBLIC_URL" in capsys.readouterr().err
