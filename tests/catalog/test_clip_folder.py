"""``reelcart import --clips DIR``: clips copied beside the database, checked, reported."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from reelcart.cli import attach_clip_folder
from reelcart.config import Settings
from reelcart.domain import Clip
from reelcart.embeddings.encoder import HashingEncoder
from reelcart.services.shop import Shop
from reelcart.storage.products import get_clip, product_ids_by_sku
from tests.sandbox.conftest import mp4_bytes

CATALOG = """sku,title,description,price,currency,stock,hashtags,category,kind,video_url,shop_url
BOK-001,A book,A good book,9.90,EUR,5,#books,books,physical,,
BOK-002,Another book,Another good book,9.90,EUR,5,#books,books,physical,,
MUG-1,A mug,A big mug,7.00,EUR,5,#mugs,mugs,physical,,
"""
GIF = b"GIF89a" + b"\x01\x00\x01\x00\x00\x00\x00;"


@pytest.fixture
def shop(tmp_path: Path) -> Iterator[tuple[Shop, int]]:
    opened = Shop.open(Settings(db_path=tmp_path / "db" / "shop.db"), encoder=HashingEncoder(32))
    report = opened.import_bytes(CATALOG.encode(), "catalog.csv", "Acme")
    try:
        yield opened, report.merchant.id
    finally:
        opened.close()


def clip_of(shop: Shop, merchant_id: int, sku: str) -> Clip | None:
    ids = shop.db.call(product_ids_by_sku, merchant_id, [sku])
    return shop.db.call(get_clip, ids[sku])


def test_clips_are_copied_beside_the_database_and_outlive_their_folder(
    shop: tuple[Shop, int], tmp_path: Path
) -> None:
    opened, merchant_id = shop
    folder = tmp_path / "from-the-merchant"
    folder.mkdir()
    video = mp4_bytes()
    (folder / "BOK-001.mp4").write_bytes(video)
    (folder / "BOK-002.mp4").write_bytes(video)  # the same clip twice is stored once
    (folder / "MUG-1.gif").write_bytes(GIF)

    report = attach_clip_folder(opened, merchant_id, folder)

    shutil.rmtree(folder)
    store = opened.merchants.clips_dir / "sha256"
    assert store.parent.parent == tmp_path / "db"  # beside the database
    first, second = clip_of(opened, merchant_id, "BOK-001"), clip_of(opened, merchant_id, "BOK-002")
    mug = clip_of(opened, merchant_id, "MUG-1")
    assert first is not None and second is not None and mug is not None
    assert first.source == second.source and Path(first.source).parent == store
    assert Path(first.source).read_bytes() == video and first.mime_type == "video/mp4"
    assert Path(mug.source).read_bytes() == GIF and mug.is_animation
    assert len(list(store.iterdir())) == 2
    assert sorted(report.attached) == [
        ("BOK-001.mp4", "BOK-001"),
        ("BOK-002.mp4", "BOK-002"),
        ("MUG-1.gif", "MUG-1"),
    ]
    assert report.skipped == []


def test_a_file_that_is_not_a_video_or_matches_no_sku_is_reported_not_attached(
    shop: tuple[Shop, int], tmp_path: Path
) -> None:
    opened, merchant_id = shop
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "BOK-001.mp4").write_text("this is a text file, not a video\n")
    (folder / "MUG-1.gif").write_bytes(mp4_bytes())  # a video, but not the GIF its name says
    (folder / "NOPE-9.mp4").write_bytes(mp4_bytes())
    (folder / "BOK-002.mov").write_bytes(mp4_bytes())
    (folder / "notes.txt").write_text("not a clip: left alone")

    report = attach_clip_folder(opened, merchant_id, folder)

    for sku in ("BOK-001", "BOK-002", "MUG-1"):
        assert clip_of(opened, merchant_id, sku) is None, sku
    assert report.attached == []
    assert {(s.file, s.problem.value, s.sku) for s in report.skipped} == {
        ("BOK-001.mp4", "not_video", "BOK-001"),
        ("MUG-1.gif", "not_video", "MUG-1"),
        ("NOPE-9.mp4", "no_sku", "NOPE-9"),
        ("BOK-002.mov", "wrong_suffix", "BOK-002"),
    }


def test_a_sku_matches_in_any_letter_case_and_a_product_takes_one_clip(
    shop: tuple[Shop, int], tmp_path: Path
) -> None:
    opened, merchant_id = shop
    folder = tmp_path / "clips"
    folder.mkdir()
    (folder / "bok-001.mp4").write_bytes(mp4_bytes())
    (folder / "Mug-1.mp4").write_bytes(mp4_bytes(seconds=8))  # a second file for MUG-1...
    (folder / "MUG-1.gif").write_bytes(GIF)  # ...which is this one, named exactly as its SKU

    report = attach_clip_folder(opened, merchant_id, folder)

    assert clip_of(opened, merchant_id, "BOK-001") is not None
    mug = clip_of(opened, merchant_id, "MUG-1")
    assert mug is not None and mug.mime_type == "image/gif"
    assert sorted(report.attached) == [("MUG-1.gif", "MUG-1"), ("bok-001.mp4", "BOK-001")]
    assert [(s.file, s.problem.value, s.sku, s.other) for s in report.skipped] == [
        ("Mug-1.mp4", "duplicate", "MUG-1", "MUG-1.gif")
    ]
