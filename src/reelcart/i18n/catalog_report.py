"""What went wrong in a catalog import, in the reader's language.

One place for the bot's upload report, its failed-rows file, and ``reelcart import``, so a
merchant reads the same words in the chat and in a terminal. Texts are plain: the bot
HTML-escapes what it shows.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence

from reelcart.catalog.importer import ImportReport
from reelcart.catalog.safe_csv import safe_csv_cell
from reelcart.domain import CatalogFileError, Language
from reelcart.domain.catalog import RowError
from reelcart.i18n import t


def report_counts(report: ImportReport) -> dict[str, int]:
    """The four numbers every import summary gives, as template parameters."""
    return {
        "created": report.created,
        "updated": report.updated,
        "unchanged": report.unchanged,
        "failed": report.failed,
    }


def row_reason(lang: Language, error: RowError) -> str:
    """Why the row was refused (the English text when its key does not format)."""
    try:
        return t(lang, error.key, **error.params) if error.key else error.reason
    except (KeyError, IndexError):
        return error.reason


def row_place(lang: Language, error: RowError) -> str:
    """Where in the file: ``line 4, title`` or ``line 4``."""
    if error.column:
        return t(lang, "upload.where", line=error.line, column=error.column)
    return t(lang, "upload.where_line", line=error.line)


def file_reason(lang: Language, error: CatalogFileError) -> str:
    """Why nothing of the file could be read."""
    if error.message_key.count(".") > 1:  # a precise ``error.catalog_file.<why>``
        return t(lang, error.message_key, **error.params)
    return str(error)


def failed_rows_csv(errors: Sequence[RowError], lang: Language) -> bytes:
    """The refused rows and why, as a UTF-8 CSV with a BOM (spreadsheet apps then read the
    accents right); every cell formula-safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(
        [
            t(lang, "upload.csv_line"),
            t(lang, "upload.csv_column"),
            "sku",
            t(lang, "upload.csv_reason"),
        ]
    )
    for error in errors:
        writer.writerow(
            [
                str(error.line),
                safe_csv_cell(error.column),
                safe_csv_cell(error.sku or ""),
                safe_csv_cell(row_reason(lang, error)),
            ]
        )
    return ("\ufeff" + out.getvalue()).encode("utf-8")
