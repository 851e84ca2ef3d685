"""Catalog import: a merchant's file in, checked products out, stored in one transaction.

``CatalogImporter`` reads the file (``formats.parse_catalog``), stores the good rows
atomically on the database thread and hands the changed products to the embedding
pipeline, reporting progress by stage (``STAGES``) on the way; the ``ImportReport`` says
what it did in the merchant's terms. A file that cannot be read at all raises
``CatalogFileError`` and nothing is imported; a bad row is reported and every other row
still imports.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from reelcart.catalog.decoding import MAX_FILE_BYTES, too_large
from reelcart.catalog.formats import parse_catalog
from reelcart.catalog.problems import file_error
from reelcart.domain import CatalogFileError, Merchant, Product
from reelcart.domain.catalog import CatalogRow, RowError, RowOutcome
from reelcart.storage.merchants import merchant_by_name
from reelcart.storage.products import get_products, product_ids_by_sku, upsert_rows
from reelcart.storage.store import Store
from reelcart.storage.worker import DatabaseWorker

log = logging.getLogger(__name__)

ProgressFn = Callable[[str, int, int], None]
"""``progress(stage, done, total)``; stages in the order of ``STAGES``."""

STAGES = ("read", "checked", "stored", "embedded", "indexed")

_STORE_CHUNK = 500


@dataclass(frozen=True)
class ImportReport:
    """What an import did, in the merchant's terms."""

    merchant: Merchant
    format: str
    total: int
    created: int
    updated: int
    unchanged: int
    failed: int
    errors: list[RowError]
    product_ids: list[int]
    changed_ids: list[int] = field(default_factory=list)
    skipped: int = 0
    ignored_columns: tuple[str, ...] = ()

    def summary(self) -> str:
        """One English line, e.g. ``3 created, 1 updated, 0 unchanged, 2 failed``."""
        return (
            f"{self.created} created, {self.updated} updated, "
            f"{self.unchanged} unchanged, {self.failed} failed"
        )


def _no_progress(stage: str, done: int, total: int) -> None:
    return None


@dataclass(frozen=True)
class _Stored:
    merchant: Merchant
    outcomes: list[RowOutcome]
    ids: dict[str, int]


class CatalogImporter:
    """The one catalog importer behind the CLI and the bot.

    ``on_changed(products, progress)`` is called, from the importing thread, with the
    products an import created or updated, so the embedding pipeline can embed and index
    them and report its own ``"embedded"``/``"indexed"`` progress.
    """

    def __init__(
        self,
        worker: DatabaseWorker,
        on_changed: Callable[[list[Product], ProgressFn], None] | None = None,
    ) -> None:
        self._worker = worker
        self._on_changed = on_changed

    def import_path(
        self, path: Path | str, merchant_name: str, progress: ProgressFn | None = None
    ) -> ImportReport:
        """Import the catalog file at ``path`` for the merchant (created if new).

        Blocking: call it from the CLI or a worker thread, never on the event loop.

        Raises:
            CatalogFileError: the file cannot be read (the OS reason is in the message), is
                larger than 20 MB, or is not a catalog (see ``parse_catalog``).
            ValueError: ``merchant_name`` is blank.
        """
        report = progress or _no_progress
        path = Path(path)
        try:
            size = path.stat().st_size
            if size > MAX_FILE_BYTES:
                raise too_large(size)
            chunks: list[bytes] = []
            done = 0
            with path.open("rb") as handle:
                report("read", 0, size)
                while chunk := handle.read(1 << 20):
                    chunks.append(chunk)
                    done += len(chunk)
                    if done > MAX_FILE_BYTES:
                        raise too_large(done)
                    report("read", done, max(size, done))
        except OSError as exc:
            raise file_error("unreadable", reason=exc.strerror or str(exc)) from exc
        return self._import(b"".join(chunks), path.name, merchant_name, report, read=False)

    def import_bytes(
        self,
        data: bytes,
        filename: str,
        merchant_name: str,
        progress: ProgressFn | None = None,
    ) -> ImportReport:
        """Import a catalog file's bytes (a bot upload) for the merchant (created if new).

        Valid rows are stored in one transaction, so an import that fails half way leaves
        the catalog as it was; bad rows are reported in ``ImportReport.errors``. Blocking:
        call it from a thread or the CLI, never on the event loop or the database thread.

        Raises:
            CatalogFileError: the file is not a readable catalog (see ``parse_catalog``);
                nothing is stored.
            ValueError: ``merchant_name`` is blank.
            Whatever ``on_changed`` raises, after the products are stored.
        """
        return self._import(data, filename, merchant_name, progress or _no_progress, read=True)

    def _import(
        self, data: bytes, filename: str, merchant_name: str, progress: ProgressFn, read: bool
    ) -> ImportReport:
        name = merchant_name.strip()
        if not name:
            raise ValueError("the merchant name is empty")
        started = time.perf_counter()
        if read:
            progress("read", len(data), len(data))
        try:
            parsed = parse_catalog(data, filename)
        except CatalogFileError as exc:
            log.info("catalog %r for %s refused: %s", filename, name, exc)
            raise
        progress("checked", parsed.total, parsed.total)

        stored = self._worker.call(_store_rows, name, parsed.rows, progress)
        counts = {outcome: 0 for outcome in RowOutcome}
        changed: list[int] = []
        for row, outcome in zip(parsed.rows, stored.outcomes, strict=True):
            counts[outcome] += 1
            if outcome is not RowOutcome.UNCHANGED:
                changed.append(stored.ids[row.sku])
        report = ImportReport(
            merchant=stored.merchant,
            format=parsed.format,
            total=parsed.total,
            created=counts[RowOutcome.CREATED],
            updated=counts[RowOutcome.UPDATED],
            unchanged=counts[RowOutcome.UNCHANGED],
            failed=parsed.failed,
            errors=parsed.errors,
            product_ids=[stored.ids[row.sku] for row in parsed.rows],
            changed_ids=changed,
            skipped=parsed.skipped,
            ignored_columns=parsed.ignored_columns,
        )
        log.info(
            "imported %s catalog %r for %s in %.2fs: %s",
            parsed.format, filename, name, time.perf_counter() - started, report.summary(),
        )  # fmt: skip
        if changed and self._on_changed is not None:
            found = self._worker.call(get_products, changed)
            self._on_changed([found[pid] for pid in changed if pid in found], progress)
        return report


def _store_rows(
    store: Store, merchant_name: str, rows: list[CatalogRow], progress: ProgressFn
) -> _Stored:
    """On the database thread: the merchant and every row, in one transaction."""
    if not rows:
        merchant = merchant_by_name(store, merchant_name)
        assert merchant is not None
        progress("stored", 0, 0)
        return _Stored(merchant, [], {})
    outcomes: list[RowOutcome] = []
    with store.db.atomic():
        merchant = merchant_by_name(store, merchant_name)
        assert merchant is not None
        for start in range(0, len(rows), _STORE_CHUNK):
            outcomes.extend(upsert_rows(store, merchant.id, rows[start : start + _STORE_CHUNK]))
            progress("stored", len(outcomes), len(rows))
        ids = product_ids_by_sku(store, merchant.id, [row.sku for row in rows])
    return _Stored(merchant, outcomes, ids)
