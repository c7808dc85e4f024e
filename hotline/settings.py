"""One settings object, read once at start: a TOML file, then HOTLINE_* environment overrides.

Every setting has a safe default. An override names the section and the field in upper case,
joined by an underscore: ``HOTLINE_AMI_HOST``, ``HOTLINE_DB_URL``, ``HOTLINE_HTTP_PORT``.
Secrets (``HOTLINE_AMI_SECRET``, ``HOTLINE_HTTP_SESSION_KEY``) can also be read from a file named
by the same variable with ``_FILE`` appended, so they never need to sit in a config file.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
import types
import typing
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from recording.storage.paths import ASTERISK_MONITOR_DIR


class SettingsError(ValueError):
    """A settings file or override that cannot be used; the message says which key and why."""


@dataclasses.dataclass(slots=True)
class AmiSettings:
    host: str = ""  # empty: no Asterisk configured
    port: int = 5038
    # Several Asterisk servers (docs/scale.md): ``name`` is this first server's systemname, and
    # ``servers`` the others as "systemname=host[:port]", reached with the same username/secret.
    name: str = ""
    servers: list[str] = dataclasses.field(default_factory=list)
    username: str = "hotline"
    secret: str = dataclasses.field(default="", repr=False)
    action_timeout_s: float = 5.0
    ping_interval_s: float = 3.0
    # A link with no answer to a Ping for this long is dead; together with the interval this
    # notices a stalled Asterisk within 10 s.
    ping_timeout_s: float = 5.0
    connect_timeout_s: float = 5.0
    reconnect_initial_s: float = 0.5
    reconnect_max_s: float = 30.0


@dataclasses.dataclass(slots=True)
class AgiSettings:
    host: str = "127.0.0.1"
    port: int = 4573
    menus_dir: str = "ivr/menus"
    prompts_dir: str = "var/prompts"
    command_timeout_s: float = 30.0


@dataclasses.dataclass(slots=True)
class HttpSettings:
    host: str = "127.0.0.1"
    port: int = 8080
    session_key: str = dataclasses.field(default="", repr=False)
    # Reverse proxies (addresses or networks) whose X-Forwarded-For / -Proto are believed.
    trusted_proxies: list[str] = dataclasses.field(default_factory=list)
    sessions_per_user: int = 3  # a new login ends the user's oldest session beyond this
    session_idle_s: float = 8 * 3600.0
    session_max_age_s: float = 14 * 3600.0
    ws_per_session: int = 8  # WebSockets (open pages) a session may hold; more are refused
    ws_per_user: int = 16


@dataclasses.dataclass(slots=True)
class DbSettings:
    url: str = "sqlite+aiosqlite:///var/hotline.db"
    echo: bool = False


@dataclasses.dataclass(slots=True)
class RecordingSettings:
    spool_dir: str = "var/spool/monitor"  # Asterisk's monitor spool, where Hotline reads it
    # The same folder as Asterisk names it (astspooldir/monitor): recording file names that
    # Asterisk reports are under it.
    asterisk_monitor_dir: str = ASTERISK_MONITOR_DIR
    store_dir: str = "var/recordings"
    format: str = "mp3"
    workers: int = 2
    retention_days: int = 180
    policy_file: str = ""  # empty: record every call from answer (docs/recording-policy.md)


@dataclasses.dataclass(slots=True)
class AcdSettings:
    wrapup_s: float = 15.0
    ring_timeout_s: float = 15.0
    sticky_agent_s: float = 86400.0
    queues_file: str = ""  # empty: the queues shipped in acd/queues.yaml


@dataclasses.dataclass(slots=True)
class CrmSettings:
    ticket_working_days: int = 3
    escalation_email: str = ""  # supervisors' address for tickets near or past their deadline
    catalog_refresh_s: float = 5.0
    notice_sender: str = "log"  # "log" or "smtp"
    smtp_host: str = ""
    smtp_port: int = 587
    smtp_from: str = ""
    smtp_username: str = ""
    smtp_password: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(slots=True)
class SmsSettings:
    provider: str = ""  # empty: SMS notices go to the log; "aliyun": Aliyun SMS (docs/notices.md)
    access_key_id: str = ""
    access_key_secret: str = dataclasses.field(default="", repr=False)
    sign_name: str = ""  # the registered signature (签名)
    template_code: str = ""  # a template with one variable ${content}
    topic_templates: list[str] = dataclasses.field(default_factory=list)  # "topic=TEMPLATE_CODE"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    per_second: float = 10.0
    per_number_s: float = 60.0
    receipts_every_s: float = 300.0  # how often delivery receipts are asked for
    # The token the provider's inbound-SMS push must carry (/api/sms/replies?token=…, the replies
    # to the satisfaction survey, docs/survey.md); empty: no replies are taken.
    inbound_token: str = dataclasses.field(default="", repr=False)


@dataclasses.dataclass(slots=True)
class ClusterSettings:
    # Empty: one node with the in-process bus (the default). Set (redis://host:6379/0): this node
    # is one of several on one PostgreSQL; it stands by until it holds its Asterisk server's
    # lease, then leads (docs/scale.md).
    broker_url: str = dataclasses.field(default="", repr=False)
    node: str = ""  # this node's name; empty: host, process and a random part
    lease_s: float = 3.0  # a leader that cannot renew for this long is replaced
    # Where the other nodes reach this node's HTTP when it leads (they forward to it); empty:
    # http://<[http] host, or this machine's name when that is a wildcard>:<[http] port>/
    advertise_url: str = ""


@dataclasses.dataclass(slots=True)
class Settings:
    timezone: str = "Asia/Shanghai"
    log_level: str = "INFO"
    data_dir: str = "var"
    ami: AmiSettings = dataclasses.field(default_factory=AmiSettings)
    agi: AgiSettings = dataclasses.field(default_factory=AgiSettings)
    http: HttpSettings = dataclasses.field(default_factory=HttpSettings)
    db: DbSettings = dataclasses.field(default_factory=DbSettings)
    recording: RecordingSettings = dataclasses.field(default_factory=RecordingSettings)
    acd: AcdSettings = dataclasses.field(default_factory=AcdSettings)
    crm: CrmSettings = dataclasses.field(default_factory=CrmSettings)
    sms: SmsSettings = dataclasses.field(default_factory=SmsSettings)
    cluster: ClusterSettings = dataclasses.field(default_factory=ClusterSettings)


def load_settings(path: str | Path | None = None, environ: Mapping[str, str] | None = None) -> Settings:
    """The settings from ``path`` (optional TOML file) with ``environ`` overrides on top."""
    environ = os.environ if environ is None else environ
    settings = Settings()
    if path is None:
        path = environ.get("HOTLINE_CONFIG") or None
    if path is not None:
        try:
            data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            raise SettingsError(f"cannot read settings file {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SettingsError(f"settings file {path} is not valid TOML: {exc}") from exc
        _apply_mapping(settings, data, where=str(path))
    _apply_environment(settings, environ)
    return settings


def _apply_mapping(target: Any, data: Mapping[str, Any], where: str) -> None:
    fields = {f.name: f for f in dataclasses.fields(target)}
    for key, value in data.items():
        field = fields.get(key)
        if field is None:
            raise SettingsError(f"{where}: unknown setting {key!r} (known: {', '.join(sorted(fields))})")
        current = getattr(target, key)
        if dataclasses.is_dataclass(current):
            if not isinstance(value, Mapping):
                raise SettingsError(f"{where}: [{key}] must be a table")
            _apply_mapping(current, value, where=f"{where} [{key}]")
        else:
            setattr(target, key, _coerce(value, _field_type(target, key), f"{where}: {key}"))


def _apply_environment(settings: Settings, environ: Mapping[str, str]) -> None:
    for name, target, field in _environment_targets(settings):
        file_name = environ.get(f"{name}_FILE")
        if file_name:
            try:
                value_text = Path(file_name).read_text(encoding="utf-8").strip()
            except OSError as exc:
                raise SettingsError(f"{name}_FILE: cannot read {file_name}: {exc.strerror}") from exc
        elif name in environ:
            value_text = environ[name]
        else:
            continue
        setattr(target, field, _coerce(value_text, _field_type(target, field), name))


def _environment_targets(settings: Settings) -> Iterator[tuple[str, Any, str]]:
    for field in dataclasses.fields(settings):
        value = getattr(settings, field.name)
        if dataclasses.is_dataclass(value):
            for sub in dataclasses.fields(value):
                name = f"HOTLINE_{field.name}_{sub.name}".upper()
                yield name, value, sub.name
        else:
            yield f"HOTLINE_{field.name}".upper(), settings, field.name


def _field_type(target: Any, name: str) -> type:
    hints = typing.get_type_hints(type(target))
    hint = hints[name]
    if isinstance(hint, types.UnionType):
        hint = next(arg for arg in typing.get_args(hint) if arg is not type(None))
    return hint


def _coerce(value: Any, kind: type, where: str) -> Any:
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in {"1", "true", "yes", "on"}:
            return True
        if text in {"0", "false", "no", "off"}:
            return False
        raise SettingsError(f"{where}: expected true or false, got {value!r}")
    if kind in (int, float):
        try:
            return kind(value)
        except (TypeError, ValueError):
            raise SettingsError(f"{where}: expected a {kind.__name__}, got {value!r}") from None
    if typing.get_origin(kind) is list:
        items = value.split(",") if isinstance(value, str) else value
        if not isinstance(items, list) or not all(isinstance(item, str) for item in items):
            raise SettingsError(f"{where}: expected a list of text, got {value!r}")
        return [item.strip() for item in items if item.strip()]
    if kind is str:
        if not isinstance(value, (str, int, float)):
            raise SettingsError(f"{where}: expected text, got {value!r}")
        return str(value)
    return value
