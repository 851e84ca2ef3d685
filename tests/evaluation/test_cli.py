"""The evaluation commands, as a user runs them: documented, and printing their tables."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reelcart.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_eval_and_simulate_are_in_help_and_in_the_readme() -> None:
    help_text = build_parser().format_help()
    readme = README.read_text(encoding="utf-8")
    for command in ("eval", "simulate"):
        assert re.search(rf"^\s+{command}\s", help_text, re.M), command
        assert f"reelcart {command}" in readme, command


def test_simulate_prints_both_scenarios(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--shoppers", "15", "--swipes", "40"]) == 0
    out = capsys.readouterr().out
    assert "steady tastes" in out and "taste changes half way" in out
    assert out.count("21-30") == 2
    assert "x random" in out


def test_simulate_refuses_too_few_swipes(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", "--swipes", "10"]) == 2
    assert "40 swipes" in capsys.readouterr().err


def test_eval_refuses_unknown_protocols(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["eval", "movielens", "--protocols", "B", "--data", str(tmp_path)]) == 2
    assert "--protocols" in capsys.readouterr().err
