from __future__ import annotations

import io
import logging

from hotline.logs import configure_logging, mask_phone, render_fields


def test_fields_render_as_key_value_pairs_with_quotes_where_needed() -> None:
    assert render_fields({"event": "ami_reconnect", "attempt": 3, "why": "timed out"}) == (
        'event=ami_reconnect attempt=3 why="timed out"'
    )


def test_secrets_are_masked_and_phone_numbers_shortened() -> None:
    text = render_fields({"secret": "hotline-secret", "ami_password": "x", "caller": "13800131000"})
    assert "hotline-secret" not in text
    assert "secret=***" in text
    assert "caller=138****1000" in text


def test_short_numbers_are_fully_masked() -> None:
    assert mask_phone("1001") == "****"


def test_configured_logger_writes_one_structured_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    logging.getLogger("cti.test").warning("bus_subscriber_slow", extra={"kv": {"subscriber": "pop"}})
    line = stream.getvalue().strip()
    assert "level=warning" in line
    assert "logger=cti.test event=bus_subscriber_slow subscriber=pop" in line


def test_control_characters_in_values_are_escaped_so_a_record_stays_on_its_line() -> None:
    text = render_fields(
        {
            "username": "eve\r\nts=2026-12-01T00:00:00 level=info event=login_ok username=admin",
            "terminal": "\x1b[2J\x1b]0;owned\x07",
            "nul": "a\x00b\x7f",
            "c1": "\x9b31m\x85",
            "separators": "a\u2028b\u2029c\u202eevil",
        }
    )
    assert text == (
        r'username="eve\r\nts=2026-12-01T00:00:00 level=info event=login_ok username=admin"'
        r' terminal="\x1b[2J\x1b]0;owned\x07" nul="a\x00b\x7f" c1="\x9b31m\x85"'
        r' separators="a\u2028b\u2029c\u202eevil"'
    )


def test_a_backslash_is_escaped_so_escapes_are_unambiguous() -> None:
    assert render_fields({"path": "C:\\new", "typed": "\\n"}) == r'path="C:\\new" typed="\\n"'


def test_control_characters_in_keys_do_not_reach_the_log() -> None:
    assert render_fields({"a\nb c=d": 1}) == "a_nb_c_d=1"


def test_the_message_and_the_fields_of_a_record_stay_on_one_line() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    log = logging.getLogger("agent_api.test")
    log.warning("login_failed", extra={"kv": {"username": "x\r\nlevel=error\x1b[31m"}})
    log.info("user %s", "a\nb")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[0].endswith(r'username="x\r\nlevel=error\x1b[31m"')
    assert lines[1].endswith(r'event="user a\nb"')


def test_a_traceback_is_indented_under_its_line_and_carries_no_raw_escapes() -> None:
    stream = io.StringIO()
    configure_logging("INFO", stream)
    try:
        raise ValueError("bad name 'x\nts=2026 level=info event=forged'\x1b[2J")
    except ValueError:
        logging.getLogger("agent_api.test").exception("failed", extra={"kv": {"id": 1}})
    first, *rest = stream.getvalue().rstrip("\n").split("\n")
    assert first.endswith("event=failed id=1")
    assert rest and all(line.startswith("  ") for line in rest)
    assert "\x1b" not in stream.getvalue() and r"\x1b[2J" in stream.getvalue()
