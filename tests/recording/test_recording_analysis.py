"""Talk, silence and cross-talk measured on audio made with sox and espeak-ng."""

from __future__ import annotations

from pathlib import Path

import pytest

from recording.analysis import analyse, check_wav
from recording.errors import BadAudio
from tests.recording import audio

pytestmark = pytest.mark.skipif(not audio.HAVE_TOOLS, reason="sox, espeak-ng and ffmpeg are needed")


def test_talk_ratio_of_tone_and_silence_is_measured_within_tolerance(tmp_path: Path):
    clip = audio.concat(
        tmp_path / "clip.wav",
        audio.tone(tmp_path / "a.wav", 2.0),
        audio.silence(tmp_path / "s.wav", 2.0),
        audio.tone(tmp_path / "b.wav", 1.0, 660),
    )
    result = analyse(clip)
    assert result.duration_s == pytest.approx(5.0, abs=0.01)
    assert result.talk_ratio == pytest.approx(0.6, abs=0.03)
    assert result.silence_ratio == pytest.approx(0.4, abs=0.03)
    assert result.crosstalk_s is None


def test_cross_talk_is_the_time_both_legs_speak_at_once(legs):
    caller, agent = legs
    result = analyse(caller, legs=[caller, agent])
    assert result.channels == 2
    assert result.crosstalk_s == pytest.approx(1.0, abs=0.15)  # the closing tones overlap for 1 s
    assert 0.4 < result.talk_ratio < 0.9


def test_espeak_speech_counts_as_talk(tmp_path: Path):
    speech = audio.speech(tmp_path / "s.wav", "Thank you for calling, how can I help you today?")
    padded = audio.concat(tmp_path / "p.wav", speech, audio.silence(tmp_path / "gap.wav", 3.0))
    talk = analyse(padded).talk_ratio * audio.duration_s(padded)
    assert talk == pytest.approx(audio.duration_s(speech), abs=0.8)


@pytest.mark.parametrize("keep", [10, 40, 2000])
def test_a_truncated_wav_is_refused_with_what_is_wrong(tmp_path: Path, mixed: Path, keep: int):
    cut = tmp_path / "cut.wav"
    cut.write_bytes(mixed.read_bytes()[:keep])
    with pytest.raises(BadAudio, match=r"cut\.wav: (truncated|not a readable WAV)"):
        check_wav(cut)
    with pytest.raises(BadAudio):
        analyse(cut)


def test_a_file_that_is_not_audio_is_refused(tmp_path: Path):
    fake = tmp_path / "fake.wav"
    fake.write_text("#!/bin/sh\nrm -rf /\n")
    with pytest.raises(BadAudio, match="not a readable WAV"):
        analyse(fake)
    with pytest.raises(BadAudio, match="missing from the spool"):
        analyse(tmp_path / "nowhere.wav")
