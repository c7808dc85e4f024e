"""One message catalog for every word the server sends to a page: zh-CN and en hold the same
keys, every key a page or script asks for, and every error message the API can send."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest

from agent_api.i18n import catalog
from agent_api.i18n.errors import localized, template_of

ROOT = Path(__file__).resolve().parents[2] / "agent_api"
FIELD = re.compile(r"\{(\w+)\}")
# Words a Chinese page may show as they are: product names, protocols, the header a page sends.
LATIN_ALLOWED = {"VIP", "JSON", "Range", "WebSocket", "QA", "X-CSRF-Token", "bytes", "ID"}


def _api_error_names(trees: dict[Path, ast.Module]) -> set[str]:
    names = {"ApiError"}
    grew = True
    while grew:
        grew = False
        for tree in trees.values():
            for node in ast.walk(tree):
                if isinstance(node, ast.ClassDef) and node.name not in names:
                    bases = {b.id if isinstance(b, ast.Name) else getattr(b, "attr", "") for b in node.bases}
                    if bases & names:
                        names.add(node.name)
                        grew = True
    return names


def raised_messages() -> list[tuple[str, str]]:
    """(where, a sample message) for every API error raised with a literal or f-string message;
    each value the code puts in is a digit, as an id would be."""
    trees = {p: ast.parse(p.read_text(encoding="utf-8")) for p in sorted(ROOT.rglob("*.py"))}
    errors = _api_error_names(trees)
    out = []
    for path, tree in trees.items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
                continue
            if node.func.id not in errors:
                continue
            first = node.args[0]
            where = f"{path.relative_to(ROOT.parent)}:{node.lineno}"
            if isinstance(first, ast.Constant) and isinstance(first.value, str):
                out.append((where, first.value))
            elif isinstance(first, ast.JoinedStr):
                sample = "".join(v.value if isinstance(v, ast.Constant) else "7" for v in first.values)
                out.append((where, sample))
    return out


def test_both_catalogs_hold_the_same_keys():
    zh, en = set(catalog("zh-CN")), set(catalog("en"))
    assert sorted(zh - en) == [], "keys missing from en.json"
    assert sorted(en - zh) == [], "keys missing from zh_CN.json"
    assert [k for k, v in catalog("zh-CN").items() if not v.strip()] == []
    assert [k for k, v in catalog("en").items() if not v.strip()] == []


def test_every_key_a_page_or_script_asks_for_is_in_both_catalogs():
    asked: set[str] = set()
    for html in (ROOT / "templates").glob("*.html"):
        asked |= set(
            re.findall(r"""_\(\s*["']([A-Za-z0-9_.-]+)["']\s*\)""", html.read_text(encoding="utf-8"))
        )
    for js in (ROOT / "static").glob("*.js"):
        asked |= set(
            re.findall(r"""\bt\(\s*["']([A-Za-z0-9_.-]+)["']\s*\)""", js.read_text(encoding="utf-8"))
        )
    assert len(asked) > 100  # the scan found the pages' words
    for language in ("zh-CN", "en"):
        missing = sorted(asked - set(catalog(language)))
        assert missing == [], f"{language}: keys asked for but not in the catalog"


def test_every_error_message_the_api_sends_has_a_template_in_the_catalog():
    messages = raised_messages()
    assert len(messages) > 80  # the scan found the API's errors
    missing = [f"{where}: {message}" for where, message in messages if template_of(message) is None]
    assert missing == [], "add an api.* entry to en.json and zh_CN.json for each"


def test_each_templates_translation_uses_only_the_values_its_english_carries():
    en, zh = catalog("en"), catalog("zh-CN")
    for key, text in en.items():
        if key.startswith("api."):
            assert set(FIELD.findall(zh[key])) <= set(FIELD.findall(text)), key


@pytest.mark.parametrize(("where", "message"), raised_messages())
def test_every_error_reads_in_chinese_on_a_chinese_page(where, message):
    shown = localized("zh-CN", message, "bad_request")
    english = [w for w in re.findall(r"[A-Za-z][A-Za-z_'-]+", shown) if w.strip("'") not in LATIN_ALLOWED]
    assert english == [], f"{where}: {shown}"


def test_a_message_no_template_knows_falls_back_to_its_kinds_sentence():
    assert (
        localized("zh-CN", "something new went wrong", "conflict") == catalog("zh-CN")["error.kind.conflict"]
    )
    assert localized("en", "something new went wrong", "conflict") == "something new went wrong"


def test_codes_inside_a_message_read_as_words():
    shown = localized("zh-CN", "agent 'agent1001' cannot pause while on-call", "conflict")
    assert shown == "坐席 'agent1001' 当前为“通话中”，不能小休"
