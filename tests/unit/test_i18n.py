"""Every text exists in English and French, with the same placeholders."""

from __future__ import annotations

import re
import string
from decimal import Decimal
from pathlib import Path

import pytest

import reelcart
from reelcart.domain import Language, Money
from reelcart.i18n import CATALOGS, format_price, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    en, fr = CATALOGS[Language.EN], CATALOGS[Language.FR]
    assert set(en) == set(fr)
    for key in en:
        assert _fields(en[key]) == _fields(fr[key]), key


def test_every_key_used_in_the_code_exists() -> None:
    package = Path(reelcart.__file__).parent
    used: set[str] = set()
    pattern = re.compile(r"""\bt\(\s*[\w.]+,\s*["']([a-z_]+\.[a-z_.]+)["']""")
    for path in package.rglob("*.py"):
        used.update(pattern.findall(path.read_text(encoding="utf-8")))
    assert used, "the scan found no keys: the pattern is broken"
    missing = sorted(key for key in used if key not in CATALOGS[Language.EN])
    assert missing == []


def test_texts_differ_between_languages() -> None:
    assert t(Language.EN, "feed.btn_like") != t(Language.FR, "feed.btn_like")
    assert t("fr", "lang.set").startswith("Langue")


@pytest.mark.parametrize(
    ("price", "language", "expected"),
    [
        (Money(1999, "EUR"), Language.EN, "€19.99"),
        (Money(1999, "EUR"), Language.FR, "19,99\u00a0€"),
        (Money(123456, "EUR"), Language.FR, "1\u202f234,56\u00a0€"),
        (Money(500, "JPY"), Language.EN, "500 JPY"),
        (Money(50, "XTR"), Language.FR, "⭐ 50"),
    ],
)
def test_prices_read_the_way_people_write_them(
    price: Money, language: Language, expected: str
) -> None:
    assert format_price(price, language) == expected


def test_money_round_trips_amounts() -> None:
    assert Money.from_amount(Decimal("12.50"), "EUR") == Money(1250, "EUR")
    assert Money(1250, "EUR").amount == Decimal("12.50")


def test_feature_modules_do_not_redefine_keys() -> None:
    from reelcart.i18n import _FEATURES, en

    seen = set(en.MESSAGES)
    for feature in _FEATURES:
        assert not (set(feature.EN) & seen), feature.__name__
        assert set(feature.EN) == set(feature.FR), feature.__name__
        seen |= set(feature.EN)
