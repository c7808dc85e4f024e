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
