"""What merchants type, and what they may reach: parsing, isolation, applications, imports."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from reelcart.catalog import importer as importer_module
from reelcart.domain import (
    AlreadyMerchant,
    ApplicationRejected,
    ApplicationWaiting,
    Clip,
    MerchantState,
    MerchantSuspended,
    NameTaken,
    NotAMerchant,
    ProductNotFound,
)
from reelcart.embeddings.index import VectorIndex
from reelcart.services.merchants import (
    InvalidInput,
    parse_price,
    parse_shop_name,
    parse_shop_url,
    parse_stock,
)
from reelcart.storage.products import get_clip, set_clip, update_product, upsert_rows
from reelcart.storage.store import Store
from tests.merchants.conftest import ADMIN, DIM, HEADER, TEAS, Back, open_back


@pytest.mark.parametrize(
    ("text", "currency", "minor"),
    [("12.50", "EUR", 1250), ("12,5", "EUR", 1250), ("€ 7", "EUR", 700), ("1200", "JPY", 1200),
     ("12.500", "EUR", 1250), ("3 EUR", "EUR", 300)],
)  # fmt: skip
def test_prices_are_read_the_way_merchants_write_them(text: str, currency: str, minor: int) -> None:
    assert parse_price(text, currency) == minor


@pytest.mark.parametrize(
    ("text", "currency", "key"),
    [("twelve", "EUR", "merchant.price_invalid"), ("12.345", "EUR", "merchant.price_decimals"),
     ("0", "EUR", "merchant.price_not_positive"), ("12.5", "JPY", "merchant.price_decimals"),
     ("1,234.50", "EUR", "merchant.price_invalid"), ("-3", "EUR", "merchant.price_invalid"),
     ("999999999999", "EUR", "merchant.price_too_large")],
)  # fmt: skip
def test_a_price_that_cannot_be_used_says_why(text: str, currency: str, key: str) -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_price(text, currency)
    assert caught.value.message_key == key


def test_stock_names_and_links_are_checked() -> None:
    assert parse_stock(" 12 ") == 12
    for bad in ("-1", "3.5", "many", "", "12345678901"):
        with pytest.raises(InvalidInput):
            parse_stock(bad)
    assert parse_shop_name("  Leaf   &  Kettle ") == "Leaf & Kettle"
    for bad in ("x", "a" * 65, "/start", "two\nlines", "bell\x07"):
        with pytest.raises(InvalidInput):
            parse_shop_name(bad)
    assert parse_shop_url("https://shop.example/a") == "https://shop.example/a"
    assert parse_shop_url("-") is None
    for bad in ("shop.example", "ftp://shop.example", "https://localhost", "https://a b.example"):
        with pytest.raises(InvalidInput):
            parse_shop_url(bad)


async def test_applications_move_from_applied_to_approved_or_rejected(back: Back) -> None:
    merchants, admin = back.shop.merchants, back.shop.admin
    with pytest.raises(NotAMerchant):
        await merchants.require(201)
    mine = await merchants.apply(201, "Leaf & Kettle", "https://leaf.example")
    assert mine.state is MerchantState.APPLIED and not mine.trusted
    with pytest.raises(ApplicationWaiting):
        await merchants.require(201)
    with pytest.raises(AlreadyMerchant):
        await merchants.apply(201, "Another name", None)
    with pytest.raises(NameTaken):
        await merchants.apply(202, "leaf & KETTLE", None)
    assert await admin.decide_application(mine.id, False, ADMIN) is not None
    assert await admin.decide_application(mine.id, True, ADMIN) is None  # decided already
    with pytest.raises(ApplicationRejected):
        await merchants.require(201)
    again = await merchants.apply(201, "Leaf and Kettle", None)  # a rejected one reapplies
    assert again.id == mine.id and again.state is MerchantState.APPLIED
    assert (await admin.decide_application(mine.id, True, ADMIN)) is not None
    assert (await merchants.require(201)).name == "Leaf and Kettle"
    await admin.set_suspended(mine.id, True, ADMIN)
    with pytest.raises(MerchantSuspended):
        await merchants.require(201)


async def test_a_merchant_reaches_only_their_own_products(back: Back) -> None:
    alice, bob = back.merchant(211, "Alice"), back.merchant(212, "Bob")
    alice_ids = back.upload(alice)
    bob_ids = back.upload(bob)  # the same SKUs: each merchant's own products
    assert set(alice_ids.values()).isdisjoint(bob_ids.values())
    merchants = back.shop.merchants
    target = alice_ids["T1"]
    before = back.product(target)
    attempts = [
        merchants.product(bob.id, target),
        merchants.set_paused(bob.id, target, True),
        merchants.set_price(bob.id, target, "1.00"),
        merchants.set_stock(bob.id, target, "0"),
        merchants.delete(bob.id, target),
    ]
    for attempt in attempts:
        with pytest.raises(ProductNotFound):
            await attempt
    # A clip for "T1" sent by Bob goes to Bob's T1, never Alice's.
    await merchants.attach_clip(bob.id, "T1", Clip(0, "/clips/bob.mp4", file_id="f"))
    assert back.shop.db.call(get_clip, bob_ids["T1"]) is not None
    assert back.shop.db.call(get_clip, target) is None
    assert back.product(target) == before
    page = await merchants.page(bob.id, 0)
    assert {p.id for p in page.products} == set(bob_ids.values())
    with pytest.raises(ValueError):
        back.shop.db.call(update_product, alice.id, target, {"merchant_id": bob.id})


async def test_products_page_through_and_clamp(back: Back) -> None:
    merchant = back.merchant(221, "Pages", trusted=True)
    rows = "".join(f"P{n},Vase {n},A vase,{n + 1}.00,EUR,1,,vases,physical,,\n" for n in range(19))
    back.upload(merchant, HEADER + rows)
    merchants = back.shop.merchants
    first = await merchants.page(merchant.id, 0)
    assert (len(first.products), first.pages, first.total) == (8, 3, 19)
    last = await merchants.page(merchant.id, 99)
    assert (last.page, len(last.products)) == (2, 3)


def test_an_import_that_fails_half_way_stores_nothing(back: Back, monkeypatch) -> None:
    merchant = back.merchant(231, "Halfway", trusted=True)
    calls = {"n": 0}
    original = upsert_rows

    def failing(store: Store, merchant_id: int, rows: list) -> list:
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError("the disk is full")
        return original(store, merchant_id, rows)

    monkeypatch.setattr(importer_module, "upsert_rows", failing)
    rows = "".join(f"H{n},Thing {n},A thing,2.00,EUR,1,,things,physical,,\n" for n in range(600))
    with pytest.raises(RuntimeError):
        back.shop.import_bytes((HEADER + rows).encode(), "big.csv", merchant.name)
    assert back.value("SELECT count(*) FROM products WHERE merchant_id = ?", merchant.id) == 0


def test_the_index_file_is_written_behind_vector_changes_and_on_close(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    back = open_back(tmp_path / "shop.db")
    shop = back.shop
    path = shop.settings.index_path
    changes: list[int] = []
    told = shop.index_saver.changed
    monkeypatch.setattr(shop.index_saver, "changed", lambda: (changes.append(1), told()))
    try:
        merchant = back.merchant(8101, "Saver Teas", trusted=True)
        ids = back.upload(merchant)
        # New vectors: the file will follow, but not on the import's time.
        assert changes == [1] and shop.index_saver.pending
        assert len(VectorIndex.load(path, DIM)) == 0
        # The same text, or a new stock count, changes no vector: nothing more to write.
        shop.refresh_products([back.product(ids["T1"])])
        asyncio.run(shop.merchants.set_stock(merchant.id, ids["T3"], "9"))
        assert changes == [1]
    finally:
        shop.close()
    # Closing wrote what was left.
    assert set(ids.values()) == set(VectorIndex.load(path, DIM).ids().tolist())


def test_video_urls_become_clips_but_never_replace_a_sent_video(back: Back) -> None:
    merchant = back.merchant(241, "Clips", trusted=True)
    csv = HEADER + "V1,Vid,A thing,2.00,EUR,1,,things,physical,https://cdn.example/v1.mp4,\n"
    ids = back.upload(merchant, csv)
    clip = back.shop.db.call(get_clip, ids["V1"])
    assert clip is not None and clip.source == "https://cdn.example/v1.mp4"
    back.shop.db.call(set_clip, Clip(ids["V1"], "/clips/sent.mp4", file_id="f1"))
    back.upload(merchant, csv.replace("2.00", "3.00"))
    clip = back.shop.db.call(get_clip, ids["V1"])
    assert clip is not None and clip.source == "/clips/sent.mp4"
    assert TEAS  # the shared catalog stays importable
