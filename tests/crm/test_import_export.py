from __future__ import annotations

import csv
from pathlib import Path

import openpyxl
import pytest

from crm.contacts import timeline
from crm.customers import NewCustomer, create_customer, customer_card, find_customer_by_phone
from crm.db import Database
from crm.errors import ImportFailed, ImportProblem, UnreadableFile
from crm.exporter import export_contacts, export_customers
from crm.importer import ImportMode, import_contacts, import_customers
from crm.kinds import Channel, Role

HEADER = "name,phones,segment,vip_level,tags,consent_marketing,email,id_number,address\n"
GOOD = (
    HEADER + "王芳,13800138000;010-12345678,gold,3,宽带;宠物,是,wang@example.cn,"
    "110105198001011234,北京市朝阳区建国路88号\n"
    "李雷,+86 139 0013 9000,regular,0,,否,,,\n"
)


def write(path: Path, text: str, encoding: str) -> Path:
    path.write_bytes(text.encode(encoding))
    return path


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
async def test_customers_import_from_csv_in_each_encoding_excel_writes(
    db: Database, tmp_path: Path, encoding: str
) -> None:
    path = write(tmp_path / "customers.csv", GOOD, encoding)
    report = await import_customers(db, path)
    assert (report.imported, report.skipped) == (2, 0)
    wang = await find_customer_by_phone(db, "010 1234 5678")
    assert wang is not None and (wang.name, wang.segment, wang.vip_level) == ("王芳", "gold", 3)
    card = await customer_card(db, wang.customer_id, Role.ADMIN)
    assert card.tags == ("宽带", "宠物")
    assert card.consent_marketing is True
    assert card.address == "北京市朝阳区建国路88号"


async def test_chinese_headers_are_understood(sqlite_db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "姓名,手机,客户类型\n张伟,13700137000,silver\n", "gb18030")
    assert (await import_customers(sqlite_db, path)).imported == 1


async def test_one_bad_row_stops_the_whole_file_and_every_bad_row_is_reported(
    db: Database, tmp_path: Path
) -> None:
    text = (
        HEADER + "王芳,13800138000,gold,3,,是,,,\n"
        ",13900139000,gold,1,,否,,,\n"  # row 3: no name
        "赵六,12,gold,1,,否,,,\n"  # row 4: not a number
        "钱七,13800138000,gold,1,,否,,,\n"  # row 5: same number as row 2
        "孙八,13600136000,gold,high,,否,,,\n"  # row 6
        "周九,13500135000,gold,1,,maybe,,,\n"  # row 7
    )
    path = write(tmp_path / "bad.csv", text, "utf-8")
    with pytest.raises(ImportFailed) as caught:
        await import_customers(db, path)
    assert [(p.row, p.field) for p in caught.value.problems] == [
        (3, "name"),
        (4, "phones"),
        (5, "phones"),
        (6, "vip_level"),
        (7, "consent_marketing"),
    ]
    assert "row 2" in caught.value.problems[2].reason
    assert await find_customer_by_phone(db, "13800138000") is None


async def test_a_number_already_in_the_database_fails_the_file_with_its_row(
    db: Database, tmp_path: Path
) -> None:
    await create_customer(db, NewCustomer(name="老客户", phones=["13900139000"]))
    path = write(tmp_path / "c.csv", GOOD, "utf-8")
    with pytest.raises(ImportFailed) as caught:
        await import_customers(db, path)
    assert caught.value.problems == [
        ImportProblem(3, "phones", "+8613900139000 already belongs to customer 1")
    ]
    assert await find_customer_by_phone(db, "13800138000") is None


async def test_per_row_mode_imports_the_good_rows_and_reports_the_rest(db: Database, tmp_path: Path) -> None:
    await create_customer(db, NewCustomer(name="老客户", phones=["13900139000"]))
    path = write(tmp_path / "c.csv", GOOD + "坏行,abc,,,,,,,\n", "utf-8")
    report = await import_customers(db, path, mode=ImportMode.PER_ROW)
    assert (report.imported, report.skipped) == (1, 2)
    assert [p.row for p in report.problems] == [3, 4]
    assert await find_customer_by_phone(db, "13800138000") is not None
    new_id = await create_customer(db, NewCustomer(name="之后", phones=["13300133000"]))
    assert new_id == 3  # ids keep counting after an import on both databases


async def test_xlsx_with_numbers_typed_as_numbers_imports(db: Database, tmp_path: Path) -> None:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(["name", "phones", "vip_level"])
    sheet.append(["王芳", 13800138000, 2])
    workbook.save(tmp_path / "c.xlsx")
    assert (await import_customers(db, tmp_path / "c.xlsx")).imported == 1
    match = await find_customer_by_phone(db, "13800138000")
    assert match is not None and match.vip_level == 2


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        (b"name,phones\n\xff\xfe\xfa\x80,1380013800\n", "neither UTF-8 nor GB18030"),
        (b"\xef\xbb\xbfname,phones\n\xff\xff,13800138000\n", "byte-order mark"),
        (b"name,phones\nab\x00c,13800138000\n", "NUL"),
        (b"name,phones\n" + b'"' + b"x" * 200_000 + b'",13800138000\n', "field larger than field limit"),
        (b"nom,telephone\nx,13800138000\n", "header lacks column"),
        (b"", "empty file"),
    ],
)
async def test_hostile_or_broken_csv_is_refused_with_a_clear_reason(
    sqlite_db: Database, tmp_path: Path, content: bytes, reason: str
) -> None:
    path = tmp_path / "hostile.csv"
    path.write_bytes(content)
    with pytest.raises(UnreadableFile, match=reason):
        await import_customers(sqlite_db, path)


async def test_an_overlong_field_is_a_bad_row_not_a_crash(sqlite_db: Database, tmp_path: Path) -> None:
    path = write(tmp_path / "c.csv", "name,phones\n" + "王" * 5000 + ",13800138000\n", "utf-8")
    with pytest.raises(ImportFailed, match="row 2 name: longer than 200"):
        await import_customers(sqlite_db, path)


async def test_a_damaged_xlsx_is_refused(sqlite_db: Database, tmp_path: Path) -> None:
    path = tmp_path / "c.xlsx"
    path.write_bytes(b"PK\x03\x04 not really a zip")
    with pytest.raises(UnreadableFile, match="xlsx"):
        await import_customers(sqlite_db, path)


async def test_export_escapes_cells_a_spreadsheet_would_run_as_formulas(db: Database, tmp_path: Path) -> None:
    await create_customer(
        db,
        NewCustomer(
            name='=HYPERLINK("http://evil.example","x")', phones=["13800138000"], address="@SUM(1+1)"
        ),
    )
    await create_customer(db, NewCustomer(name="-2+3", phones=["13900139000"], tags=["+vip"]))
    path = tmp_path / "out.csv"
    assert await export_customers(db, path) == 2
    with path.open(encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert rows[0]["name"] == '\'=HYPERLINK("http://evil.example","x")'
    assert rows[0]["address"] == "'@SUM(1+1)"
    assert rows[0]["phones"] == "'+8613800138000"
    assert rows[1]["name"] == "'-2+3"
    assert not any(cell.startswith(("=", "+", "-", "@")) for row in rows for cell in row.values())


@pytest.mark.parametrize(
    ("suffix", "encoding"), [(".csv", "utf-8-sig"), (".csv", "gb18030"), (".xlsx", "utf-8")]
)
async def test_an_export_imports_back_unchanged(
    db: Database, tmp_path: Path, suffix: str, encoding: str
) -> None:
    path = write(tmp_path / "in.csv", GOOD, "utf-8")
    await import_customers(db, path)
    out = tmp_path / f"out{suffix}"
    await export_customers(db, out, encoding=encoding)
    assert not out.with_name(out.name + ".partial").exists()
    other = Database(f"sqlite+aiosqlite:///{tmp_path}/other.db")
    from crm.migrate import upgrade

    await upgrade(other)
    assert (await import_customers(other, out)).imported == 2
    before = await customer_card(db, 1, Role.ADMIN)
    after = await customer_card(other, 1, Role.ADMIN)
    assert before == after
    await other.dispose()


async def test_contacts_import_by_phone_number_and_export(db: Database, tmp_path: Path) -> None:
    customer_id = await create_customer(db, NewCustomer(name="王芳", phones=["13800138000"]))
    text = (
        "phone,channel,at,agent,note\n"
        "138-0013-8000,call_in,2026-11-18 10:30,8001,咨询资费\n"
        "13800138000,visit,2026-11-17T09:00:00+08:00,8002,营业厅\n"
    )
    report = await import_contacts(db, write(tmp_path / "contacts.csv", text, "gb18030"))
    assert report.imported == 2
    contacts = await timeline(db, customer_id)
    assert [c.channel for c in contacts] == [Channel.CALL_IN, Channel.VISIT]
    assert contacts[0].at.isoformat() == "2026-11-18T02:30:00+00:00"
    assert await export_contacts(db, tmp_path / "contacts-out.xlsx") == 2


async def test_contacts_for_unknown_customers_or_channels_fail_with_row_numbers(
    db: Database, tmp_path: Path
) -> None:
    await create_customer(db, NewCustomer(name="王芳", phones=["13800138000"]))
    text = (
        "phone,channel,at\n"
        "13800138000,fax,2026-11-18 10:30\n"
        "13999999999,sms,2026-11-18 10:30\n"
        "13800138000,sms,yesterday\n"
    )
    with pytest.raises(ImportFailed) as caught:
        await import_contacts(db, write(tmp_path / "c.csv", text, "utf-8"))
    assert [(p.row, p.field) for p in caught.value.problems] == [(2, "channel"), (3, "phone"), (4, "at")]
