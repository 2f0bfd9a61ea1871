"""Settings: typed defaults, validation by kind, who may change what, and the audit trail."""
import json

import pytest
from sqlalchemy import select

from portal.models import AuditEvent, Setting
from portal.services import DomainError
from portal.services.settings import (
    SPECS,
    get_setting,
    set_setting,
    setting_as_text,
    setting_choices,
    setting_from_text,
)


@pytest.fixture
def admin(make):
    return make.user("admin_s", roles=("admin",))


@pytest.fixture
def quality(make):
    return make.user("quality_s", roles=("quality",))


def test_defaults_without_stored_rows():
    assert get_setting("followup.low_score_threshold") == 3.0
    assert get_setting("followup.due_working_days") == 10
    assert [e["code"] for e in get_setting("problems.directions")] == [
        "attitude", "timeliness", "technical", "communication", "documentation", "commercial", "other"]
    assert [e["code"] for e in get_setting("problems.types")] == ["complaint", "suggestion", "inquiry", "praise"]
    assert get_setting("escalation.recipients") == []
    assert get_setting("calendar.overrides") == {}


def test_every_entry_of_the_default_lists_has_both_languages():
    for key in ("problems.directions", "problems.types"):
        assert all(e["zh"] and e["en"] for e in get_setting(key))
    assert setting_choices("problems.types", "zh")[0] == ("complaint", "投诉")
    assert setting_choices("problems.types", "en")[0] == ("complaint", "Complaint")


def test_unknown_key_is_a_key_error(admin):
    with pytest.raises(KeyError):
        get_setting("no.such.key")
    with pytest.raises(KeyError):
        set_setting("no.such.key", 1, actor=admin)


def test_changing_a_returned_value_changes_nothing():
    get_setting("problems.types").clear()
    get_setting("calendar.overrides")["2031-01-01"] = "holiday"
    assert len(get_setting("problems.types")) == 4 and get_setting("calendar.overrides") == {}


def test_stored_value_is_read_back_typed(admin, db):
    set_setting("followup.low_score_threshold", 2, actor=admin)
    db.session.commit()
    assert get_setting("followup.low_score_threshold") == 2.0
    assert isinstance(get_setting("followup.low_score_threshold"), float)


@pytest.mark.parametrize("key, value", [
    ("followup.due_working_days", "10"),
    ("followup.due_working_days", True),
    ("followup.due_working_days", 0),
    ("followup.due_working_days", 2.5),
    ("followup.low_score_threshold", 5.5),
    ("followup.low_score_threshold", float("nan")),
    ("problems.types", []),
    ("problems.types", [{"code": "x", "zh": "甲", "en": "X"}, {"code": "x", "zh": "乙", "en": "Y"}]),
    ("problems.types", [{"code": "Bad Code", "zh": "甲", "en": "X"}]),
    ("problems.types", [{"code": "ok", "zh": "", "en": "X"}]),
    ("problems.types", [{"code": "ok", "zh": "甲"}]),
    ("calendar.overrides", {"2031-02-30": "holiday"}),
    ("calendar.overrides", {"2031-10-01": "maybe"}),
    ("calendar.overrides", {"1999-10-01": "holiday"}),
    ("escalation.recipients", ["1"]),
])
def test_invalid_values_are_refused_at_the_value_field(admin, key, value):
    with pytest.raises(DomainError) as caught:
        set_setting(key, value, actor=admin)
    assert caught.value.field == "value"


def test_escalation_recipients_must_be_active_executives(admin, make):
    boss = make.user("vp", roles=("exec",))
    pm = make.user("pm_s", roles=("pm",))
    assert set_setting("escalation.recipients", [boss.id, boss.id], actor=admin) == [boss.id]
    with pytest.raises(DomainError):
        set_setting("escalation.recipients", [pm.id], actor=admin)


def test_quality_edits_followup_and_problem_settings_but_not_the_calendar(quality):
    set_setting("followup.due_working_days", 12, actor=quality)
    set_setting("problems.types", [{"code": "complaint", "zh": "投诉", "en": "Complaint"}], actor=quality)
    with pytest.raises(DomainError):
        set_setting("calendar.overrides", {"2031-10-01": "holiday"}, actor=quality)
    with pytest.raises(DomainError):
        set_setting("escalation.recipients", [], actor=quality)


@pytest.mark.parametrize("role", ["pm", "sales", "pmo", "exec", "archive"])
def test_other_roles_change_nothing(make, role):
    user = make.user(f"u_{role}", roles=(role,))
    with pytest.raises(DomainError):
        set_setting("followup.due_working_days", 12, actor=user)


def test_a_change_is_audited_with_before_and_after(admin, db):
    set_setting("followup.due_working_days", 15, actor=admin)
    set_setting("followup.due_working_days", 15, actor=admin)  # no change: no event
    db.session.commit()
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "setting_changed")).all()
    assert len(events) == 1
    event = events[0]
    assert (event.user_id, event.object_type, event.object_id) == (admin.id, "Setting", "followup.due_working_days")
    assert json.loads(event.detail) == {"key": "followup.due_working_days", "before": 10, "after": 15}
    row = db.session.get(Setting, "followup.due_working_days")
    assert row.value == 15 and row.updated_by_id == admin.id and row.updated_at is not None


def test_set_setting_flushes_but_does_not_commit(admin, db):
    set_setting("followup.due_working_days", 11, actor=admin)
    db.session.rollback()
    assert get_setting("followup.due_working_days") == 10


def test_lines_round_trip_through_the_screens_text():
    text = "complaint | 投诉 | Complaint\n\n  praise|表扬|Praise  \n"
    entries = setting_from_text("problems.types", text)
    assert entries == [{"code": "complaint", "zh": "投诉", "en": "Complaint"},
                       {"code": "praise", "zh": "表扬", "en": "Praise"}]
    assert setting_as_text("problems.types", entries) == "complaint | 投诉 | Complaint\npraise | 表扬 | Praise"
    days = setting_from_text("calendar.overrides", "2031-10-01 holiday\n2031-10-11 WORKDAY")
    assert days == {"2031-10-01": "holiday", "2031-10-11": "workday"}
    assert setting_from_text("followup.low_score_threshold", "2,5") == 2.5


@pytest.mark.parametrize("key, text", [
    ("followup.due_working_days", "ten"),
    ("followup.low_score_threshold", "inf"),
    ("problems.types", "complaint | 投诉"),
    ("calendar.overrides", "2031-10-01"),
    ("calendar.overrides", "2031-13-01 holiday"),
    ("calendar.overrides", "2031-10-01 holiday\n2031-10-01 workday"),
])
def test_bad_text_is_refused_at_the_value_field(key, text):
    with pytest.raises(DomainError) as caught:
        setting_from_text(key, text)
    assert caught.value.field == "value"


def test_every_spec_has_a_label_and_help_and_known_kind():
    for spec in SPECS.values():
        assert str(spec.label) and str(spec.help) and spec.kind in ("int", "float", "list", "user_ids", "dates", "priority_map")
        assert set(spec.editors) <= {"admin", "quality"} and "admin" in spec.editors


def test_a_priority_map_is_read_from_lines_normalized_and_checked(make):
    from portal.services.settings import get_setting, set_setting, setting_as_text, setting_from_text
    admin = make.user(roles=("admin",))
    assert get_setting("cases.priority_map")["紧急"] == "P1"
    value = setting_from_text("cases.priority_map", "Sev 1 = p1\n  严重  =P2\n")
    assert set_setting("cases.priority_map", value, actor=admin) == {"sev 1": "P1", "严重": "P2"}
    assert setting_as_text("cases.priority_map", get_setting("cases.priority_map")) == "sev 1 = P1\n严重 = P2"
    with pytest.raises(DomainError):
        set_setting("cases.priority_map", {"x": "P5"}, actor=admin)
    with pytest.raises(DomainError):
        setting_from_text("cases.priority_map", "no equals sign")
