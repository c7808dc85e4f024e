from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from crm.sla import SHANGHAI, ChinaWorkCalendar, SlaState, due_date, escalation_level, sla_state

CAL = ChinaWorkCalendar()


def local(y: int, m: int, d: int, h: int = 10) -> datetime:
    return datetime(y, m, d, h, tzinfo=SHANGHAI)


@pytest.mark.parametrize(
    ("opened", "due"),
    [
        (local(2026, 11, 18), local(2026, 11, 24, 0)),  # Wednesday: Thu, Fri, (weekend), Mon
        (local(2026, 11, 20), local(2026, 11, 26, 0)),  # Friday: Mon, Tue, Wed
        (local(2026, 11, 21), local(2026, 11, 26, 0)),  # Saturday counts like Friday's next days
        (local(2026, 9, 30), local(2026, 10, 11, 0)),  # National Day week off; Sat 10 Oct is a make-up day
        (local(2026, 9, 17), local(2026, 9, 22, 0)),  # Sun 20 Sep is a make-up workday
        (local(2026, 9, 24), local(2026, 10, 1, 0)),  # Mid-Autumn Fri 25 off: Mon 28, Tue 29, Wed 30
    ],
)
def test_three_working_days_skip_weekends_and_holidays_and_count_make_up_days(
    opened: datetime, due: datetime
) -> None:
    result = due_date(opened, 3, CAL)
    assert result.at == due
    assert result.estimated is False


def test_the_opening_day_is_taken_in_shanghai_time_not_utc() -> None:
    # 17:30 UTC on Tuesday is 01:30 on Wednesday in Shanghai.
    opened = datetime(2026, 11, 17, 17, 30, tzinfo=UTC)
    assert due_date(opened, 3, CAL).at == local(2026, 11, 24, 0)


def test_years_beyond_the_calendar_data_fall_back_to_weekdays_and_are_marked_estimated() -> None:
    assert not CAL.covers(date(2027, 3, 3))
    result = due_date(local(2027, 3, 3), 3, CAL)
    assert result.at == local(2027, 3, 9, 0)
    assert result.estimated is True


def test_new_years_day_is_a_holiday_even_beyond_the_calendar_data() -> None:
    result = due_date(local(2026, 12, 30), 3, CAL)  # Thu 31 Dec, (Fri 1 Jan off), Mon 4, Tue 5
    assert result.at == local(2027, 1, 6, 0)
    assert result.estimated is True


def test_naive_opening_time_is_refused() -> None:
    with pytest.raises(ValueError, match="time zone"):
        due_date(datetime(2026, 11, 18, 10), 3, CAL)


def test_sla_state_moves_from_on_time_to_due_soon_to_overdue() -> None:
    due = local(2026, 11, 24, 0)
    assert sla_state(due, due - timedelta(days=2)) is SlaState.ON_TIME
    assert sla_state(due, due - timedelta(hours=5)) is SlaState.DUE_SOON
    assert sla_state(due, due) is SlaState.OVERDUE
    assert sla_state(due, due + timedelta(days=3), closed_at=due - timedelta(hours=1)) is SlaState.MET
    assert sla_state(due, due + timedelta(days=3), closed_at=due + timedelta(hours=1)) is SlaState.MISSED


def test_escalation_rises_one_level_per_working_day_overdue_and_not_over_the_weekend() -> None:
    due = local(2026, 11, 19, 0)  # end of Wednesday
    assert escalation_level(due, due - timedelta(minutes=1), CAL) == 0
    assert escalation_level(due, local(2026, 11, 19, 9), CAL) == 1  # Thursday
    assert escalation_level(due, local(2026, 11, 20, 9), CAL) == 2  # Friday
    assert escalation_level(due, local(2026, 11, 22, 9), CAL) == 3  # Sunday: only Friday ended since
    assert escalation_level(due, local(2026, 11, 23, 9), CAL) == 3  # Monday morning
    assert escalation_level(due, local(2026, 11, 24, 9), CAL) == 4  # Tuesday
