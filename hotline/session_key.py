"""The key that signs the session cookies: ``[http] session_key`` when set, else a random key
generated once into the data folder (``session.key``, readable by Hotline's user only), so
that a restart keeps everyone logged in (docs/sessions.md)."""

from __future__ import annotations

import logging
import os
import secrets
import stat
from pathlib import Path

from hotline.settings import SettingsError

log = logging.getLogger(__name__)

KEY_FILE = "session.key"
MIN_LENGTH = 32


def session_signing_key(configured: str, data_dir: str | Path) -> bytes:
    if configured:
        if len(configured) < MIN_LENGTH:
            raise SettingsError(
                f"[http] session_key: at least {MIN_LENGTH} characters; "
                "or leave it empty to have one generated into the data folder"
            )
        return configured.encode()
    path = Path(data_dir) / KEY_FILE
    path.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        return _read(path)
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(secrets.token_hex(32) + "\n")
    log.info("session_key_created", extra={"kv": {"path": str(path)}})
    return _read(path)


def _read(path: Path) -> bytes:
    if stat.S_IMODE(path.stat().st_mode) & 0o077:
        path.chmod(0o600)
        log.warning("session_key_permissions_tightened", extra={"kv": {"path": str(path), "mode": "0600"}})
    text = path.read_text(encoding="ascii").strip()
    if len(text) < MIN_LENGTH:
        raise SettingsError(f"{path}: the session key is too short; delete the file to have a new one made")
    return text.encode()
