"""``hotline accounts add|passwd|list``: user accounts from the command line, the site's first
admin among them (the admin page needs an admin to log in).

An account is checked as the admin API checks it (``agent_api.admin.http.UserFields``), stored
by ``crm.accounts`` and its password hashed by the hasher the login verifies with. A password
never comes from the command line, which ``ps`` shows every user and the shell keeps in its
history: it is asked twice at a prompt, or read from the first line of stdin when stdin is not a
terminal, or from the first line of ``--password-file``.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn, TextIO

from pydantic import TypeAdapter, ValidationError

from agent_api.admin.http import Password, UserFields
from agent_api.security import Passwords
from crm import accounts
from crm import audit as audit_log
from crm.db import Database
from crm.errors import NotFound
from crm.kinds import Role
from crm.migrate import upgrade
from hotline.settings import load_settings

# How each field is named on this command line, for the error messages.
OPTIONS = {
    "username": "USERNAME",
    "roles": "--role",
    "display_name": "--name",
    "extension": "--extension",
    "skills": "--skills",
}


class Refused(Exception):
    """Input this command cannot use; the message says which and why."""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("accounts", help="user accounts: add, passwd, list")
    actions = parser.add_subparsers(dest="accounts_action", required=True, metavar="ACTION")
    # allow_abbrev=False: "--password SECRET" must not be read as "--password-file SECRET".
    add = actions.add_parser(
        "add", help="add an account (e.g. the first admin); the password is asked for", allow_abbrev=False
    )
    add.add_argument("username", metavar="USERNAME")
    add.add_argument(
        "--role",
        dest="roles",
        action="append",
        required=True,
        metavar="ROLE",
        help=f"{', '.join(Role)}; repeat the option for several roles",
    )
    add.add_argument(
        "--extension", default="", help="the phone the account works at, e.g. 1001 (one account per phone)"
    )
    add.add_argument("--skills", default="", help="SKILL:LEVEL pairs, e.g. support:5,sales:3 (levels 1–10)")
    add.add_argument("--name", default="", help="the name shown on the pages")
    _password_options(add)
    add.set_defaults(run=run_add)
    passwd = actions.add_parser("passwd", help="set an account's password", allow_abbrev=False)
    passwd.add_argument("username", metavar="USERNAME")
    _password_options(passwd)
    passwd.set_defaults(run=run_passwd)
    listing = actions.add_parser("list", help="every account: name, roles, extension, skills, enabled")
    listing.set_defaults(run=run_list)


def _password_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--password-file",
        metavar="FILE",
        help="read the password from the first line of FILE (default: prompt, or stdin when piped)",
    )
    parser.add_argument("--password", action=_RefusePassword)


class _RefusePassword(argparse.Action):
    """Says why there is no ``--password``, without echoing the value that followed it."""

    def __init__(self, option_strings: Sequence[str], dest: str, **_: Any) -> None:
        super().__init__(option_strings, dest, nargs="?", help=argparse.SUPPRESS)

    def __call__(self, parser: argparse.ArgumentParser, *_: Any) -> NoReturn:
        parser.error(
            "a password is never taken from the command line (ps and the shell's history would "
            "show it): type it at the prompt, pipe it on stdin, or use --password-file FILE"
        )


# --- pure parts -------------------------------------------------------------------------------


def parse_skills(text: str) -> dict[str, int]:
    """``support:5,sales:3`` → ``{"support": 5, "sales": 3}``. Only the syntax is checked here;
    names and levels are checked with the other fields, as the admin API checks them."""
    skills: dict[str, int] = {}
    for item in (part.strip() for part in text.split(",")):
        if not item:
            continue
        name, colon, level = (piece.strip() for piece in item.partition(":"))
        if not colon or not name or not level:
            raise Refused(f"--skills: {item!r} is not SKILL:LEVEL (e.g. --skills support:5,sales:3)")
        try:
            skills[name] = int(level)
        except ValueError:
            raise Refused(f"--skills: the level of {name!r} must be a whole number, not {level!r}") from None
    return skills


def checked_fields(username: str, roles: Sequence[str], name: str, extension: str, skills: str) -> UserFields:
    try:
        return UserFields(
            username=username,
            roles=list(roles),
            display_name=name,
            extension=extension,
            skills=parse_skills(skills),
        )
    except ValidationError as exc:
        raise Refused("; ".join(_describe(problem) for problem in exc.errors())) from None


def checked_password(password: str) -> str:
    if not password:
        raise Refused("the password is empty")
    try:
        return TypeAdapter(Password).validate_python(password)
    except ValidationError as exc:
        # The value itself is never shown.
        raise Refused("the password: " + "; ".join(p["msg"] for p in exc.errors())) from None


def _describe(problem: Any) -> str:
    loc = problem["loc"]
    option = OPTIONS.get(str(loc[0]), str(loc[0])) if loc else "input"
    value = problem.get("input")
    if loc and loc[0] == "skills" and len(loc) == 3:
        return f"{option}: skill name {value!r}: {problem['msg']}"
    if loc and loc[0] == "skills" and len(loc) == 2:
        return f"{option}: the level of {loc[1]!r}, {value!r}: {problem['msg']}"
    if isinstance(value, str | int):
        return f"{option} {value!r}: {problem['msg']}"
    return f"{option}: {problem['msg']}"


def account_table(found: Sequence[accounts.Account]) -> list[str]:
    """One line per account, in aligned columns; ``enabled`` says ``demo`` for the demo accounts,
    which log in only while the server runs with ``--demo``."""
    rows = [("username", "name", "roles", "extension", "skills", "enabled")]
    for account in found:
        rows.append(
            (
                account.username,
                account.display_name or "-",
                ",".join(sorted(account.roles)),
                account.extension or "-",
                ",".join(f"{skill}:{level}" for skill, level in sorted(account.skills.items())) or "-",
                "no" if not account.enabled else "demo" if account.demo else "yes",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    return [
        "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip() for row in rows
    ]


# --- input ------------------------------------------------------------------------------------


def read_password(password_file: str | None, stdin: TextIO | None) -> str:
    """From ``--password-file``, else the first line of a piped stdin, else a prompt asked twice."""
    if password_file is not None:
        try:
            with open(password_file, encoding="utf-8") as stream:
                line = stream.readline()
        except OSError as exc:
            raise Refused(f"cannot read the password file {password_file}: {exc.strerror or exc}") from None
        return checked_password(line.rstrip("\r\n"))
    if stdin is None:
        raise Refused("no terminal and no stdin to read the password from: use --password-file FILE")
    if not stdin.isatty():
        return checked_password(stdin.readline().rstrip("\r\n"))
    password = checked_password(getpass.getpass("Password: "))
    if getpass.getpass("Password again: ") != password:
        raise Refused("the two passwords differ; nothing was changed")
    return password


def _actor() -> str:
    """Who made the change, for the audit log: the operating-system user at the console."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = f"uid {os.getuid()}"
    return f"console:{user}"[:64]


def _fail(message: str) -> int:
    print(f"hotline accounts: {message}", file=sys.stderr)
    return 1


# --- the commands -----------------------------------------------------------------------------


def run_add(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    try:
        fields = checked_fields(args.username, args.roles, args.name, args.extension, args.skills)
    except Refused as exc:
        return _fail(str(exc))
    with asyncio.Runner() as runner:
        db = runner.run(_open(settings.db.url, settings.db.echo))
        try:
            if runner.run(accounts.get_account(db, fields.username)) is not None:
                return _fail(str(accounts.AccountExists(fields.username)))
            holder = runner.run(accounts.extension_holder(db, fields.extension))
            if holder is not None:
                return _fail(f"--extension {fields.extension}: the extension is {holder}'s already")
            password = read_password(args.password_file, sys.stdin)
            runner.run(_add(db, fields, password))
        except (Refused, accounts.AccountExists) as exc:
            return _fail(str(exc))
        finally:
            runner.run(db.dispose())
    roles = ", ".join(sorted(fields.roles))
    print(f"added {fields.username} ({roles})")
    if Role.AGENT in fields.roles:
        if not (fields.extension and fields.skills):
            print(
                f"note: {fields.username} has no extension or no skills, so no call is routed to them "
                "until the admin page gives them both"
            )
        else:
            print("note: a running Hotline routes calls to a new agent once restarted")
    return 0


def run_passwd(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)
    with asyncio.Runner() as runner:
        db = runner.run(_open(settings.db.url, settings.db.echo))
        try:
            if runner.run(accounts.get_account(db, args.username)) is None:
                return _fail(f"no account named {args.username!r}")
            password = read_password(args.password_file, sys.stdin)
            runner.run(_change_password(db, args.username, password))
        except Refused as exc:
            return _fail(str(exc))
        except NotFound:
            return _fail(f"no account named {args.username!r}")
        finally:
            runner.run(db.dispose())
    print(f"password of {args.username} changed (pages already open stay logged in until they log out)")
    return 0


def run_list(args: argparse.Namespace) -> int:
    settings = load_settings(args.config)

    async def go() -> tuple[accounts.Account, ...]:
        db = await _open(settings.db.url, settings.db.echo)
        try:
            return await accounts.list_accounts(db)
        finally:
            await db.dispose()

    for line in account_table(asyncio.run(go())):
        print(line)
    return 0


async def _open(url: str, echo: bool) -> Database:
    """The configured database, its schema brought up to date as ``hotline db upgrade`` does."""
    db = Database(url, echo=echo)
    await upgrade(db)
    return db


async def _add(db: Database, fields: UserFields, password: str) -> None:
    await accounts.create_account(
        db,
        accounts.NewAccount(
            username=fields.username,
            password_hash=await Passwords().hash(password),
            roles=frozenset(fields.roles),
            display_name=fields.display_name,
            extension=fields.extension,
            skills=dict(fields.skills),
        ),
    )
    await audit_log.record(
        db, _actor(), "user-create", target=fields.username, detail={"roles": sorted(fields.roles)}
    )


async def _change_password(db: Database, username: str, password: str) -> None:
    await accounts.update_account(db, username, password_hash=await Passwords().hash(password))
    await audit_log.record(
        db, _actor(), "user-update", target=username, detail={"changed": [], "password": True}
    )
