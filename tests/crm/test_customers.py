from __future__ import annotations

import pytest

from crm.customers import (
    NewCustomer,
    add_phone,
    add_to_do_not_contact,
    count_customers,
    create_customer,
    customer_card,
    find_customer_by_phone,
)
from crm.db import Database
from crm.errors import DuplicatePhoneNumber, InvalidPhoneNumber
from crm.kinds import Role

WANG = NewCustomer(
    name="王芳",
    phones=["138 0013 8000", "010-12345678", "400-812-3456"],
    segment="gold",
    vip_level=3,
    tags=["broadband"],
    consent_marketing=True,
    id_number="110105198001011234",
    address="北京市朝阳区建国路88号",
)


@pytest.mark.parametrize("dialled", ["+8613800138000", "13800138000", "(010) 1234 5678", "4008123456"])
async def test_a_customer_is_found_by_any_of_their_numbers_in_any_format(db: Database, dialled: str) -> None:
    customer_id = await create_customer(db, WANG)
    match = await find_customer_by_phone(db, dialled)
    assert match is not None
    assert (match.customer_id, match.name, match.vip_level, match.segment) == (customer_id, "王芳", 3, "gold")
    assert match.has_open_complaint is False


async def test_an_unknown_or_unusable_number_finds_nobody(db: Database) -> None:
    await create_customer(db, WANG)
    assert await find_customer_by_phone(db, "13900000000") is None
    assert await find_customer_by_phone(db, "anonymous") is None


async def test_a_number_belongs_to_one_customer_only(db: Database) -> None:
    first = await create_customer(db, WANG)
    with pytest.raises(DuplicatePhoneNumber) as caught:
        await create_customer(db, NewCustomer(name="李雷", phones=["+86 138 0013 8000"]))
    assert caught.value.customer_id == first
    second = await create_customer(db, NewCustomer(name="李雷", phones=["13900139000"]))
    with pytest.raises(DuplicatePhoneNumber):
        await add_phone(db, second, "010 1234 5678")
    assert await add_phone(db, second, "13700137000") == "+8613700137000"


async def test_an_invalid_number_is_refused_before_anything_is_stored(db: Database) -> None:
    with pytest.raises(InvalidPhoneNumber):
        await create_customer(db, NewCustomer(name="张三", phones=["13800138000", "12"]))
    assert await find_customer_by_phone(db, "13800138000") is None


async def test_id_number_and_address_are_masked_for_agents_and_clear_for_supervisors(db: Database) -> None:
    customer_id = await create_customer(db, WANG)
    agent_view = await customer_card(db, customer_id, Role.AGENT)
    assert agent_view.id_number == "110105********1234"
    assert agent_view.address == "北京市朝阳区****"
    assert (await customer_card(db, customer_id, Role.ANALYST)).id_number == "110105********1234"
    supervisor_view = await customer_card(db, customer_id, Role.SUPERVISOR)
    assert supervisor_view.id_number == WANG.id_number
    assert supervisor_view.address == WANG.address
    assert agent_view.phones == ("+8613800138000", "+861012345678", "+864008123456")


async def test_a_listed_number_puts_its_customer_on_the_do_not_contact_list(db: Database) -> None:
    customer_id = await create_customer(db, WANG)
    assert (await customer_card(db, customer_id)).do_not_contact is False
    await add_to_do_not_contact(db, phone="010-12345678", reason="asked on the phone")
    assert (await customer_card(db, customer_id)).do_not_contact is True


async def test_another_customers_listed_number_does_not_put_this_customer_on_the_list(db: Database) -> None:
    from crm.service import Crm

    wang = await create_customer(db, WANG)
    other = await create_customer(db, NewCustomer(name="李雷", phones=["13900139000"]))
    await add_to_do_not_contact(db, phone="13900139000")
    assert (await customer_card(db, wang)).do_not_contact is False
    assert (await customer_card(db, other)).do_not_contact is True
    crm = Crm(db)
    assert (await crm.screen_pop("13800138000")).customer.do_not_contact is False  # type: ignore[union-attr]
    assert (await crm.screen_pop("13900139000")).customer.do_not_contact is True  # type: ignore[union-attr]


async def test_customers_are_counted(db: Database) -> None:
    assert await count_customers(db) == 0
    await create_customer(db, WANG)
    assert await count_customers(db) == 1
