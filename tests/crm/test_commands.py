"""The CRM's command lines, run through hotline's own main() against a file database."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from sqlalchemy import select

from crm.db import Database
from crm.models import CustomerPhone
from crm.service import Crm
from hotline.cli import main


@pytest.fixture
def database(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    path = tmp_path / "var" / "hotline.db"
    monkeypatch.setenv("HOTLINE_DB_URL", f"sqlite+aiosqlite:///{path}")
    monkeypatch.delenv("HOTLINE_CONFIG", raising=False)
    return path


def test_db_upgrade_creates_the_database_and_reports_the_revision(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    assert database.exists()
    assert "database at revision" in capsys.readouterr().out
    assert main(["db", "current"]) == 0


def test_import_then_export_customers_from_the_command_line(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    source = tmp_path / "in.csv"
    source.write_bytes(
        "姓名,手机,客户类型\n王芳,13800138000,gold\n李雷,13900139000,regular\n".encode("gb18030")
    )
    assert main(["import", "customers", str(source)]) == 0
    assert "imported 2 customers" in capsys.readouterr().out
    out = tmp_path / "out.xlsx"
    assert main(["export", "customers", str(out)]) == 0
    assert out.exists()


def test_a_bad_file_exits_non_zero_and_lists_the_bad_rows(
    database: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["db", "upgrade"]) == 0
    source = tmp_path / "bad.csv"
    source.write_text("name,phones\n王芳,13800138000\n,13900139000\n李雷,12\n", encoding="utf-8")
    assert main(["import", "customers", str(source)]) == 1
    err = capsys.readouterr().err
    assert "nothing imported, 2 bad row(s)" in err
    assert "row 3 name: empty" in err
    assert "row 4 phones" in err
    assert main(["import", "customers", "--per-row", str(source)]) == 0


def test_demo_data_fills_an_empty_database_with_customers_who_can_be_looked_up(
    database: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["demo-data", "--customers", "50"]) == 0
    assert "50 customers" in capsys.readouterr().out

    async def first_pop() -> bool:
        db = Database(f"sqlite+aiosqlite:///{database}")
        async with db.read() as session:
            number = await session.scalar(select(CustomerPhone.e164).limit(1))
        pop = await Crm(db).screen_pop(number or "")
        await db.dispose()
        return pop.known

    assert asyncio.run(first_pop())
