"""The consult transfer's side of asterisk-config (docs/transfers.md): the keys Hotline presses
for the agent are the ones features.conf gives the attended transfer, and hotline-consult
reaches agents and supervisors only."""

from __future__ import annotations

import pytest
from asterisk_conf import ConfTree, dialplan_steps
from test_asterisk_config import CONFIG, load, make_secrets

from cti.ami_switch import CONSULT_COMPLETE_KEYS, CONSULT_CONTEXT, CONSULT_THREEWAY_KEYS
from cti.simulator import consult as simulated


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> ConfTree:
    return load(CONFIG, make_secrets(tmp_path_factory.mktemp("asterisk") / "secrets"))


def features(tree: ConfTree) -> dict[str, str]:
    [general] = tree.named("features.conf", "general")
    [featuremap] = tree.named("features.conf", "featuremap")
    return {key: value.strip() for key, value, _ in [*general.items, *featuremap.items]}


def test_the_keys_hotline_presses_are_the_attended_transfers_and_apart_from_the_featuremap(
    tree: ConfTree,
) -> None:
    keys = features(tree)
    assert keys["atxfercomplete"] == CONSULT_COMPLETE_KEYS
    assert keys["atxferthreeway"] == CONSULT_THREEWAY_KEYS
    # CancelAtxfer presses atxferabort; the simulator reads the same three.
    assert {
        keys["atxferabort"]: "cancel",
        keys["atxfercomplete"]: "complete",
        keys["atxferthreeway"]: "threeway",
    } == simulated.KEYS
    pressed = {keys["atxferabort"], keys["atxfercomplete"], keys["atxferthreeway"], keys["atxferswap"]}
    assert keys["atxfer"] not in pressed and keys["blindxfer"] not in pressed and len(pressed) == 4


def test_a_consult_reaches_agents_and_supervisors_only(tree: ConfTree) -> None:
    steps = [s for s in dialplan_steps(tree) if s.context == CONSULT_CONTEXT]
    assert {s.exten for s in steps} == {"_10XX", "_20XX"}
    dial = "Dial(PJSIP/${EXTEN},${HOTLINE_RING_S},t)"
    assert [f"{s.app}({s.args})" for s in steps] == [dial, "Hangup()"] * 2
    assert simulated.CONTEXT == CONSULT_CONTEXT
