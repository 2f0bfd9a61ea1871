"""China's working days: weekends and national holidays off, make-up working days (调休) on,
overrides from the settings win, and a year nobody knows raises instead of guessing."""
from datetime import date, timedelta

import chinese_calendar
import pytest

from portal.services import DomainError
from portal.services.settings import set_setting
from portal.services.working_days import (
    PACKAGE_YEARS,
    CalendarUnknown,
    WorkingCalendar,
    add_working_days,
    is_working_day,
    known_years,
    unknown_years,
    working_days_between,
)


@pytest.fixture
def admin(make):
    return make.user("admin_wd", roles=("admin",))


def _override(admin, days):
    set_setting("calendar.overrides", days, actor=admin)


def test_the_package_knows_2026():
    assert 2026 in PACKAGE_YEARS and 2026 in known_years()


def test_the_calendar_agrees_with_the_package_on_every_day_it_knows():
    """The portal reads the package's tables itself (its is_workday re-checks the years on
    every call); the answer must stay the package's, holidays and make-up days (调休) alike."""
    calendar = WorkingCalendar({})
    day, last = date(min(PACKAGE_YEARS), 1, 1), date(max(PACKAGE_YEARS), 12, 31)
    differ = []
    while day <= last:
        if calendar.is_working_day(day) != chinese_calendar.is_workday(day):
            differ.append(day)
        day += timedelta(days=1)
    assert differ == []
    assert not calendar.is_working_day(date(2026, 10, 1))  # National Day
    assert calendar.is_working_day(date(2026, 9, 20))      # a Sunday worked in its place (调休)


def test_friday_plus_one_working_day_is_monday():
    assert is_working_day(date(2026, 3, 6)) and not is_working_day(date(2026, 3, 7))
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)


def test_start_itself_does_not_count():
    assert add_working_days(date(2026, 3, 9), 0) == date(2026, 3, 9)
    assert add_working_days(date(2026, 3, 9), 1) == date(2026, 3, 10)


def test_national_day_week_is_skipped():
    assert not any(is_working_day(date(2026, 10, d)) for d in range(1, 8))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 8)


def test_make_up_saturday_is_a_working_day():
    assert date(2026, 10, 10).weekday() == 5 and is_working_day(date(2026, 10, 10))
    assert date(2026, 9, 20).weekday() == 6 and is_working_day(date(2026, 9, 20))
    assert add_working_days(date(2026, 10, 9), 1) == date(2026, 10, 10)


def test_ten_working_days_across_national_day():
    # 9/28 9/29 9/30 | 10/1–7 off | 10/8 10/9 10/10 (Sat, make-up) 10/12 10/13 10/14 10/15
    assert add_working_days(date(2026, 9, 25), 10) == date(2026, 10, 15)
    assert working_days_between(date(2026, 9, 25), date(2026, 10, 15)) == 10
    assert working_days_between(date(2026, 10, 15), date(2026, 9, 25)) == -10


def test_negative_counts_go_backwards():
    assert add_working_days(date(2026, 10, 8), -1) == date(2026, 9, 30)


def test_unknown_year_raises_instead_of_guessing():
    assert 2031 not in known_years() and unknown_years([2026, 2031]) == [2031]
    with pytest.raises(CalendarUnknown) as caught:
        is_working_day(date(2031, 3, 4))
    assert caught.value.year == 2031 and isinstance(caught.value, DomainError)
    assert "2031" in caught.value.message


def test_counting_into_an_unknown_year_raises():
    last = max(PACKAGE_YEARS)
    with pytest.raises(CalendarUnknown) as caught:
        add_working_days(date(last, 12, 28), 10)
    assert caught.value.year == last + 1


def test_override_wins_over_the_package(admin):
    _override(admin, {"2026-10-08": "holiday", "2026-10-11": "workday"})
    assert not is_working_day(date(2026, 10, 8))
    assert is_working_day(date(2026, 10, 11))
    assert add_working_days(date(2026, 9, 30), 1) == date(2026, 10, 9)


def test_override_makes_an_unknown_year_computable(admin):
    _override(admin, {"2031-10-01": "holiday", "2031-10-11": "workday"})
    assert not is_working_day(date(2031, 10, 1))
    assert is_working_day(date(2031, 10, 11))  # a Saturday
    assert 2031 in known_years() and unknown_years([2030, 2031]) == [2030]
    assert add_working_days(date(2031, 9, 30), 1) == date(2031, 10, 2)
