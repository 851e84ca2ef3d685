"""One thread owns the SQLite connection; async code awaits work sent to it.

Like datasette's write thread: the event loop never waits on SQLite, and since a single
thread holds the connection, writes are serialized without locks.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import logging
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from reelcart.storage.database import open_database
from reelcart.storage.store import Store

log = logging.getLogger(__name__)
T = TypeVar("T")


class DatabaseWorker:
    """Runs ``fn(store, *args)`` on the database thread and returns its result."""

    def __init__(self, path: Path | str | None) -> None:
        self._executor = concurrent.futures.ThreadPoolExecutor(
            max_workers=1, thread_name_prefix="reelcart-db"
        )
        self._local = threading.local()
        self._path = path
        self._store: Store | None = None
        # Open (and migrate) on the worker thread itself, so the connection never crosses.
        self._store = self._executor.submit(self._open).result()

    def _open(self) -> Store:
        return Store(open_database(self._path))

    @property
    def store(self) -> Store:
        """The store, for code already running on the database thread."""
        assert self._store is not None
        return self._store

    async def run(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Run ``fn(store, *args, **kwargs)`` on the database thread."""
        loop = asyncio.get_running_loop()
        call = functools.partial(fn, self.store, *args, **kwargs)
        return await loop.run_in_executor(self._executor, call)

    def call(self, fn: Callable[..., T], *args: object, **kwargs: object) -> T:
        """Blocking variant for synchronous callers (the CLI, start-up)."""
        return self._executor.submit(fn, self.store, *args, **kwargs).result()

    def close(self) -> None:
        """Finish queued work, then close the connection."""

        def _close() -> None:
            if self._store is not None:
                self._store.db.close()

        self._executor.submit(_close).result()
        self._executor.shutdown(wait=True)
