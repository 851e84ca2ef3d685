"""The demo catalog and its clips, shipped as package data.

Everything here was made by the project (``scripts/make_demo_clips.py`` renders the
clips from ``catalog.csv``) and is CC0. The files are read through
:mod:`importlib.resources`, so they are found the same way from a source checkout,
an installed wheel or a zipped package.
"""

from __future__ import annotations

import atexit
import functools
import json
import re
from contextlib import ExitStack
from importlib.resources import as_file, files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

__all__ = ["catalog_path", "clip_info", "clip_path"]

_CLIPS = "clips"
_INDEX = "index.json"
# Skus name files here, so only plain sku characters may reach the file system.
_SKU = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")

# Holds files extracted from a zipped package until the interpreter exits.
_extracted = ExitStack()
atexit.register(_extracted.close)


def _real_path(resource: Traversable) -> Path:
    """A file-system path for `resource`, extracting it once if the package is zipped."""
    if isinstance(resource, Path):
        return resource
    return _extracted.enter_context(as_file(resource))


def _clips() -> Traversable:
    return files(__name__).joinpath(_CLIPS)


def catalog_path() -> Path:
    """Path of the demo catalog CSV (72 products in 8 categories).

    The same catalog as JSON sits beside it as ``catalog.json``.
    """
    return _real_path(files(__name__).joinpath("catalog.csv"))


def clip_path(sku: str) -> Path | None:
    """Path of the demo clip (an H.264 MP4) of product `sku`, or None if it has none."""
    if not _SKU.fullmatch(sku):
        return None
    resource = _clips().joinpath(f"{sku}.mp4")
    if not resource.is_file():
        return None
    return _real_path(resource)


@functools.cache
def _index() -> dict[str, dict[str, Any]]:
    resource = _clips().joinpath(_INDEX)
    if not resource.is_file():
        return {}
    data: dict[str, dict[str, Any]] = json.loads(resource.read_text(encoding="utf-8"))
    return data


def clip_info(sku: str) -> dict[str, Any] | None:
    """What Telegram wants to know about the clip of `sku`, or None if it has none.

    The dict has ``duration`` (seconds), ``width``, ``height`` (pixels) and
    ``mime_type``. It is a fresh copy: changing it changes nothing here.
    """
    info = _index().get(sku)
    return dict(info) if info is not None else None
