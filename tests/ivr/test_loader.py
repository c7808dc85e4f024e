"""Menu files: each problem is refused with the file and the node named."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ivr.errors import MenuInvalid
from ivr.loader import load_menu, parse_menu
from ivr.nodes import Menu, NodeKind
from tests.ivr.fakes import REPO_MENUS

GOOD = """
languages: [zh, en]
fallback_queue: support
start: main
prompts:
  main: {zh: 请按1, en: Press 1}
nodes:
  main:
    kind: menu
    prompt: main
    choices: {1: q}
    on_fail: q
  q: {kind: queue, queue: support, skill: support}
"""


def problems(text: str, file: str = "menus/4008000000.yaml") -> list[str]:
    with pytest.raises(MenuInvalid) as caught:
        parse_menu(textwrap.dedent(text), file=file, number="4008000000")
    return [str(problem) for problem in caught.value.problems]


def test_every_menu_in_the_repository_loads() -> None:
    files = sorted(REPO_MENUS.glob("*.yaml"))
    assert files
    for path in files:
        menu = load_menu(path)
        assert menu.number == path.stem


def test_a_good_menu_becomes_typed_nodes_with_string_keys() -> None:
    menu = parse_menu(GOOD, file="m.yaml", number="4008000000")
    main = menu.nodes["main"]
    assert isinstance(main, Menu)
    assert main.kind is NodeKind.MENU
    assert dict(main.choices) == {"1": "q"}
    assert menu.default_language == "zh"


def test_a_choice_to_an_unknown_node_names_the_file_the_node_and_the_target() -> None:
    assert problems(GOOD.replace("choices: {1: q}", "choices: {1: nowhere}")) == [
        "menus/4008000000.yaml: node 'main': choice '1' goes to unknown node 'nowhere'"
    ]


def test_a_node_nobody_reaches_is_refused() -> None:
    text = GOOD + "  orphan: {kind: hangup}\n"
    assert problems(text) == ["menus/4008000000.yaml: node 'orphan': cannot be reached from start 'main'"]


def test_a_prompt_that_is_not_defined_is_refused() -> None:
    assert problems(GOOD.replace("prompt: main", "prompt: mian")) == [
        "menus/4008000000.yaml: node 'main': plays prompt 'mian', which is not under prompts"
    ]


def test_a_prompt_without_text_in_one_of_the_languages_is_refused() -> None:
    assert problems(GOOD.replace(", en: Press 1", "")) == [
        "menus/4008000000.yaml: node 'main': prompt 'main' has no en text"
    ]


def test_a_loop_with_no_way_out_is_refused_and_shown() -> None:
    text = """
    languages: [en]
    fallback_queue: support
    start: a
    prompts:
      p: {en: Hello}
    nodes:
      a: {kind: play, prompt: p, next: b}
      b: {kind: play, prompt: p, next: a}
    """
    found = problems(text)
    assert found[0] == (
        "menus/4008000000.yaml: node 'a': loop with no way out (a → b → a): no path from here reaches "
        "a queue, callback, message, transfer or hangup node"
    )
    assert found[1].startswith("menus/4008000000.yaml: node 'b': loop with no way out (b → a → b)")


def test_a_loop_that_has_an_exit_is_accepted() -> None:
    text = GOOD.replace("choices: {1: q}", "choices: {1: q, 9: main}")
    assert parse_menu(text, file="m.yaml", number="4008000000").start == "main"


def test_an_unknown_kind_and_an_unknown_key_are_named() -> None:
    text = GOOD.replace("kind: queue, queue: support", "kind: queueu, queue: support").replace(
        "on_fail: q", "on_fail: q\n    timout_s: 3"
    )
    found = problems(text)
    assert "menus/4008000000.yaml: node 'q': unknown kind 'queueu'" in found[1]
    assert found[0].startswith("menus/4008000000.yaml: node 'main': unknown key 'timout_s' for a menu node")


def test_a_missing_required_key_is_named() -> None:
    assert problems(GOOD.replace("    on_fail: q\n", "")) == [
        "menus/4008000000.yaml: node 'main': a menu node needs 'on_fail'"
    ]


def test_opening_hours_must_be_quoted_ranges() -> None:
    text = GOOD.replace("start: main", "start: hours") + (
        "  hours: {kind: business_hours, workdays: 09:00-18:00, restdays: 18:00, open: main, closed: q}\n"
    )
    found = problems(text)
    assert found == [
        "menus/4008000000.yaml: node 'hours': restdays: "
        'expected opening hours as "HH:MM-HH:MM" (quoted), got 1080'
    ]


def test_a_lookup_of_a_value_nobody_collects_is_refused() -> None:
    lookup = (
        "  look: {kind: lookup, source: ticket, key: ticket_number, results: {open: main},"
        " not_found_prompt: main, unavailable_prompt: main, next: q}\n"
    )
    text = GOOD.replace("choices: {1: q}", "choices: {1: look}") + lookup
    assert problems(text) == [
        "menus/4008000000.yaml: node 'look': looks up 'ticket_number', which no collect node fills (into:)"
    ]


def test_broken_yaml_names_the_file_and_line() -> None:
    found = problems("languages: [zh\nstart: x\n")
    assert found[0].startswith("menus/4008000000.yaml: not valid YAML at line")


@pytest.mark.parametrize("text", ["", "- a list\n", "just text", "nodes: 3\n"])
def test_a_file_that_is_not_a_menu_is_refused_not_crashed_on(text: str) -> None:
    assert problems(text)


def test_a_number_field_must_match_the_file_name(tmp_path: Path) -> None:
    path = tmp_path / "4008000001.yaml"
    path.write_text('number: "4008000000"\n' + GOOD, encoding="utf-8")
    with pytest.raises(MenuInvalid, match="differs from the file name '4008000001'"):
        load_menu(path)


def test_an_unknown_language_is_refused() -> None:
    assert problems(GOOD.replace("[zh, en]", "[zh, fr]"))[0].startswith(
        "menus/4008000000.yaml: languages must be a list of distinct languages"
    )
