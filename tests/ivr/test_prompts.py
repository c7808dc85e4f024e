"""Prompts made with espeak-ng and sox: 8 kHz mono 16-bit WAV, made again only when changed."""

from __future__ import annotations

import argparse
import shutil
import wave
from pathlib import Path

import pytest

from hotline.commands import prompts as prompts_command
from ivr.loader import parse_menu
from ivr.prompts import PromptGenerationFailed, PromptPaths, generate_prompts, prompt_specs

pytestmark = pytest.mark.skipif(
    not (shutil.which("espeak-ng") and shutil.which("sox")), reason="espeak-ng and sox are installed by make"
)

MENU = """
languages: [zh, en]
fallback_queue: support
start: hello
prompts:
  hello: {zh: 您好, en: Hello}
nodes:
  hello: {kind: hangup, prompt: hello}
"""


def hotline_prompts(*argv: str) -> int:
    """``hotline prompts ARGS`` as the console command parses and runs it."""
    parser = argparse.ArgumentParser(prog="hotline")
    parser.add_argument("--config")
    prompts_command.register(parser.add_subparsers(dest="command", required=True))
    args = parser.parse_args(["prompts", *argv])
    return args.run(args)


def small_menu(text: str = MENU):
    return parse_menu(text, file="4008000000.yaml", number="4008000000")


def test_each_prompt_of_each_language_and_the_mandarin_digits_are_listed() -> None:
    names = [spec.relative for spec in prompt_specs([small_menu()])]
    assert names[:2] == ["4008000000/zh/hello", "4008000000/en/hello"]
    assert names[2:] == [f"common/zh/digit-{digit}" for digit in range(10)]


def test_prompts_are_8khz_mono_16bit_wav_where_the_agi_names_them(tmp_path: Path) -> None:
    report = generate_prompts([small_menu()], tmp_path)
    assert len(report.generated) == 12
    agi_name = PromptPaths(str(tmp_path)).menu_prompt("4008000000", "zh", "hello")
    with wave.open(f"{agi_name}.wav") as audio:
        assert (audio.getframerate(), audio.getnchannels(), audio.getsampwidth()) == (8000, 1, 2)
        assert audio.getnframes() > 1000
    assert Path(f"{PromptPaths(str(tmp_path)).digit('zh', '7')}.wav").is_file()


def test_a_second_run_makes_nothing_and_a_changed_text_is_made_again(tmp_path: Path) -> None:
    generate_prompts([small_menu()], tmp_path)
    made = tmp_path / "4008000000/en/hello.wav"
    before = made.stat().st_mtime_ns
    again = generate_prompts([small_menu()], tmp_path)
    assert (again.generated, again.up_to_date) == ([], 12)
    assert made.stat().st_mtime_ns == before
    changed = generate_prompts([small_menu(MENU.replace("en: Hello", "en: Good morning"))], tmp_path)
    assert changed.generated == ["4008000000/en/hello"]


def test_a_deleted_prompt_file_is_made_again(tmp_path: Path) -> None:
    generate_prompts([small_menu()], tmp_path)
    (tmp_path / "4008000000/zh/hello.wav").unlink()
    assert generate_prompts([small_menu()], tmp_path).generated == ["4008000000/zh/hello"]


def test_a_failing_tool_names_the_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path / "nothing-here"))
    with pytest.raises(PromptGenerationFailed, match=r"4008000000/zh/hello\.wav: espeak-ng failed"):
        generate_prompts([small_menu()], tmp_path / "out")


def test_the_hotline_prompts_command_makes_the_prompts_of_the_menus_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "4008000000.yaml").write_text(MENU, encoding="utf-8")
    monkeypatch.setenv("HOTLINE_AGI_MENUS_DIR", str(menus))
    monkeypatch.setenv("HOTLINE_AGI_PROMPTS_DIR", str(tmp_path / "prompts"))
    assert hotline_prompts() == 0
    assert "12 made, 0 up to date" in capsys.readouterr().out
    assert hotline_prompts() == 0
    assert "0 made, 12 up to date" in capsys.readouterr().out


def test_the_hotline_prompts_command_refuses_a_broken_menu(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    menus = tmp_path / "menus"
    menus.mkdir()
    (menus / "4008000000.yaml").write_text(MENU.replace("prompt: hello", "prompt: helo"), encoding="utf-8")
    monkeypatch.setenv("HOTLINE_AGI_MENUS_DIR", str(menus))
    assert hotline_prompts() == 1
    assert "node 'hello': plays prompt 'helo'" in capsys.readouterr().err
