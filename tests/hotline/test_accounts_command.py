"""``hotline accounts``, run through hotline's own main() (and once as a process) on a fresh
SQLite file named by a settings file, as a site's first install does."""

from __future__ import annotations

import asyncio
import io
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from agent_api.security import Passwords
from crm import accounts
from crm import audit as audit_log
from crm.db import Database
from crm.migrate import upgrade
from hotline.cli import main
from tests.agent_api.stack import Stack

ROOT = Path(__file__).resolve().parents[2]
PASSWORD = "correct horse battery"
Run = Callable[..., int]


class Terminal(io.StringIO):
    """A stdin that is a terminal: the command must prompt instead of reading it."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A settings file naming a database that does not exist yet."""
    for name in ("HOTLINE_CONFIG", "HOTLINE_DB_URL"):
        monkeypatch.delenv(name, raising=False)
    path = tmp_path / "hotline.toml"
    path.write_text(f'[db]\nurl = "sqlite+aiosqlite:///{tmp_path / "crm.db"}"\n')
    return path


@pytest.fixture
def run(config: Path, monkeypatch: pytest.MonkeyPatch) -> Run:
    """``hotline --config FILE accounts ARGS…`` with ``stdin`` as its standard input."""

    def run(*args: str, stdin: io.StringIO | None = None) -> int:
        monkeypatch.setattr(sys, "stdin", stdin if stdin is not None else io.StringIO(""))
        return main(["--config", str(config), "accounts", *args])

    return run


def stored(tmp_path: Path, username: str) -> accounts.Account | None:
    async def go() -> accounts.Account | None:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
        try:
            await upgrade(db)  # a refused command may not have made the database
            return await accounts.get_account(db, username)
        finally:
            await db.dispose()

    return asyncio.run(go())


def verifies(account: accounts.Account | None, password: str) -> bool:
    """The check the HTTP login makes (agent_api.auth.http.login → Passwords.verify)."""
    assert account is not None
    return asyncio.run(Passwords().verify(account.password_hash, password))


async def test_the_first_admin_made_on_an_empty_database_logs_in_over_http_and_may_administer(
    tmp_path: Path, run: Run
) -> None:
    added = await asyncio.to_thread(
        run, "add", "admin", "--role", "admin", stdin=io.StringIO(PASSWORD + "\n")
    )
    assert added == 0
    stack = await Stack(tmp_path, demo=False, seed=False).start()
    try:
        wrong = await stack.client.post(
            "/api/session", json={"username": "admin", "password": "not it at all"}
        )
        assert wrong.status == 401
        response = await stack.client.post("/api/session", json={"username": "admin", "password": PASSWORD})
        assert response.status == 200, await response.text()
        assert (await response.json())["roles"] == ["admin"]
        users = await stack.client.get("/api/admin/users")
        assert [u["username"] for u in (await users.json())["users"]] == ["admin"]
    finally:
        await stack.stop()


def test_an_agent_is_added_with_extension_skills_and_name_and_listed(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    args = ("--extension", "1001", "--skills", "support:5, sales:3", "--name", "Li Lei")
    assert run("add", "agent1001", "--role", "agent", *args, stdin=io.StringIO(PASSWORD + "\n")) == 0
    assert run("add", "lead", "--role", "supervisor", "--role", "agent", stdin=io.StringIO(PASSWORD)) == 0
    account = stored(tmp_path, "agent1001")
    assert account is not None
    assert (account.extension, account.skills, account.display_name) == (
        "1001",
        {"support": 5, "sales": 3},
        "Li Lei",
    )
    assert verifies(account, PASSWORD)
    lead = stored(tmp_path, "lead")
    assert lead is not None and {str(r) for r in lead.roles} == {"agent", "supervisor"}
    capsys.readouterr()

    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["username", "name", "roles", "extension", "skills", "enabled"]
    assert lines[1].split() == ["agent1001", "Li", "Lei", "agent", "1001", "sales:3,support:5", "yes"]
    assert lines[2].split() == ["lead", "-", "agent,supervisor", "-", "-", "yes"]


def test_the_password_is_read_from_the_first_line_of_a_password_file(tmp_path: Path, run: Run) -> None:
    secret = tmp_path / "password"
    secret.write_text(PASSWORD + "\nsecond line is not part of it\n")
    assert run("add", "admin", "--role", "admin", "--password-file", str(secret)) == 0
    assert verifies(stored(tmp_path, "admin"), PASSWORD)


def test_at_a_terminal_the_password_is_asked_twice(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    prompts: list[str] = []
    answers = iter([PASSWORD, PASSWORD])

    def fake_getpass(prompt: str = "Password: ") -> str:
        prompts.append(prompt)
        return next(answers)

    monkeypatch.setattr("getpass.getpass", fake_getpass)
    assert run("add", "admin", "--role", "admin", stdin=Terminal(PASSWORD + "\n")) == 0
    assert len(prompts) == 2
    assert verifies(stored(tmp_path, "admin"), PASSWORD)


def test_two_different_answers_at_the_prompt_add_no_account(
    tmp_path: Path, run: Run, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    answers = iter([PASSWORD, PASSWORD + "x"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert run("add", "admin", "--role", "admin", stdin=Terminal()) == 1
    assert "the two passwords differ" in capsys.readouterr().err
    assert stored(tmp_path, "admin") is None


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (
            ("--role", "boss"),
            PASSWORD,
            "--role 'boss': Input should be 'agent', 'supervisor', 'analyst', 'admin' or 'technician'",
        ),
        (("--role", "agent", "--skills", "support"), PASSWORD, "--skills: 'support' is not SKILL:LEVEL"),
        (
            ("--role", "agent", "--skills", "support:high"),
            PASSWORD,
            "the level of 'support' must be a whole number",
        ),
        (("--role", "agent", "--skills", "support:11"), PASSWORD, "less than or equal to 10"),
        (("--role", "agent", "--skills", "sup port:3"), PASSWORD, "--skills: skill name 'sup port'"),
        (("--role", "agent", "--extension", "10a1"), PASSWORD, "--extension '10a1'"),
        (("--role", "agent"), "", "the password is empty"),
        (("--role", "agent"), "short", "the password: String should have at least 10 characters"),
    ],
)
def test_what_the_admin_api_refuses_is_refused_with_the_reason_and_adds_nothing(
    tmp_path: Path,
    run: Run,
    capsys: pytest.CaptureFixture[str],
    args: tuple[str, ...],
    password: str,
    message: str,
) -> None:
    assert run("add", "agent1001", *args, stdin=io.StringIO(password + "\n")) == 1
    assert message in capsys.readouterr().err
    assert stored(tmp_path, "agent1001") is None


def test_a_bad_user_name_is_refused(run: Run, capsys: pytest.CaptureFixture[str]) -> None:
    assert run("add", "no spaces", "--role", "agent", stdin=io.StringIO(PASSWORD)) == 1
    assert "USERNAME 'no spaces'" in capsys.readouterr().err


def test_an_existing_user_name_is_refused_before_any_password_and_keeps_its_password(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("add", "admin", "--role", "admin", stdin=io.StringIO(PASSWORD)) == 0
    capsys.readouterr()
    assert run("add", "admin", "--role", "agent", stdin=io.StringIO("")) == 1  # no password needed to say so
    assert "an account named 'admin' exists already" in capsys.readouterr().err
    account = stored(tmp_path, "admin")
    assert account is not None and {str(r) for r in account.roles} == {"admin"}
    assert verifies(account, PASSWORD)


def test_an_extension_another_account_holds_is_refused(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("add", "agent1001", "--role", "agent", "--extension", "1001", stdin=io.StringIO(PASSWORD)) == 0
    capsys.readouterr()
    assert run("add", "agent1002", "--role", "agent", "--extension", "1001", stdin=io.StringIO(PASSWORD)) == 1
    assert "--extension 1001: the extension is agent1001's already" in capsys.readouterr().err
    assert stored(tmp_path, "agent1002") is None


def test_passwd_replaces_the_password_and_is_audited(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("add", "agent1001", "--role", "agent", stdin=io.StringIO(PASSWORD)) == 0
    assert run("passwd", "agent1001", stdin=io.StringIO("a new and longer one\n")) == 0
    account = stored(tmp_path, "agent1001")
    assert verifies(account, "a new and longer one")
    assert not verifies(account, PASSWORD)

    async def audit_lines() -> list[tuple[str, str, dict]]:
        db = Database(f"sqlite+aiosqlite:///{tmp_path / 'crm.db'}")
        try:
            return [(e.action, e.target, e.detail) for e in await audit_log.entries(db, limit=10)]
        finally:
            await db.dispose()

    lines = asyncio.run(audit_lines())
    assert ("user-update", "agent1001", {"changed": [], "password": True}) in lines
    assert ("user-create", "agent1001", {"roles": ["agent"]}) in lines
    assert all(PASSWORD not in str(line) for line in lines)


def test_passwd_of_an_unknown_account_and_with_a_short_password_fails(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str]
) -> None:
    assert run("passwd", "nobody", stdin=io.StringIO(PASSWORD)) == 1
    assert "no account named 'nobody'" in capsys.readouterr().err
    assert run("add", "agent1001", "--role", "agent", stdin=io.StringIO(PASSWORD)) == 0
    assert run("passwd", "agent1001", stdin=io.StringIO("short\n")) == 1
    assert "at least 10 characters" in capsys.readouterr().err
    assert verifies(stored(tmp_path, "agent1001"), PASSWORD)


@pytest.mark.parametrize(
    "argv",
    [
        ("--password", "hunter2-hunter2"),
        ("--password=hunter2-hunter2",),
        ("--password-file", "x", "--password", "hunter2-hunter2"),
    ],
)
def test_a_password_on_the_command_line_is_refused_without_being_echoed(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str], argv: tuple[str, ...]
) -> None:
    with pytest.raises(SystemExit) as exit_:
        run("add", "admin", "--role", "admin", *argv, stdin=io.StringIO(PASSWORD))
    assert exit_.value.code == 2
    out = capsys.readouterr()
    assert "never taken from the command line" in out.err
    assert "hunter2" not in out.out + out.err
    assert stored(tmp_path, "admin") is None


def test_an_abbreviated_password_option_is_not_taken_for_the_password_file(
    tmp_path: Path, run: Run, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "hunter2-hunter2").write_text(PASSWORD)  # what "--passw hunter2-hunter2" would open
    with pytest.raises(SystemExit) as exit_:
        run("passwd", "admin", "--passw", "hunter2-hunter2")
    assert exit_.value.code == 2
    assert stored(tmp_path, "admin") is None


def test_as_a_process_the_password_comes_from_the_pipe_and_nowhere_in_the_output(
    tmp_path: Path, config: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "hotline.cli",
            "--config",
            str(config),
            "accounts",
            "add",
            "admin",
            "--role",
            "admin",
        ],
        input=PASSWORD + "\n",
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert "added admin (admin)" in done.stdout
    assert PASSWORD not in done.stdout + done.stderr
    assert verifies(stored(tmp_path, "admin"), PASSWORD)
