"""A catalog file's bytes as text, or the reason it is not a text file at all.

UTF-8 (with or without a BOM) and UTF-16 with its BOM are read; a spreadsheet workbook,
a PDF or an image, a file over ``MAX_FILE_BYTES``, an empty file and text in another
encoding are refused with a ``CatalogFileError`` that says what to send instead.
"""

from __future__ import annotations

import codecs

from reelcart.catalog.problems import file_error
from reelcart.domain import CatalogFileError

MAX_FILE_BYTES = 20 * 1024 * 1024

_SPREADSHEET_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")
_BINARY_MAGIC = (b"%PDF", b"\x89PNG", b"GIF8", b"\xff\xd8\xff", b"\x1f\x8b", b"SQLite format")
_SPREADSHEET_SUFFIXES = (".xlsx", ".xls", ".xlsm", ".ods", ".numbers")


def too_large(size: int) -> CatalogFileError:
    """The refusal of a file of ``size`` bytes, over ``MAX_FILE_BYTES``."""
    return file_error("too_large", size_mb=round(size / 2**20, 1), limit_mb=MAX_FILE_BYTES // 2**20)


def _mostly_junk(sample: str) -> bool:
    """Undecodable characters and controls make up a tenth of the text: not a text file."""
    junk = sum(1 for ch in sample if ch == "\ufffd" or (ch < " " and ch not in "\t\n\r"))
    return junk > len(sample) / 10


def decode_catalog(data: bytes, filename: str) -> str:
    """The text of a catalog file; ``filename`` only sharpens the spreadsheet message.

    Raises:
        CatalogFileError: too large, empty or blank, a spreadsheet workbook, binary, or
            not UTF-8 / UTF-16 text.
    """
    if len(data) > MAX_FILE_BYTES:
        raise too_large(len(data))
    if not data.strip():
        raise file_error("empty")
    if data.startswith(_SPREADSHEET_MAGIC) or (
        filename.lower().endswith(_SPREADSHEET_SUFFIXES) and b"\x00" in data[:4096]
    ):
        raise file_error("spreadsheet")
    if data.startswith(_BINARY_MAGIC):
        raise file_error("not_text")
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError:
            raise file_error("not_text") from None
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError as exc:
            if b"\x00" in data[:65536] or _mostly_junk(
                data[:65536].decode("utf-8", errors="replace")
            ):
                raise file_error("not_text") from None
            line = data[: exc.start].count(b"\n") + 1
            raise file_error("not_utf8", line=line) from None
    # A stray control character is a row error; a file full of them is not text at all
    # (UTF-16 without its BOM, for one).
    if _mostly_junk(text[:65536]):
        raise file_error("not_text")
    if not text.strip():
        raise file_error("empty")
    return text
