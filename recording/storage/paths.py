"""Where recordings live: Asterisk's spool layout and Hotline's store, with no way out of either.

Spool: ``YYYY/MM/DD/<Linkedid>/<Uniqueid>.wav`` under the monitor spool (docs/deploy.md); with
split legs, ``<Uniqueid>-in.wav`` (what the caller said, ``r()``) and ``<Uniqueid>-out.wav``
(``t()``) beside it. The store mirrors the spool's relative path with the compressed extension.
"""

from __future__ import annotations

import re
from pathlib import Path, PurePosixPath

from recording.errors import UnsafePath

# Asterisk's monitor spool (``astspooldir``/monitor) as a stock install names it; a site whose
# Asterisk keeps its spool elsewhere sets ``[recording] asterisk_monitor_dir``.
ASTERISK_MONITOR_DIR = "/var/spool/asterisk/monitor"
_SAFE_PART = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,127}")


def relative_path(file: str, *, monitor_dir: str = ASTERISK_MONITOR_DIR) -> str:
    """The spool-relative path of a file Asterisk named: absolute under ``monitor_dir`` (the
    spool as Asterisk sees it), or already relative to it."""
    if "\x00" in file or "\\" in file:
        raise UnsafePath(f"recording file name {file!r} contains a NUL or a backslash")
    path = PurePosixPath(file)
    if path.is_absolute():
        spool = PurePosixPath(monitor_dir)
        if not path.is_relative_to(spool):
            raise UnsafePath(f"recording {file!r} is outside Asterisk's monitor spool {monitor_dir}")
        path = path.relative_to(spool)
    check_relative(str(path))
    return str(path)


def check_relative(relative: str) -> str:
    """Every part a plain name (no ``..``, no hidden files, no absolute path)."""
    path = PurePosixPath(relative)
    if path.is_absolute() or not path.parts:
        raise UnsafePath(f"{relative!r} must be a relative path")
    for part in path.parts:
        if not _SAFE_PART.fullmatch(part):
            raise UnsafePath(f"{relative!r}: {part!r} is not a plain file or folder name")
    return relative


def safe_join(root: Path, relative: str) -> Path:
    """``root / relative``, refusing anything that resolves outside ``root`` (also via links)."""
    check_relative(relative)
    base = root.resolve()
    target = (base / relative).resolve()
    if not target.is_relative_to(base):
        raise UnsafePath(f"{relative!r} resolves outside {root}")
    return target


def leg_paths(relative: str) -> tuple[str, str]:
    """The r() (caller) and t() (agent) files of a split recording."""
    stem = relative.removesuffix(".wav")
    return f"{stem}-in.wav", f"{stem}-out.wav"


def stored_path(relative: str, extension: str) -> str:
    return str(PurePosixPath(relative).with_suffix("." + extension))
