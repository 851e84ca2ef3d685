"""Why a catalog file or one of its rows is refused, as a message key and its parameters.

A whole file is refused with ``CatalogFileError`` (key ``error.catalog_file.<why>``); one
cell with ``InvalidCell``, which the row checker turns into a ``RowError`` (key
``catalog_row.<key>``). The texts live in the translation catalogs (``reelcart.i18n``):
the bot and ``reelcart import`` say them in the reader's language from the key and
parameters, and the English one is kept on the error too, for ``str()`` and the logs.
"""

from __future__ import annotations

from reelcart.domain import CatalogFileError, Language
from reelcart.domain.catalog import RowError
from reelcart.i18n import t

FILE_ERROR_PREFIX = "error.catalog_file."
ROW_ERROR_PREFIX = "catalog_row."


def file_error(why: str, /, **params: object) -> CatalogFileError:
    """The error that refuses a whole file for reason ``why`` (``"empty"``, ``"bad_csv"``...)."""
    key = FILE_ERROR_PREFIX + why
    return CatalogFileError(key, text=t(Language.EN, key, **params), **params)


def row_error(
    line: int, column: str, key: str, params: dict[str, object], sku: str | None = None
) -> RowError:
    """The ``RowError`` for line ``line`` (``column`` blank when the whole row is wrong)."""
    message_key = ROW_ERROR_PREFIX + key
    reason = t(Language.EN, message_key, **params)
    return RowError(line, column, reason, sku, message_key, dict(params))


class InvalidCell(Exception):
    """One cell is wrong: ``key`` (without ``catalog_row.``) and ``params`` say how."""

    def __init__(self, key: str, **params: object) -> None:
        super().__init__(key)
        self.key = key
        self.params = params
