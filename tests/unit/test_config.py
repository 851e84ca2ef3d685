from __future__ import annotations

from pathlib import Path

import pytest

from reelcart.config import TELEGRAM_API_ROOT, ConfigError, Settings


def test_defaults_match_the_readme() -> None:
    settings = Settings.from_env({})
    assert settings.api_root == TELEGRAM_API_ROOT
    assert settings.db_path == Path("reelcart.db")
    assert settings.http_port == 8080
    assert settings.discovery_rate == 0.1
    assert settings.send_rate == 30.0
    assert settings.payment_provider_token == ""
    assert settings.bot_token is None


def test_values_are_parsed() -> None:
    settings = Settings.from_env(
        {
            "REELCART_BOT_TOKEN": "123:abc",
            "REELCART_API_BASE": "http://127.0.0.1:9000/",
            "REELCART_ADMIN_IDS": "1, 2,3",
            "REELCART_DISCOVERY_RATE": "0.25",
            "REELCART_HTTP_PORT": "9001",
            "REELCART_SEND_RATE": "0",
        }
    )
    assert settings.api_root == "http://127.0.0.1:9000"
    assert settings.admin_ids == frozenset({1, 2, 3})
    assert settings.discovery_rate == 0.25
    assert settings.http_port == 9001
    assert settings.send_rate == 0.0  # no own cap
    assert settings.index_path.name == "reelcart.db.faiss"


@pytest.mark.parametrize(
    "env",
    [
        {"REELCART_ADMIN_IDS": "1,bob"},
        {"REELCART_DISCOVERY_RATE": "lots"},
        {"REELCART_DISCOVERY_RATE": "1.5"},
        {"REELCART_HTTP_PORT": "http"},
        {"REELCART_SEND_RATE": "fast"},
        {"REELCART_SEND_RATE": "-1"},
        {"REELCART_SEND_RATE": "nan"},
        {"REELCART_PUBLIC_URL": "ftp://x"},
    ],
)
def test_bad_values_are_refused_with_the_variable_named(env: dict[str, str]) -> None:
    with pytest.raises(ConfigError, match="REELCART_"):
        Settings.from_env(env)


def test_the_token_never_shows_in_repr() -> None:
    settings = Settings.from_env({"REELCART_BOT_TOKEN": "123456:SECRETSECRET"})
    assert "SECRET" not in repr(settings)
