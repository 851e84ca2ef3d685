"""The index file is written behind a burst of changes, once, not on every change."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

import pytest

from reelcart.embeddings.saver import IndexSaver


def wait_until(condition: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.01)


def test_a_burst_of_changes_is_saved_once() -> None:
    saved: list[float] = []
    saver = IndexSaver(lambda: saved.append(time.monotonic()), delay=0.3)
    try:
        for _ in range(20):
            saver.changed()
        assert saver.pending
        # The fence: the saver has nothing pending and nothing being written. A wrong
        # second save would be pending or written by then (or would keep it from idling).
        assert saver.wait_idle(timeout=10), "the saver kept saving"
        assert len(saved) == 1 and saver.saves == 1
        assert not saver.pending
    finally:
        assert saver.close() is False  # nothing left unsaved


def test_a_change_during_a_save_gets_a_save_of_its_own() -> None:
    writing, release = threading.Event(), threading.Event()

    def slow_save() -> None:
        writing.set()
        release.wait(10)

    saver = IndexSaver(slow_save, delay=0.0)
    try:
        saver.changed()
        assert writing.wait(10)
        saver.changed()  # the save in progress took its snapshot before this change
        assert saver.pending
        writing.clear()
        release.set()
        assert writing.wait(10)  # ...so a second save follows
        wait_until(lambda: saver.saves == 2)
    finally:
        release.set()
        saver.close()


def test_close_reports_unsaved_changes_and_refuses_new_ones() -> None:
    saved: list[int] = []
    saver = IndexSaver(lambda: saved.append(1), delay=60.0)
    saver.changed()
    assert saver.close() is True  # the caller saves: the thread did not
    assert saved == []
    with pytest.raises(RuntimeError):
        saver.changed()


def test_a_failed_save_is_tried_again(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    def flaky() -> None:
        attempts.append(1)
        if len(attempts) == 1:
            raise OSError("disk full")

    saver = IndexSaver(flaky, delay=0.05)
    try:
        saver.changed()
        wait_until(lambda: saver.saves == 1)
        assert len(attempts) == 2
        assert "could not save the index" in caplog.text
    finally:
        saver.close()


def test_a_negative_delay_is_refused() -> None:
    with pytest.raises(ValueError):
        IndexSaver(lambda: None, delay=-1)
