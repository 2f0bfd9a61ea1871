"""The yearly measurement plan: each change is a new version of its year, identical content makes
none, every field is checked (beside the form field it belongs to), the version in force is the
newest saved by a given time, and a quarter's report measures against its year's plan."""
import json
from datetime import datetime

import pytest

from portal.demo.measurement import load_measurement_plan
from portal.models import AuditEvent, MeasurementPlan
from portal.services import DomainError
from portal.services import measurement_plans as svc
from portal.services.settings import set_setting

PLAN = {
    "purpose": "测量客户满意度",
    "scope": "全部在服务项目",
    "frequencies": {"pm_quarterly": "每季度", "sales_visit": "完工时", "callback": "每季度抽样",
                    "complaint_followup": "结案后"},
    "owners": {"pm_quarterly": "项目经理", "sales_visit": "销售", "callback": "质量部", "complaint_followup": "质量部"},
    "sampling_rates": {"P1": 0.8, "P2": 0.5, "P3": 0.2, "P4": 0.05},
}


def _with(**changes):
    data = json.loads(json.dumps(PLAN))
    for key, value in changes.items():
        if isinstance(value, dict):
            data[key].update(value)
        else:
            data[key] = value
    return data


@pytest.fixture
def desk(make):
    return make.user("quality1", roles=("quality",))


def _at(monkeypatch, instant):
    monkeypatch.setattr(svc, "utcnow", lambda: instant)


def test_the_first_save_is_version_1_and_each_change_the_next(db, desk):
    first = svc.save_plan(2026, PLAN, desk)
    second = svc.save_plan(2026, _with(sampling_rates={"P3": 0.3}, note="P3 提高"), desk)
    other_year = svc.save_plan(2027, PLAN, desk)
    db.session.commit()
    assert (first.version, second.version, other_year.version) == (1, 2, 1)
    assert second.sampling_rates["P3"] == 0.3 and second.note == "P3 提高" and second.created_by_id == desk.id
    assert first.sampling_rates["P3"] == 0.2  # the older version stays as it was
    assert [p.version for p in svc.plan_versions(2026)] == [2, 1]
    assert [(r.year, r.latest.version) for r in svc.plan_years()] == [(2027, 1), (2026, 2)]


def test_identical_content_makes_no_version_even_with_another_note(db, desk):
    first = svc.save_plan(2026, PLAN, desk)
    again = svc.save_plan(2026, _with(purpose="  测量客户满意度 ", note="没有改动"), desk)
    db.session.commit()
    assert again.id == first.id and again.note is None
    assert db.session.query(MeasurementPlan).count() == 1
    assert db.session.query(AuditEvent).filter_by(object_type="MeasurementPlan").count() == 1


def test_each_save_is_audited_with_what_changed(db, desk):
    first = svc.save_plan(2026, PLAN, desk)
    second = svc.save_plan(2026, _with(sampling_rates={"P3": 0.3}, note="P3 提高"), desk)
    db.session.commit()
    events = db.session.query(AuditEvent).filter_by(object_type="MeasurementPlan", action="create") \
        .order_by(AuditEvent.id).all()
    assert [e.object_id for e in events] == [str(first.id), str(second.id)]
    assert all(e.user_id == desk.id for e in events)
    assert json.loads(events[0].detail)["purpose"] == "测量客户满意度"
    changed = json.loads(events[1].detail)
    assert changed["version"] == [1, 2] and changed["note"] == [None, "P3 提高"]
    assert changed["sampling_rates"][0]["P3"] == 0.2 and changed["sampling_rates"][1]["P3"] == 0.3
    assert "purpose" not in changed


@pytest.mark.parametrize("changes, field", [
    ({"purpose": "  "}, "purpose"),
    ({"scope": None}, "scope"),
    ({"scope": "x" * 4001}, "scope"),
    ({"frequencies": {"callback": ""}}, "frequency_callback"),
    ({"owners": {"complaint_followup": " "}}, "owner_complaint_followup"),
    ({"owners": {"sales_visit": "x" * 201}}, "owner_sales_visit"),
    ({"sampling_rates": {"P1": 1.2}}, "rate_p1"),
    ({"sampling_rates": {"P2": -0.01}}, "rate_p2"),
    ({"sampling_rates": {"P3": None}}, "rate_p3"),
    ({"sampling_rates": {"P4": float("nan")}}, "rate_p4"),
    ({"sampling_rates": {"P4": "many"}}, "rate_p4"),
    ({"note": "x" * 4001}, "note"),
])
def test_bad_input_is_refused_at_its_field(db, desk, changes, field):
    with pytest.raises(DomainError) as error:
        svc.save_plan(2026, _with(**changes), desk)
    assert error.value.field == field and str(error.value.message)
    assert db.session.query(MeasurementPlan).count() == 0


def test_a_survey_kind_left_out_is_refused(db, desk):
    data = _with()
    del data["owners"]["callback"]
    with pytest.raises(DomainError) as error:
        svc.save_plan(2026, data, desk)
    assert error.value.field == "owner_callback"


@pytest.mark.parametrize("year", [1999, 2101, "2026", True])
def test_the_year_must_be_a_year_the_portal_plans(db, desk, year):
    with pytest.raises(DomainError) as error:
        svc.save_plan(year, PLAN, desk)
    assert error.value.field == "year" and "2000" in str(error.value.message)


def test_rates_are_kept_to_four_decimals_and_read_back_as_percent(db, desk):
    plan = svc.save_plan(2026, _with(sampling_rates={"P4": 0.123456}), desk)
    assert plan.sampling_rates["P4"] == 0.1235
    assert str(svc.rate_as_percent(0.1235)) == "12.35" and str(svc.rate_as_percent(0.2)) == "20"
    assert svc.percent_as_rate(20) == 0.2 and svc.percent_as_rate(None) is None


def test_the_plan_in_force_is_the_newest_saved_by_then(db, desk, monkeypatch):
    _at(monkeypatch, datetime(2026, 1, 10, 2, 0))
    svc.save_plan(2026, PLAN, desk)
    _at(monkeypatch, datetime(2026, 4, 2, 2, 0))
    svc.save_plan(2026, _with(sampling_rates={"P3": 0.3}), desk)
    db.session.commit()
    assert svc.current_plan(2026, at=datetime(2026, 1, 9)) is None
    assert svc.current_plan(2026, at=datetime(2026, 1, 10, 2, 0)).version == 1
    assert svc.current_plan(2026, at=datetime(2026, 4, 1, 23, 59)).version == 1
    assert svc.current_plan(2026, at=datetime(2026, 4, 2, 2, 0)).version == 2
    assert svc.current_plan(2026).version == 2  # now (2026-04-02 by the patched clock)
    assert svc.current_plan(2025) is None


def test_a_quarter_measures_against_its_years_plan(db, desk, monkeypatch):
    _at(monkeypatch, datetime(2026, 1, 10))
    svc.save_plan(2026, PLAN, desk)
    _at(monkeypatch, datetime(2026, 4, 2))
    svc.save_plan(2026, _with(sampling_rates={"P3": 0.3}), desk)
    svc.save_plan(2027, PLAN, desk)
    db.session.commit()
    assert svc.plan_for_quarter("2026Q1", at=datetime(2026, 3, 31)).version == 1
    assert svc.plan_for_quarter("2026Q2", at=datetime(2026, 6, 30)).version == 2
    assert svc.plan_for_quarter("2026Q4").version == 2
    assert svc.plan_for_quarter("2027Q1").year == 2027
    assert svc.plan_for_quarter("2025Q4") is None
    with pytest.raises(ValueError):
        svc.plan_for_quarter("2026Q5")


def test_changes_list_the_fields_a_version_changed(db, desk):
    first = svc.save_plan(2026, PLAN, desk)
    second = svc.save_plan(2026, _with(scope="新范围", owners={"callback": "客服中心"},
                                       sampling_rates={"P3": 0.3}), desk)
    changes = svc.plan_changes(first, second)
    assert [(c.field, c.key, c.before, c.after) for c in changes] == [
        ("scope", None, "全部在服务项目", "新范围"),
        ("owner", "callback", "质量部", "客服中心"),
        ("sampling_rate", "P3", 0.2, 0.3)]
    assert svc.previous_version(second).id == first.id and svc.previous_version(first) is None


def test_a_new_years_defaults_take_the_callback_desks_current_rates(db, desk):
    set_setting("callback.rate_p3", 0.25, actor=desk)
    defaults = svc.plan_defaults(2026)
    assert defaults["sampling_rates"] == {"P1": 0.8, "P2": 0.5, "P3": 0.25, "P4": 0.05}
    assert all(defaults["frequencies"][k] and defaults["owners"][k] for k in PLAN["frequencies"])
    svc.save_plan(2026, _with(purpose="2026 目的"), desk)
    carried = svc.plan_defaults(2027)  # the texts of the year before, the rates of today
    assert carried["purpose"] == "2026 目的" and carried["sampling_rates"]["P3"] == 0.25


def test_a_version_number_taken_meanwhile_goes_to_the_next(db, desk, monkeypatch):
    svc.save_plan(2026, PLAN, desk)
    real, calls = svc.latest_plan, []

    def stale_then_real(year):  # the first look misses the version another request just saved
        calls.append(year)
        return None if len(calls) == 1 else real(year)

    monkeypatch.setattr(svc, "latest_plan", stale_then_real)
    plan = svc.save_plan(2026, _with(sampling_rates={"P3": 0.3}), desk)
    db.session.commit()
    assert plan.version == 2 and len(calls) == 2
    assert [p.version for p in svc.plan_versions(2026)] == [2, 1]


def test_the_demo_plan_has_two_versions_the_second_raising_p3(db, desk):
    assert load_measurement_plan(desk) == ["2026 measurement plan (2 new versions)"]
    assert load_measurement_plan(desk) == ["2026 measurement plan (0 new versions)"]
    db.session.commit()
    v2, v1 = svc.plan_versions(2026)
    assert [c.key for c in svc.plan_changes(v1, v2)] == ["P3"]
    assert v1.sampling_rates["P3"] == 0.2 and v2.sampling_rates["P3"] == 0.3 and v2.note
