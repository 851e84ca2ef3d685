"""A read-write lock: many readers at once, or one writer."""

from __future__ import annotations

import threading
from collections.abc import Callable


class LockSide:
    """One side of a ``ReadWriteLock``, as a context manager."""

    __slots__ = ("_acquire", "_release")

    def __init__(self, acquire: Callable[[], None], release: Callable[[], None]) -> None:
        self._acquire = acquire
        self._release = release

    def __enter__(self) -> None:
        self._acquire()

    def __exit__(self, *exc: object) -> None:
        self._release()


class ReadWriteLock:
    """Many readers at once, or one writer.

    The indexes' searches and snapshots only read (FAISS allows concurrent reads), so a
    save's snapshot holds up changes, never the feed's searches. A waiting writer holds off
    new readers, so changes are not starved. Not reentrant: code under the lock calls
    unlocked helpers, never a locked method.

    A pick takes the read side many times, hence ``LockSide`` with bound methods instead of
    a ``contextmanager`` around a ``Condition``: the uncontended path is one mutex.
    """

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._changed = threading.Condition(self._mutex)
        self._readers = 0
        self._writing = False
        self._writers_waiting = 0
        self._read_side = LockSide(self._acquire_read, self._release_read)
        self._write_side = LockSide(self._acquire_write, self._release_write)

    def reading(self) -> LockSide:
        """The shared side: ``with lock.reading(): ...``."""
        return self._read_side

    def writing(self) -> LockSide:
        """The exclusive side: ``with lock.writing(): ...``."""
        return self._write_side

    def _acquire_read(self) -> None:
        with self._mutex:
            while self._writing or self._writers_waiting:
                self._changed.wait()
            self._readers += 1

    def _release_read(self) -> None:
        with self._mutex:
            self._readers -= 1
            if self._readers == 0 and self._writers_waiting:
                self._changed.notify_all()

    def _acquire_write(self) -> None:
        with self._mutex:
            self._writers_waiting += 1
            try:
                while self._writing or self._readers:
                    self._changed.wait()
            except BaseException:
                self._writers_waiting -= 1
                self._changed.notify_all()  # the readers it held off may go on
                raise
            self._writers_waiting -= 1
            self._writing = True

    def _release_write(self) -> None:
        with self._mutex:
            self._writing = False
            self._changed.notify_all()
