from __future__ import annotations

from pathlib import Path

import pytest

from acd.errors import AcdConfigError
from acd.models import MaxWaitAction, Strategy
from acd.queue_file import load_queue_file


def test_the_shipped_queues_match_the_asterisk_configuration() -> None:
    queues = load_queue_file()
    assert set(queues) == {"support", "sales", "vip", "complaints"}
    conf = (Path(__file__).parents[2] / "asterisk-config" / "queues.conf").read_text()
    for name in queues:
        assert f"[{name}]" in conf and f"[{name}-fallback]" in conf
    assert queues["vip"].skill == "support"
    assert queues["vip"].overflow_to == "support"
    assert queues["sales"].strategy is Strategy.BEST_SKILL
    assert queues["support"].max_wait_action is MaxWaitAction.CALLBACK


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("support: {stratgy: longest-idle}\n", "queue support: unknown setting\\(s\\) stratgy"),
        ("support: {strategy: random}\n", "queue support: strategy 'random' is not one of"),
        ("support: {overflow_after_s: 30, overflow_to: nowhere}\n", "overflow_to 'nowhere' is not a queue"),
        ("support: {service_level_s: 0}\n", "queue support: wrapup_s must be ≥ 0 and service_level_s > 0"),
        ("support: [1, 2]\n", "queue support: expected a mapping"),
        ("- support\n", "expected a mapping of queue name"),
        ("support: {a: [\n", "not valid YAML"),
    ],
)
def test_a_bad_queues_file_names_the_file_the_queue_and_the_problem(
    tmp_path: Path, text: str, message: str
) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text(text)
    with pytest.raises(AcdConfigError, match=message) as caught:
        load_queue_file(path)
    assert str(path) in str(caught.value)
