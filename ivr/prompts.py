"""Prompts: where the audio files live and how they are made from the menus' texts.

Each prompt of each menu, in each of its languages, becomes
``PROMPTS_DIR/NUMBER/LANGUAGE/NAME.wav`` (8 kHz, mono, 16-bit: Asterisk plays it without
transcoding). The AGI names a prompt by its absolute path without extension, so Asterisk must
see PROMPTS_DIR at the same path (same host, or the same volume mounted at the same place).
Mandarin digits for read-backs are made too (``PROMPTS_DIR/common/zh/digit-N.wav``): Asterisk
ships English digit sounds for SAY DIGITS, but no Mandarin ones.

Generation is idempotent: a manifest records a hash of each file's voice and text, and a file
whose hash matches is left alone, so ``hotline prompts`` costs a few milliseconds when nothing
changed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import tempfile
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ivr.errors import IvrError
from ivr.nodes import MenuDefinition

log = logging.getLogger(__name__)

VOICES = {"zh": "cmn", "en": "en"}
DIGIT_WORDS = {"zh": "零一二三四五六七八九"}  # languages Asterisk's own SAY DIGITS cannot speak
MANIFEST = ".manifest.json"
# Bump when the audio pipeline changes, so every file is made again.
PIPELINE = "espeak-ng|sox -r 8000 -c 1 -b 16|v1"


class PromptGenerationFailed(IvrError):
    def __init__(self, file: str, command: str, detail: str) -> None:
        self.file = file
        super().__init__(f"cannot make prompt {file}: {command} failed: {detail.strip()[:300]}")


@dataclass(frozen=True, slots=True)
class PromptPaths:
    """The names the AGI gives Asterisk: absolute paths without extension."""

    root: str

    def menu_prompt(self, number: str, language: str, name: str) -> str:
        return f"{self.root}/{number}/{language}/{name}"

    def digit(self, language: str, digit: str) -> str:
        return f"{self.root}/common/{language}/digit-{digit}"


def says_digits_itself(language: str) -> bool:
    """Whether Asterisk's SAY DIGITS / SAY NUMBER speak this language (else: our digit prompts)."""
    return language not in DIGIT_WORDS


@dataclass(frozen=True, slots=True)
class PromptSpec:
    relative: str  # path under the prompts dir, without extension
    language: str
    text: str

    @property
    def fingerprint(self) -> str:
        payload = f"{PIPELINE}\n{VOICES[self.language]}\n{self.text}".encode()
        return hashlib.sha256(payload).hexdigest()


@dataclass(slots=True)
class GenerationReport:
    generated: list[str] = field(default_factory=list)
    up_to_date: int = 0


def prompt_specs(menus: Iterable[MenuDefinition]) -> list[PromptSpec]:
    specs = []
    languages: set[str] = set()
    for menu in menus:
        languages.update(menu.languages)
        for name, texts in sorted(menu.prompts.items()):
            for language in menu.languages:
                if language in texts:
                    specs.append(PromptSpec(f"{menu.number}/{language}/{name}", language, texts[language]))
    for language in sorted(languages & DIGIT_WORDS.keys()):
        for digit, word in enumerate(DIGIT_WORDS[language]):
            specs.append(PromptSpec(f"common/{language}/digit-{digit}", language, word))
    return specs


def generate_prompts(menus: Iterable[MenuDefinition], root: Path, *, force: bool = False) -> GenerationReport:
    """Make the missing or outdated prompt files under ``root``; blocking (run it in a thread)."""
    root.mkdir(parents=True, exist_ok=True)
    manifest_path = root / MANIFEST
    try:
        manifest: dict[str, str] = json.loads(manifest_path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        manifest = {}
    report = GenerationReport()
    todo = []
    for spec in prompt_specs(menus):
        target = root / f"{spec.relative}.wav"
        if not force and manifest.get(spec.relative) == spec.fingerprint and target.is_file():
            report.up_to_date += 1
        else:
            todo.append(spec)
    if todo:
        with ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as pool:
            for spec in pool.map(lambda spec: _make(spec, root), todo):
                manifest[spec.relative] = spec.fingerprint
                report.generated.append(spec.relative)
        temporary = manifest_path.with_suffix(".tmp")
        temporary.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
        temporary.replace(manifest_path)
    return report


def _make(spec: PromptSpec, root: Path) -> PromptSpec:
    target = root / f"{spec.relative}.wav"
    target.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".prompt-", dir=target.parent) as scratch:
        spoken = Path(scratch) / "spoken.wav"
        resampled = Path(scratch) / "prompt.wav"
        _run(["espeak-ng", "-v", VOICES[spec.language], "-w", str(spoken), "--stdin"], spec.text, target)
        _run(["sox", str(spoken), "-r", "8000", "-c", "1", "-b", "16", str(resampled)], None, target)
        os.replace(resampled, target)
    return spec


def _run(command: list[str], stdin: str | None, target: Path) -> None:
    try:
        done = subprocess.run(command, input=stdin, capture_output=True, text=True, timeout=60, check=False)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PromptGenerationFailed(str(target), command[0], str(exc)) from exc
    if done.returncode != 0:
        raise PromptGenerationFailed(str(target), command[0], done.stderr or f"exit {done.returncode}")
