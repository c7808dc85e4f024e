"""asterisk-config/ parses with pyst2 and every reference in it resolves.

Each check is also shown to fail: ``test_each_check_catches_its_breakage`` breaks a copy of the
configuration one way at a time and expects the matching problem.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
from pathlib import Path

import asterisk.config
import pytest
from asterisk_conf import (
    ConfError,
    ConfTree,
    check_dialplan,
    check_manager,
    check_pjsip,
    check_queues,
    check_secrets,
    dialplan_steps,
    load_tree,
    parse_file,
    split_args,
)

CONFIG = Path(__file__).resolve().parents[2] / "asterisk-config"
SECRET_INCLUDES = ("pjsip_auth.conf", "manager_hotline.conf")


def make_secrets(directory: Path, config: Path = CONFIG) -> Path:
    subprocess.run(
        ["sh", str(config / "make-secrets"), str(directory)], check=True, capture_output=True, timeout=30
    )
    return directory


def load(config: Path, secrets: Path) -> ConfTree:
    return load_tree(config, {f"secrets/{name}": secrets / name for name in SECRET_INCLUDES})


def all_problems(tree: ConfTree, config: Path) -> list[str]:
    committed = sorted(config.glob("*.conf"))
    return [
        *check_dialplan(tree),
        *check_queues(tree),
        *check_pjsip(tree),
        *check_manager(tree),
        *check_secrets(tree, committed),
    ]


@pytest.fixture(scope="module")
def secrets(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_secrets(tmp_path_factory.mktemp("asterisk") / "secrets")


@pytest.fixture(scope="module")
def tree(secrets: Path) -> ConfTree:
    return load(CONFIG, secrets)


def test_every_file_parses_with_pyst2_taught_templates_and_includes() -> None:
    names = sorted(path.name for path in CONFIG.glob("*.conf"))
    assert {"extensions.conf", "pjsip.conf", "queues.conf", "manager.conf", "musiconhold.conf"} <= set(names)
    assert {"features.conf", "modules.conf", "rtp.conf", "logger.conf", "asterisk.conf"} <= set(names)
    for name in names:
        assert parse_file(CONFIG / name).categories, name


def test_plain_pyst2_rejects_template_headers_which_is_why_it_is_subclassed() -> None:
    with pytest.raises(asterisk.config.ParseError):
        asterisk.config.Config(str(CONFIG / "pjsip.conf"))


def test_the_shipped_configuration_has_no_problem(tree: ConfTree) -> None:
    assert all_problems(tree, CONFIG) == []


def test_without_generated_secrets_asterisk_would_not_load_pjsip_or_manager(tmp_path: Path) -> None:
    copy = tmp_path / "asterisk-config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("secrets"))
    with pytest.raises(ConfError, match=r"#include secrets/\w+\.conf: no such file"):
        load_tree(copy)


def test_make_secrets_gives_every_phone_its_own_readable_only_by_group_password(
    tree: ConfTree, secrets: Path
) -> None:
    auths = {
        section.name.removesuffix("-auth")
        for section in tree.sections("pjsip.conf")
        if not section.is_template and tree.effective_value("pjsip.conf", section, "type") == "auth"
    }
    phones = dict(line.split(",") for line in (secrets / "phones.csv").read_text().splitlines())
    assert set(phones) == auths == {str(n) for n in range(1001, 1017)} | {"2001", "2002"}
    assert len(set(phones.values())) == len(phones)
    assert all(len(password) >= 32 for password in phones.values())
    ami = (secrets / "ami_secret").read_text().strip()
    assert tree.named("manager.conf", "hotline")[0].get("secret") == ami
    for path in secrets.iterdir():
        assert stat.S_IMODE(path.stat().st_mode) & 0o007 == 0, path.name


def test_make_secrets_keeps_existing_secrets(secrets: Path) -> None:
    before = {path.name: path.read_bytes() for path in secrets.iterdir()}
    make_secrets(secrets)
    assert {path.name: path.read_bytes() for path in secrets.iterdir()} == before


def test_generated_secrets_are_ignored_by_git() -> None:
    ignore = (CONFIG / ".gitignore").read_text()
    assert "/secrets/" in ignore.splitlines()
    if shutil.which("git") and (CONFIG.parent / ".git").exists():
        result = subprocess.run(
            ["git", "check-ignore", "-q", "asterisk-config/secrets/ami_secret"],
            cwd=CONFIG.parent,
            capture_output=True,
            timeout=10,
        )
        assert result.returncode == 0


def test_queue_log_is_written() -> None:
    (general,) = [c for c in parse_file(CONFIG / "logger.conf").categories if c.name == "general"]
    settings = {item.name.strip(): item.value.strip() for item in general.items}
    assert settings["queue_log"] == "yes"
    assert settings["queue_log_to_file"] == "yes"


def _steps(tree: ConfTree, context: str) -> list[str]:
    return [f"{s.app}({s.args})" for s in dialplan_steps(tree) if s.context == context]


def test_recordings_are_named_by_day_linkedid_and_uniqueid(tree: ConfTree) -> None:
    record = _steps(tree, "hotline-record")
    assert (
        "Set(HOTLINE_RECORDING=${STRFTIME(${EPOCH},,%Y/%m/%d)}/${CHANNEL(linkedid)}/${UNIQUEID}.wav)"
        in record
    )
    assert "MixMonitor(${HOTLINE_RECORDING},${opts})" in record


def test_recording_from_answer_or_start_and_split_legs_follow_the_policy_contract(tree: ConfTree) -> None:
    record = _steps(tree, "hotline-record")
    opts = 'Set(LOCAL(opts)=${IF($["${HOTLINE_RECORD_FROM}" = "start"]?:b)})'
    base = "Set(LOCAL(base)=${HOTLINE_SPOOL}/${HOTLINE_RECORDING:0:-4})"
    split = (
        'ExecIf($["${HOTLINE_RECORD_SPLIT}" = "yes"]?'
        "Set(LOCAL(opts)=${opts}r(${base}-in.wav)t(${base}-out.wav)))"
    )
    mixmonitor = "MixMonitor(${HOTLINE_RECORDING},${opts})"
    assert [record.index(step) for step in (opts, base, split, mixmonitor)] == sorted(
        record.index(step) for step in (opts, base, split, mixmonitor)
    )
    assert not any(step.startswith("MixMonitor(") and step != mixmonitor for step in record)
    settings = {key: value for key, value, _ in tree.named("extensions.conf", "globals")[0].items}
    assert settings["HOTLINE_RECORD_FROM"] == "answer"
    assert settings["HOTLINE_RECORD_SPLIT"] == "no"
    inbound = _steps(tree, "from-trunk")
    assert inbound.index("Gosub(hotline-record,s,1)") < inbound.index("AGI(${HOTLINE_AGI})")


def test_inbound_calls_run_the_fastagi_ivr_and_handle_every_action(tree: ConfTree) -> None:
    globals_ = {key: value for key, value, _ in tree.named("extensions.conf", "globals")[0].items}
    assert globals_["HOTLINE_AGI"].startswith("agi://") and globals_["HOTLINE_AGI"].endswith(":4573/ivr")
    actions = {s.exten for s in dialplan_steps(tree) if s.context == "hotline-action"}
    assert {"transfer", "message", "hangup", "callback", "i"} <= actions
    route = _steps(tree, "hotline-route")
    assert route[0] == 'GotoIf($["${AGISTATUS}" != "SUCCESS"]?hotline-fallback,s,1)'
    assert "T" in {s.exten for s in dialplan_steps(tree) if s.context == "from-trunk"}


def test_an_unreachable_ivr_is_tried_on_the_other_node_before_the_fallback(tree: ConfTree) -> None:
    globals_ = {key: value for key, value, _ in tree.named("extensions.conf", "globals")[0].items}
    assert globals_["HOTLINE_AGI_2"] == ""  # one node by default: no second try
    inbound = _steps(tree, "from-trunk")
    first = inbound.index("AGI(${HOTLINE_AGI})")
    assert inbound[first + 1 : first + 4] == [
        'GotoIf($["${AGISTATUS}" != "FAILURE" | ${LEN(${HOTLINE_AGI_2})} = 0]?ivr-done)',
        "AGI(${HOTLINE_AGI_2})",
        "Set(TIMEOUT(absolute)=0)",
    ]
    labels = {s.label: s for s in dialplan_steps(tree) if s.context == "from-trunk" and s.label}
    assert (labels["ivr-done"].app, labels["ivr-done"].args) == ("Set", "TIMEOUT(absolute)=0")


def test_delivery_follows_the_routing_document(tree: ConfTree) -> None:
    deliver = _steps(tree, "hotline-deliver")
    assert "Dial(PJSIP/${EXTEN},${HOTLINE_RING_S},tmg)" in deliver
    assert "Set(QUEUE_PRIO=$[${QUEUE_PRIO} + 1])" in deliver
    assert deliver[deliver.index("Set(QUEUE_PRIO=$[${QUEUE_PRIO} + 1])") + 1] == "Goto(hotline-wait,s,1)"
    wait = _steps(tree, "hotline-wait")
    assert "Queue(${HOTLINE_QUEUE},,,,${HOTLINE_WAIT_LEFT})" in wait
    assert wait[-1] == "Goto(hotline-fallback,s,1)"
    assert "Queue(${HOTLINE_QUEUE}-fallback,t,,,${HOTLINE_FALLBACK_WAIT_S})" in _steps(
        tree, "hotline-fallback"
    )


def test_every_context_hotlines_actions_name_exists(tree: ConfTree) -> None:
    from cti.ami_switch import PLAY_CONTEXT, SPY_CONTEXT
    from cti.hold import DESK_CONTEXTS

    contexts = {section.name for section in tree.sections("extensions.conf")}
    assert {"hotline-deliver", "click-to-dial", SPY_CONTEXT, PLAY_CONTEXT} <= contexts
    assert contexts >= DESK_CONTEXTS
    assert "Playback(${PROMPT})" in _steps(tree, PLAY_CONTEXT)


def test_desktop_hold_contexts_bound_the_hold_and_leave_nobody_stranded(tree: ConfTree) -> None:
    from cti.hold import (
        HOLD_AGENT_CONTEXT,
        HOLD_AGENT_VARIABLE,
        HOLD_CALLER_VARIABLE,
        HOLD_CONTEXT,
        RESUME_CONTEXT,
    )

    steps = list(dialplan_steps(tree))

    def of(context: str, exten: str) -> list[str]:
        return [f"{s.app}({s.args})" for s in steps if s.context == context and s.exten == exten]

    agent, caller = f"${{{HOLD_AGENT_VARIABLE}}}", f"${{{HOLD_CALLER_VARIABLE}}}"
    held = of(HOLD_CONTEXT, "s")
    music = held.index("MusicOnHold(default,${HOTLINE_HOLD_MAX_S})")
    # Past the limit: the agent's leg is hung up, then the caller waits for an agent afresh.
    assert held[music + 1 :] == [
        "Set(HOTLINE_HOLD_STATE=over)",
        f"SoftHangup({agent})",
        "Goto(hotline-requeue,s,1)",
    ]
    assert "Set(HOTLINE_HOLD_STATE=held)" in held[:music]
    assert of(HOLD_CONTEXT, "h") == [f'ExecIf($["${{HOTLINE_HOLD_STATE}}" = "held"]?SoftHangup({agent}))']
    assert of(HOLD_AGENT_CONTEXT, "s")[1:] == ["Wait(${HOTLINE_HOLD_AGENT_MAX_S})", "Hangup()"]
    assert of(HOLD_AGENT_CONTEXT, "h") == [
        f'ExecIf($["${{IMPORT({caller},HOTLINE_HOLD_STATE)}}" = "held"]?SoftHangup({caller}))'
    ]
    settings = {key: value for key, value, _ in tree.named("extensions.conf", "globals")[0].items}
    assert int(settings["HOTLINE_HOLD_AGENT_MAX_S"]) > int(settings["HOTLINE_HOLD_MAX_S"]) > 0
    resume = of(RESUME_CONTEXT, "s")
    # x: the agent's leg must not go back to its Wait after the bridge; BRIDGERESULT is reset
    # because Bridge() leaves it untouched when the agent's leg does not exist.
    assert resume[:5] == [
        "Set(HOTLINE_HOLD_STATE=resumed)",
        "Set(BRIDGERESULT=)",
        f"Bridge({agent},x)",
        'GotoIf($["${BRIDGERESULT}" != "SUCCESS"]?requeue)',
        "Goto(hotline-survey,s,1)",
    ]
    [requeue] = [s for s in steps if s.context == RESUME_CONTEXT and s.label == "requeue"]
    assert f"{requeue.app}({requeue.args})" == f"SoftHangup({agent})"
    assert resume[-1] == "Goto(hotline-requeue,s,1)"


def test_spy_accepts_listen_whisper_and_barge_only(tree: ConfTree) -> None:
    spy = _steps(tree, "spy")
    assert 'Set(SPY_OPTS=${IF($["${SPY_OPTS}" = "qw" | "${SPY_OPTS}" = "qB"]?${SPY_OPTS}:q)})' in spy
    assert "ChanSpy(PJSIP/${EXTEN}-,${SPY_OPTS}E)" in spy


def test_split_args_keeps_nested_calls_whole() -> None:
    assert split_args("a,${IF($[1]?x:y)},Foo(b,c)") == ["a", "${IF($[1]?x:y)}", "Foo(b,c)"]


BREAKAGES = [
    ("extensions.conf", "[hotline-requeue]", "[hotline-requeu]", "goes to unknown context hotline-requeue"),
    ("extensions.conf", "n(done),Return()", "n,Return()", "no label 'done'"),
    (
        "extensions.conf",
        "Gosub(hotline-dial-out,s,1(${EXTEN}))",
        "Gosub(hotline-dialout,s,1(${EXTEN}))",
        "unknown context hotline-dialout",
    ),
    (
        "extensions.conf",
        "Goto(hotline-wait,s,1)\n",
        "Goto(hotline-wait,start,1)\n",
        "no extension start in [hotline-wait]",
    ),
    ("extensions.conf", "@carrier,60", "@carier,60", "dials through unknown endpoint carier"),
    ("extensions.conf", "Set(HOTLINE_QUEUE=vip)", "Set(HOTLINE_QUEUE=vips)", "HOTLINE_QUEUE may be 'vips'"),
    ("extensions.conf", "include => outbound", "include => outbond", "includes unknown outbond"),
    (
        "extensions.conf",
        "exten => i,1,NoOp(Transfer",
        "exten => j,1,NoOp(Transfer",
        "[hotline-transfer], which has no i",
    ),
    (
        "queues.conf",
        "[complaints-fallback](fallback-queue)",
        "[complaint-fallback](fallback-queue)",
        "complaints has no complaints-fallback twin",
    ),
    (
        "queues.conf",
        "leavewhenempty = no\n; The member",
        "leavewhenempty = yes\n; The member",
        "needs leavewhenempty = no",
    ),
    (
        "queues.conf",
        "member => PJSIP/1001,",
        "member => PJSIP/1999,",
        "member PJSIP/1999 is not a PJSIP endpoint",
    ),
    ("pjsip.conf", "aors = 1005", "aors = 1050", "endpoint 1005 aors 1050 is not a defined aor"),
    (
        "pjsip.conf",
        "auth = 1007-auth",
        "auth = 1007-auht",
        "endpoint 1007 auth 1007-auht is not a defined auth",
    ),
    ("pjsip.conf", "[1009](agent-endpoint)", "[1009](agent-endpiont)", "unknown template agent-endpiont"),
    ("pjsip.conf", "context = agents\ndisallow", "context = agentz\ndisallow", "uses unknown context agentz"),
    ("pjsip.conf", "#include secrets/pjsip_auth.conf", "#tryinclude secrets/pjsip_auth.conf", "use #include"),
    (
        "manager.conf",
        "writetimeout = 5000",
        "writetimeout = 5000\nsecret = hotline-secret",
        "secret committed in clear",
    ),
    (
        "manager.conf",
        "permit = 172.28.0.20/255.255.255.255",
        "permit = 0.0.0.0/0.0.0.0",
        "lets in every address",
    ),
    ("manager.conf", "deny = 0.0.0.0/0.0.0.0\n", "", "no deny = 0.0.0.0/0.0.0.0"),
    (
        "manager.conf",
        "write = originate,call,agent,reporting",
        "write = originate,call,agent,reporting,system",
        "write grants system",
    ),
    (
        "manager.conf",
        "read = call,agent,dialplan,user,system",
        "read = call,agent,dialplan,user,system,command",
        "read grants command",
    ),
]


@pytest.mark.parametrize(("file", "old", "new", "expected"), BREAKAGES, ids=[b[3] for b in BREAKAGES])
def test_each_check_catches_its_breakage(
    tmp_path: Path, secrets: Path, file: str, old: str, new: str, expected: str
) -> None:
    copy = tmp_path / "asterisk-config"
    shutil.copytree(CONFIG, copy, ignore=shutil.ignore_patterns("secrets"))
    text = (copy / file).read_text()
    assert old in text, f"the breakage no longer applies to {file}"
    (copy / file).write_text(text.replace(old, new, 1))
    problems = all_problems(load(copy, secrets), copy)
    assert any(expected in problem for problem in problems), problems


def test_an_empty_or_shared_password_is_caught(tmp_path: Path, secrets: Path) -> None:
    broken = tmp_path / "secrets"
    shutil.copytree(secrets, broken)
    auth = broken / "pjsip_auth.conf"
    lines = auth.read_text().splitlines()
    passwords = [i for i, line in enumerate(lines) if line.startswith("password = ")]
    lines[passwords[0]] = "password ="
    lines[passwords[2]] = lines[passwords[1]]
    auth.write_text("\n".join(lines) + "\n")
    problems = check_secrets(load(CONFIG, broken), [])
    assert "pjsip.conf: auth 1001-auth has no password" in problems
    assert "pjsip.conf: auth 1003-auth shares its password with 1002-auth" in problems


def test_an_addition_to_no_section_is_an_error(tmp_path: Path, secrets: Path) -> None:
    broken = tmp_path / "secrets"
    shutil.copytree(secrets, broken)
    (broken / "manager_hotline.conf").write_text("[hotlne](+)\nsecret = x\n")
    with pytest.raises(ConfError, match=r"\[hotlne\]\(\+\) adds to no earlier section"):
        load(CONFIG, broken)


def test_a_hostile_file_is_a_clear_error_not_a_crash(tmp_path: Path) -> None:
    (tmp_path / "bad.conf").write_text("[general]\nthis line has no equals sign\n")
    with pytest.raises(ConfError, match=r"bad\.conf line 2"):
        parse_file(tmp_path / "bad.conf")
    (tmp_path / "bad.conf").write_text("[general\n")
    with pytest.raises(ConfError, match="bad section header"):
        parse_file(tmp_path / "bad.conf")
    (tmp_path / "bad.conf").write_text("#exec /bin/true\n")
    with pytest.raises(ConfError, match="#exec runs a program"):
        load_tree(tmp_path)


def test_make_secrets_is_executable() -> None:
    assert os.access(CONFIG / "make-secrets", os.X_OK)


def test_the_survey_follows_an_answered_call_whichever_side_hangs_up_first(tree: ConfTree) -> None:
    """docs/survey.md: g keeps the caller whose agent hung up (→ press 1–5); the h extension of
    an answered call sends the caller who hung up to the SMS survey; an unanswered ring does not."""
    from cti.hold import RESUME_CONTEXT
    from cti.tracker import SURVEY_CONTEXT

    steps = list(dialplan_steps(tree))

    def of(context: str, exten: str) -> list[str]:
        return [f"{s.app}({s.args})" for s in steps if s.context == context and s.exten == exten]

    deliver = of("hotline-deliver", "_X.")
    dial = deliver.index("Dial(PJSIP/${EXTEN},${HOTLINE_RING_S},tmg)")
    assert deliver[dial + 1] == 'GotoIf($["${DIALSTATUS}" = "ANSWER"]?done)'
    [done] = [s for s in steps if s.context == "hotline-deliver" and s.label == "done"]
    assert f"{done.app}({done.args})" == f"Goto({SURVEY_CONTEXT},s,1)"
    assert of("hotline-deliver", "h") == [f'GotoIf($["${{DIALSTATUS}}" = "ANSWER"]?{SURVEY_CONTEXT},sms,1)']
    assert of(RESUME_CONTEXT, "h") == [f'GotoIf($["${{BRIDGERESULT}}" = "SUCCESS"]?{SURVEY_CONTEXT},sms,1)']
    survey = of(SURVEY_CONTEXT, "s")
    # The call's recording is closed before anything of the survey happens.
    assert survey[0] == of(SURVEY_CONTEXT, "sms")[0] == "StopMixMonitor()"
    # The other node's survey only when the first does not answer (docs/scale.md).
    second = 'GotoIf($["${AGISTATUS}" != "FAILURE" | ${LEN(${HOTLINE_SURVEY_AGI_2})} = 0]?done)'
    assert survey[-4:] == [
        "AGI(${HOTLINE_SURVEY_AGI})",
        second,
        "AGI(${HOTLINE_SURVEY_AGI_2})",
        "Hangup(16)",
    ]
    assert of(SURVEY_CONTEXT, "sms")[-4:] == [
        "AGI(${HOTLINE_SURVEY_AGI},sms)",
        second,
        "AGI(${HOTLINE_SURVEY_AGI_2},sms)",
        "NoOp()",
    ]
    assert "Set(TIMEOUT(absolute)=${HOTLINE_SURVEY_MAX_S})" in survey
    assert of(SURVEY_CONTEXT, "T") == ["Hangup(16)"]
    assert "AGI(${HOTLINE_SURVEY_AGI},sms)" in of(SURVEY_CONTEXT, "sms")
    settings = {key: value for key, value, _ in tree.named("extensions.conf", "globals")[0].items}
    assert settings["HOTLINE_SURVEY"] == "yes"
    assert settings["HOTLINE_SURVEY_AGI"].endswith(":4573/survey")
    assert settings["HOTLINE_SURVEY_AGI_2"] == ""  # one node: no second try
    assert 0 < int(settings["HOTLINE_SURVEY_MAX_S"]) <= 120
