"""The command line, as a merchant or operator uses it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from reelcart import demo_data
from reelcart.cli import build_parser, main

README = Path(__file__).resolve().parents[2] / "README.md"


def test_every_command_is_in_help_and_in_the_readme() -> None:
    parser = build_parser()
    help_text = parser.format_help()
    readme = README.read_text(encoding="utf-8")
    commands = ["run", "import", "demo"]
    for command in commands:
        assert re.search(rf"^\s+{command}\s", help_text, re.M), command
        assert f"reelcart {command}" in readme, command


def test_every_setting_is_in_the_readme() -> None:
    config = (Path(__file__).resolve().parents[2] / "src/reelcart/config.py").read_text()
    readme = README.read_text(encoding="utf-8")
    for variable in set(re.findall(r'"(REELCART_[A-Z_]+)"', config)):
        assert f"`{variable}`" in readme, variable


@pytest.mark.model
def test_import_reports_bad_rows_and_reimport_changes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    source = demo_data.catalog_path().with_name("catalog_with_errors.csv")
    errors_csv = tmp_path / "failed.csv"

    assert (
        main(["import", str(source), "--merchant", "Tea Co", "--errors-csv", str(errors_csv)]) == 0
    )
    out, err = capsys.readouterr()
    assert "catalog_with_errors.csv: 6 created, 0 updated, 0 unchanged, 4 failed" in out
    assert "• line 4, title: the title is empty" in err
    assert errors_csv.read_text(encoding="utf-8-sig").splitlines()[0] == "line,column,sku,reason"

    assert main(["import", str(source), "--merchant", "Tea Co"]) == 0
    out, _ = capsys.readouterr()
    assert "0 created, 0 updated, 6 unchanged, 4 failed" in out


@pytest.mark.model
def test_import_speaks_french_when_the_terminal_does(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    monkeypatch.delenv("LC_ALL", raising=False)
    monkeypatch.delenv("LC_MESSAGES", raising=False)
    monkeypatch.setenv("LANG", "fr_FR.UTF-8")
    source = demo_data.catalog_path().with_name("catalog_with_errors.csv")
    errors_csv = tmp_path / "echecs.csv"

    command = ["import", str(source), "--merchant", "Tea Co", "--errors-csv", str(errors_csv)]
    assert main(command) == 0
    out, err = capsys.readouterr()
    assert "catalog_with_errors.csv : 6 créés, 0 modifiés, 0 inchangés, 4 en échec" in out
    assert "• ligne 4, title : " in err and "the title is empty" not in err
    assert errors_csv.read_text(encoding="utf-8-sig").splitlines()[0] == "ligne,colonne,sku,raison"
    # --lang wins over the terminal's locale.
    assert main(["import", str(source), "--merchant", "Tea Co", "--lang", "en"]) == 0
    out, _ = capsys.readouterr()
    assert "0 created, 0 updated, 6 unchanged, 4 failed" in out


@pytest.mark.model
def test_an_unreadable_file_imports_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    bad = tmp_path / "catalog.csv"
    bad.write_bytes(b"sku,title,price\nA,Caf\xe9,3.00\n")
    assert main(["import", str(bad), "--merchant", "Acme", "--lang", "en"]) == 1
    _, err = capsys.readouterr()
    assert "nothing imported from catalog.csv" in err and "UTF-8" in err
    assert main(["import", str(bad), "--merchant", "Acme", "--lang", "fr"]) == 1
    _, err = capsys.readouterr()
    assert "rien n'a été importé de catalog.csv" in err and "UTF-8" in err


def test_a_bad_setting_stops_with_the_variable_named(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DISCOVERY_RATE", "often")
    assert main(["run"]) == 2
    assert "REELCART_DISCOVERY_RATE" in capsys.readouterr().err


def test_run_without_a_token_explains_what_to_do(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    monkeypatch.delenv("REELCART_BOT_TOKEN", raising=False)
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "x.db"))
    assert main(["run"]) == 2
    assert "REELCART_BOT_TOKEN" in capsys.readouterr().err


def test_import_without_a_merchant_name_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    source = str(demo_data.catalog_path())
    assert main(["import", source, "--merchant", " "]) == 2
    assert capsys.readouterr().err == "reelcart import: --merchant needs the merchant's name\n"
    assert not (tmp_path / "shop.db").exists()  # checked before anything opened


def test_import_with_a_missing_clips_folder_is_a_usage_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    source = str(demo_data.catalog_path())
    missing = tmp_path / "no-clips-here"
    assert main(["import", source, "--merchant", "Acme", "--clips", str(missing)]) == 2
    assert capsys.readouterr().err == f"reelcart import: --clips {missing}: no such folder\n"
    assert not (tmp_path / "shop.db").exists()


@pytest.mark.parametrize("command", [["run"], ["import", "catalog.csv", "--merchant", "Acme"]])
def test_a_model_path_that_is_not_a_folder_is_a_configuration_error(
    command: list[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    monkeypatch.setenv("REELCART_BOT_TOKEN", "123456:not-used-the-model-is-checked-first")
    monkeypatch.setenv("REELCART_MODEL", "/nonexistent")
    assert main(command) == 2
    err = capsys.readouterr().err
    assert err.startswith("reelcart: REELCART_MODEL: /nonexistent is not a folder")
    assert len(err.splitlines()) == 1


@pytest.mark.model
def test_a_model_that_does_not_load_is_a_configuration_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    not_a_model = tmp_path / "model"
    not_a_model.mkdir()
    monkeypatch.setenv("REELCART_MODEL", str(not_a_model))
    source = str(demo_data.catalog_path())
    assert main(["import", source, "--merchant", "Acme"]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"reelcart import: REELCART_MODEL: cannot load the model '{not_a_model}'")
    assert len(err.splitlines()) == 1


@pytest.mark.model
def test_import_with_clips_says_which_files_were_not_attached_and_why(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("REELCART_DB", str(tmp_path / "shop.db"))
    source = demo_data.catalog_path().with_name("catalog_with_errors.csv")
    clips = tmp_path / "clips"
    clips.mkdir()
    (clips / "tea-001.mp4").write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2")
    (clips / "TEA-002.mp4").write_text("not a video\n")
    (clips / "TEA-404.mp4").write_bytes(b"\x1a\x45\xdf\xa3" + bytes(28))

    command = ["import", str(source), "--merchant", "Tea Co", "--clips", str(clips)]
    assert main([*command, "--lang", "en"]) == 0
    out, err = capsys.readouterr()
    assert "1 clip(s) attached" in out
    assert "2 clip file(s) not attached:" in err
    assert "  • TEA-002.mp4: not a video" in err
    assert "  • TEA-404.mp4: no product with SKU TEA-404" in err
    assert len(list((tmp_path / "shop-clips" / "sha256").iterdir())) == 1


@pytest.mark.parametrize("swipes", ["-3", "0", "many"])
def test_demo_refuses_a_swipe_count_that_is_not_positive(
    swipes: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as stopped:
        main(["demo", "--swipes", swipes])
    assert stopped.value.code == 2
    assert "--swipes" in capsys.readouterr().err
