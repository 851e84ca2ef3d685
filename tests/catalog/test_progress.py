"""The CLI progress bar: in place on a terminal, plain lines in a log."""

from __future__ import annotations

import io

from reelcart.progress import ProgressBar


class FakeClock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_render() -> None:
    bar = ProgressBar(io.StringIO(), width=10)

    assert bar.render("stored", 5, 10) == "stored   [#####.....] 5/10"
    assert bar.render("embedded", 10, 10) == "embedded [##########] 10/10"
    assert bar.render("read", 0, 0) == "read     [..........] 0"
    assert bar.render("read", 15, 10) == "read     [##########] 15/10"


def test_a_log_gets_a_line_per_stage_start_end_and_interval() -> None:
    out, clock = io.StringIO(), FakeClock()
    bar = ProgressBar(out, width=10, interval=5.0, clock=clock)

    bar("read", 100, 100)
    bar("checked", 4, 4)
    for done in range(0, 11):
        clock.now += 1.0  # 11 updates over 11 seconds
        bar("stored", done, 10)
    bar("stored", 10, 10)  # repeated: said already
    bar.close()

    assert out.getvalue().splitlines() == [
        "read     [##########] 100/100",
        "checked  [##########] 4/4",
        "stored   [..........] 0/10",
        "stored   [#####.....] 5/10",
        "stored   [##########] 10/10",
    ]
    assert "\r" not in out.getvalue()


def test_a_terminal_redraws_one_line_per_stage() -> None:
    out, clock = Terminal(), FakeClock()
    bar = ProgressBar(out, width=4, clock=clock)

    bar("stored", 1, 2)
    clock.now += 1
    bar("stored", 2, 2)
    clock.now += 1
    bar("embedded", 2, 2)
    bar.close()

    assert out.getvalue() == ("\rstored   [##..] 1/2\rstored   [####] 2/2\n\rembedded [####] 2/2\n")


def test_a_terminal_is_not_redrawn_faster_than_twenty_times_a_second() -> None:
    out, clock = Terminal(), FakeClock()
    bar = ProgressBar(out, width=4, clock=clock)

    for done in range(1, 100):
        bar("stored", done, 100)  # same instant
    bar("stored", 100, 100)
    bar.close()

    assert out.getvalue() == "\rstored   [....] 1/100\rstored   [####] 100/100\n"


def test_close_twice_and_as_a_context_manager() -> None:
    out = Terminal()

    with ProgressBar(out, width=2) as bar:
        bar("read", 1, 1)
        bar.close()

    assert out.getvalue() == "\rread     [##] 1/1\n"
