"""A folder of clips attached to a merchant's products (``reelcart import --clips DIR``).

- A clip is named after its product's SKU: ``<sku>.mp4`` or ``<sku>.gif``. The SKU matches
  in any letter case (``bok-001.mp4`` is BOK-001's clip); where two SKUs differ only by
  case, the file matching one exactly is that one's, and a file matching neither exactly
  is reported as ambiguous. A product takes one clip: a file named exactly as its SKU
  before one in another case, an ``.mp4`` before a ``.gif``; the others are reported.
- A clip must be what its name says, by its first bytes: an ``.mp4`` file an MP4/MOV
  (an ``ftyp`` box) or WebM/Matroska video (an EBML header), a ``.gif`` file a GIF.
- A clip is copied into the shop's clip store beside the database, named by the SHA-256
  of its content, so the source folder can be moved or deleted afterwards and the same
  clip attached twice is stored once.
- Every clip file that is not attached is reported with the reason (no such SKU, not a
  video, unreadable, a second file for the same product, a video under another name such
  as ``.mov``). Other files (notes, thumbnails) are left alone.
"""

from __future__ import annotations

import contextlib
import enum
import hashlib
import os
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reelcart.domain import Clip
from reelcart.storage.products import set_clip
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

#: The names a clip may have, and what its content must then be.
CLIP_SUFFIXES = (".mp4", ".gif")
#: Video files under a name reelcart does not take: reported, not attached.
OTHER_VIDEO_SUFFIXES = (".mov", ".m4v", ".webm", ".mkv", ".avi")
#: The content-addressed folder, inside the shop's clips folder.
STORE_FOLDER = "sha256"
_EBML = b"\x1a\x45\xdf\xa3"


class ClipProblem(enum.StrEnum):
    """Why a clip file was not attached."""

    NO_SKU = "no_sku"
    AMBIGUOUS = "ambiguous"
    NOT_VIDEO = "not_video"
    UNREADABLE = "unreadable"
    DUPLICATE = "duplicate"
    WRONG_SUFFIX = "wrong_suffix"


@dataclass(frozen=True)
class SkippedClip:
    """A clip file left out; ``sku`` is the SKU its name gave, ``other`` the file that
    took the product (for a duplicate)."""

    file: str
    problem: ClipProblem
    sku: str
    other: str = ""


@dataclass
class ClipFolderReport:
    """What ``attach_clip_folder`` did: (file, SKU) pairs attached, files skipped."""

    attached: list[tuple[str, str]] = field(default_factory=list)
    skipped: list[SkippedClip] = field(default_factory=list)


def clip_mime_type(head: bytes, suffix: str) -> str | None:
    """The MIME type of a clip whose file starts with ``head`` (at least 12 bytes) and is
    named ``*suffix``; None if the content is not what such a name promises."""
    if suffix == ".gif":
        return "image/gif" if head.startswith((b"GIF87a", b"GIF89a")) else None
    if head[4:8] == b"ftyp":
        return "video/mp4"
    if head.startswith(_EBML):
        return "video/webm"
    return None


def store_clip(source: Path, store: Path) -> Path:
    """Copy ``source`` into ``store`` as ``<sha256><suffix>`` (once: an identical clip is
    there already) and return where it is. The copy appears whole or not at all."""
    digest = hashlib.sha256()
    with source.open("rb") as file:
        for chunk in iter(lambda: file.read(1 << 20), b""):
            digest.update(chunk)
    target = store / f"{digest.hexdigest()}{source.suffix.lower()}"
    if target.is_file():
        return target
    store.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=store, prefix=".incoming-")
    os.close(handle)
    try:
        shutil.copyfile(source, temporary)
        Path(temporary).replace(target)
    finally:
        with contextlib.suppress(FileNotFoundError):
            Path(temporary).unlink()
    return target


def _merchant_skus(store: Store, merchant_id: int) -> dict[str, int]:
    """On the database thread: every SKU of the merchant's products, and its product."""
    rows = store.db.execute(
        "SELECT sku, id FROM products WHERE merchant_id = ? AND status != 'deleted'",
        [merchant_id],
    ).fetchall()
    return {sku: product_id for sku, product_id in rows}


def _match(name: str, skus: dict[str, int]) -> tuple[str | None, ClipProblem | None]:
    """The SKU a file's name (without suffix) stands for, or why there is none."""
    if name in skus:
        return name, None
    folded = [sku for sku in skus if sku.casefold() == name.casefold()]
    if len(folded) == 1:
        return folded[0], None
    return None, ClipProblem.AMBIGUOUS if folded else ClipProblem.NO_SKU


def attach_clip_folder(
    db: DatabaseWorker, merchant_id: int, folder: Path, clips_dir: Path
) -> ClipFolderReport:
    """Attach the clips in ``folder`` to the merchant's products, copied into
    ``clips_dir`` (see the module's docstring). Blocking.

    Raises OSError if ``folder`` cannot be listed or a clip cannot be written.
    """
    report = ClipFolderReport()
    skus = db.call(_merchant_skus, merchant_id)
    taken: dict[str, str] = {}  # SKU -> the file attached to it
    files = sorted((p for p in folder.iterdir() if p.is_file()), key=_exact_case_first(skus))
    for path in files:
        suffix = path.suffix.lower()
        if suffix in OTHER_VIDEO_SUFFIXES:
            report.skipped.append(SkippedClip(path.name, ClipProblem.WRONG_SUFFIX, path.stem))
            continue
        if suffix not in CLIP_SUFFIXES:
            continue
        sku, problem = _match(path.stem, skus)
        if sku is None:
            assert problem is not None
            report.skipped.append(SkippedClip(path.name, problem, path.stem))
            continue
        if sku in taken:
            skipped = SkippedClip(path.name, ClipProblem.DUPLICATE, sku, taken[sku])
            report.skipped.append(skipped)
            continue
        try:
            with path.open("rb") as file:
                head = file.read(12)
        except OSError:
            report.skipped.append(SkippedClip(path.name, ClipProblem.UNREADABLE, sku))
            continue
        mime = clip_mime_type(head, suffix)
        if mime is None:
            report.skipped.append(SkippedClip(path.name, ClipProblem.NOT_VIDEO, sku))
            continue
        stored = store_clip(path, clips_dir / STORE_FOLDER)  # a full disk is not the clip's fault
        db.call(set_clip, Clip(product_id=skus[sku], source=str(stored), mime_type=mime))
        taken[sku] = path.name
        report.attached.append((path.name, sku))
    return report


def _exact_case_first(skus: dict[str, int]) -> Callable[[Path], tuple[bool, bool, str]]:
    """Sort key: files named exactly as a SKU before the others, ``.mp4`` before ``.gif``,
    then by name, so a product's exact-case MP4 wins over its other files."""

    def key(path: Path) -> tuple[bool, bool, str]:
        return (path.stem not in skus, path.suffix.lower() != ".mp4", path.name)

    return key
