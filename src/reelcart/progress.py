"""A small terminal progress bar for the CLI; it is a ``ProgressFn``.

On a terminal it redraws one line in place (``\\r``) per stage:
``stored   [##########..........] 500/1000``. When the stream is not a terminal (a CI log, a
file) it writes plain lines instead: when a stage starts, every ``interval`` seconds, and
when it completes.
"""

from __future__ import annotations

import sys
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import TextIO


class ProgressBar:
    """Renders ``progress(stage, done, total)`` calls; safe to call from several threads."""

    def __init__(
        self,
        stream: TextIO | None = None,
        *,
        width: int = 30,
        interval: float = 5.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._stream = stream if stream is not None else sys.stderr
        self._tty = _isatty(self._stream)
        self._width = width
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._stage: str | None = None
        self._last_text = ""
        self._last_at = 0.0
        self._line_open = False  # a TTY line that still needs its newline
        self._stage_done = False  # the completed line of this stage is written

    def __call__(self, stage: str, done: int, total: int) -> None:
        with self._lock:
            now = self._clock()
            new_stage = stage != self._stage
            if new_stage:
                self._end_line()
                self._stage, self._last_text, self._stage_done = stage, "", False
            complete = total > 0 and done >= total
            text = self.render(stage, done, total)
            if self._tty:
                due = new_stage or complete or now - self._last_at >= 0.05
                if text != self._last_text and due:
                    pad = " " * max(len(self._last_text) - len(text), 0)
                    self._write("\r" + text + pad)
                    self._line_open = True
                    self._last_text, self._last_at = text, now
                return
            if self._stage_done:
                return
            if new_stage or complete or now - self._last_at >= self._interval:
                if text != self._last_text:
                    self._write(text + "\n")
                    self._last_text, self._last_at = text, now
                self._stage_done = complete

    def render(self, stage: str, done: int, total: int) -> str:
        """The text of one update: ``stage [#####.....] done/total``."""
        if total > 0:
            filled = min(self._width, self._width * max(done, 0) // total)
            count = f"{done}/{total}"
        else:
            filled, count = 0, str(done)
        bar = "#" * filled + "." * (self._width - filled)
        return f"{stage:<8} [{bar}] {count}"

    def close(self) -> None:
        """End the current line; further calls start a fresh one."""
        with self._lock:
            self._end_line()
            self._stage = None
            self._stream.flush()

    def __enter__(self) -> ProgressBar:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def _end_line(self) -> None:
        if self._line_open:
            self._write("\n")
            self._line_open = False

    def _write(self, text: str) -> None:
        self._stream.write(text)
        self._stream.flush()


def _isatty(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # a closed or file-like stream without isatty
        return False
