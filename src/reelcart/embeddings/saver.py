"""Writing the index file behind the changes, not on every one of them.

The index file is a cache: the database keeps every product's vector, and start-up repairs
the file against it (``ProductEmbedder.sync_index``). What the file saves is the IVF
training, minutes in a large catalog. Writing it costs the whole index each time (every
exact vector, and a snapshot that holds back every change meanwhile), so a merchant's
single price edit should not pay for it. ``IndexSaver`` writes ``delay`` seconds
after the first change the file does not hold yet, taking every change made meanwhile, on
a thread of its own, and the shop saves once more on close. A crash in between loses
nothing but a repair at the next start.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable

log = logging.getLogger(__name__)

#: Seconds between a change and the file written for it.
SAVE_DELAY = 30.0


class IndexSaver:
    """Calls ``save`` on a thread of its own, ``delay`` seconds after ``changed``.

    Changes made while a save waits are taken by that save; changes made while it writes
    get a save of their own. A failed save is logged and tried again ``delay`` later.
    """

    def __init__(self, save: Callable[[], None], delay: float = SAVE_DELAY) -> None:
        if delay < 0:
            raise ValueError("delay must not be negative")
        self._save = save
        self.delay = delay
        lock = threading.Lock()
        self._wake = threading.Condition(lock)  # the thread waits here for work
        self._idle = threading.Condition(lock)  # wait_idle waits here for the thread
        self._due: float | None = None  # when the pending save goes, None if none pending
        self._saving = False
        self._closed = False
        self.saves = 0  # how many saves succeeded
        self._thread = threading.Thread(target=self._run, name="reelcart-index-saver", daemon=True)
        self._thread.start()

    @property
    def pending(self) -> bool:
        """Whether a change has not reached the file yet."""
        with self._wake:
            return self._due is not None

    def changed(self) -> None:
        """The index changed: have it written within ``delay`` seconds."""
        with self._wake:
            if self._closed:
                raise RuntimeError("the index saver is closed")
            if self._due is None:
                self._due = time.monotonic() + self.delay
                self._wake.notify()

    def wait_idle(self, timeout: float | None = None) -> bool:
        """Block until no save is pending or being written (a fence for tests and for
        callers that need the file current); False if ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._due is None and not self._saving, timeout)

    def close(self) -> bool:
        """Stop the thread, letting a save in progress finish; returns whether changes
        remain unsaved (the caller saves them: it knows whether the index is still whole)."""
        with self._wake:
            self._closed = True
            self._wake.notify()
        self._thread.join()
        return self._due is not None

    def _run(self) -> None:
        while True:
            with self._wake:
                while not self._closed and (self._due is None or time.monotonic() < self._due):
                    timeout = None if self._due is None else self._due - time.monotonic()
                    self._wake.wait(timeout)
                if self._closed:
                    return
                self._due = None
                self._saving = True
            try:
                self._save()
            except Exception:
                log.exception("could not save the index; trying again in %.0f s", self.delay)
                with self._wake:
                    if self._due is None:
                        self._due = time.monotonic() + self.delay
            else:
                self.saves += 1
            with self._wake:
                self._saving = False
                self._idle.notify_all()
