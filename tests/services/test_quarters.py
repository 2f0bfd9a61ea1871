"""services.quarters: calendar quarters of the local date in PORTAL_TIMEZONE (DESIGN §3)."""
from datetime import date, datetime

import pytest

from portal.services.quarters import (current_quarter, end_of_local_day, local_today, parse_quarter,
                                      publication_deadline, quarter_bounds, quarter_of, shift_quarter)

# (naive UTC instant, quarter in Shanghai): the last second of each quarter and the first of the next
BOUNDARIES = [
    (datetime(2026, 12, 31, 15, 59, 59), "2026Q4"),  # 31 Dec 23:59:59 in Shanghai
    (datetime(2026, 12, 31, 16, 0, 0), "2027Q1"),    # 1 Jan 00:00 in Shanghai, still 2026 in UTC
    (datetime(2026, 12, 31, 23, 30, 0), "2027Q1"),   # 1 Jan 07:30 in Shanghai (the reported bug)
    (datetime(2027, 3, 31, 15, 59, 59), "2027Q1"),
    (datetime(2027, 3, 31, 16, 0, 0), "2027Q2"),
    (datetime(2027, 6, 30, 15, 59, 59), "2027Q2"),
    (datetime(2027, 6, 30, 16, 0, 0), "2027Q3"),
    (datetime(2027, 9, 30, 15, 59, 59), "2027Q3"),
    (datetime(2027, 9, 30, 16, 0, 0), "2027Q4"),
]


@pytest.mark.parametrize("instant, quarter", BOUNDARIES)
def test_quarter_of_an_instant_is_the_quarter_of_its_local_date(app, instant, quarter):
    assert quarter_of(instant) == quarter
    assert current_quarter(now=instant) == quarter


def test_a_local_date_is_taken_as_it_is():
    assert quarter_of(date(2027, 1, 1)) == "2027Q1" and quarter_of(date(2026, 12, 31)) == "2026Q4"


def test_another_portal_timezone_moves_the_boundary(app):
    instant = datetime(2027, 1, 1, 3, 0)  # 1 Jan 03:00 UTC = 31 Dec 22:00 in New York
    saved = app.config["PORTAL_TIMEZONE"]
    app.config["PORTAL_TIMEZONE"] = "America/New_York"
    try:
        assert quarter_of(instant) == "2026Q4" and local_today(instant) == date(2026, 12, 31)
    finally:
        app.config["PORTAL_TIMEZONE"] = saved
    assert quarter_of(instant) == "2027Q1"


def test_a_response_without_a_round_lands_in_the_local_quarter(make, db):
    from portal.services.answers import parse_answers
    from portal.services.responses import submit_response
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"},
                           complete=True)
    response = submit_response(version, parsed, channel="paper", project=make.project(),
                               submitted_at=datetime(2026, 12, 31, 23, 30))
    assert response.quarter == "2027Q1"


def test_end_of_local_day_is_23_59_59_shanghai_in_utc(app):
    assert end_of_local_day(date(2026, 6, 30)) == datetime(2026, 6, 30, 15, 59, 59)


def test_bounds_shift_and_deadline():
    assert quarter_bounds("2026Q4") == (date(2026, 10, 1), date(2026, 12, 31))
    assert quarter_bounds("2027Q1") == (date(2027, 1, 1), date(2027, 3, 31))
    assert shift_quarter("2027Q1", -1) == "2026Q4" and shift_quarter("2026Q4", 5) == "2028Q1"
    assert publication_deadline("2026Q4") == date(2026, 12, 30)


@pytest.mark.parametrize("text", ["2026Q5", "2026q4", "26Q4", "9999Q4", "1999Q4", "", None])
def test_not_a_quarter(text):
    with pytest.raises(ValueError):
        parse_quarter(text)
