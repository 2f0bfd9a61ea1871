"""The settings screen: every setting with its explanation, edited in place (htmx and plain
forms), errors beside the field, and only the roles a setting names may change it."""
from datetime import date

import pytest

from portal.services.settings import get_setting

DUE = "/settings/followup.due_working_days"
DUE_FIELD = "followup-due_working_days-value"


@pytest.fixture
def admin(make, auth):
    make.user("admin_p", roles=("admin",))
    auth.login("admin_p")


@pytest.fixture
def quality(make, auth):
    make.user("quality_p", roles=("quality",))
    auth.login("quality_p")


def test_page_lists_every_setting_with_its_explanation(client, admin):
    html = client.get("/settings").get_data(as_text=True)
    for text in ("Low score threshold", "Follow-up due in (working days)", "Problem directions",
                 "Problem types", "Escalation recipients", "Calendar corrections",
                 "Response timeliness", "at or below this value"):
        assert text in html
    assert 'href="/settings"' in html  # the nav item
    assert "The official calendar knows 2004–2026" in html


def test_page_in_chinese(client, admin):
    html = client.get("/settings", headers={"Accept-Language": "zh"}).get_data(as_text=True)
    assert "低分阈值" in html and "响应及时性" in html


def test_an_unknown_next_year_is_called_out(client, admin, monkeypatch):
    monkeypatch.setattr("portal.blueprints.settings.views.local_today", lambda: date(2026, 12, 1))
    html = client.get("/settings").get_data(as_text=True)
    assert "Due dates cannot be computed for 2027: add its holidays and make-up days below." in html
    assert "computed for 2026" not in html
    response = client.post_form("/settings/calendar.overrides",
                                {"calendar-overrides-value": "2027-01-01 holiday"}, htmx=True, token_from="/")
    assert response.status_code == 200
    assert "computed for 2027" not in response.get_data(as_text=True)


def test_htmx_edit_swaps_the_row(client, admin):
    response = client.post_form(DUE, {DUE_FIELD: "12"}, htmx=True, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" not in html
    assert 'id="setting-followup-due_working_days"' in html and "was saved" in html
    assert get_setting("followup.due_working_days") == 12


def test_plain_post_redirects_to_the_row(client, admin):
    response = client.post_form(DUE, {DUE_FIELD: "12"}, token_from="/")
    assert response.status_code == 303
    assert response.headers["Location"] == "/settings#setting-followup-due_working_days"
    assert get_setting("followup.due_working_days") == 12


@pytest.mark.parametrize("htmx", [True, False])
@pytest.mark.parametrize("value", ["ten", "0"])
def test_bad_value_is_422_with_the_error_beside_the_field(client, admin, htmx, value):
    response = client.post_form(DUE, {DUE_FIELD: value}, htmx=htmx, token_from="/")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert f'id="err-{DUE_FIELD}"' in html
    assert ("<html" in html) is not htmx
    assert get_setting("followup.due_working_days") == 10


def test_lists_are_edited_as_lines(client, admin):
    response = client.post_form("/settings/problems.types",
                                {"problems-types-value": "complaint | 投诉 | Complaint\nidea | 想法 | Idea"},
                                htmx=True, token_from="/")
    assert response.status_code == 200
    assert [e["code"] for e in get_setting("problems.types")] == ["complaint", "idea"]
    response = client.post_form("/settings/problems.types", {"problems-types-value": "broken line"},
                                htmx=True, token_from="/")
    assert response.status_code == 422 and "Line 1" in response.get_data(as_text=True)


def test_escalation_recipients_are_chosen_from_executives(client, admin, make):
    boss = make.user("vp_p", display_name="副总裁", roles=("exec",))
    html = client.get("/settings").get_data(as_text=True)
    assert "副总裁" in html
    response = client.post_form("/settings/escalation.recipients",
                                {"escalation-recipients-value": str(boss.id)}, htmx=True, token_from="/")
    assert response.status_code == 200
    assert get_setting("escalation.recipients") == [boss.id]


def test_unknown_key_is_404(client, admin):
    assert client.post_form("/settings/no.such", {}, token_from="/").status_code == 404


@pytest.mark.parametrize("role", ["pm", "sales", "pmo", "exec", "archive"])
def test_other_roles_are_refused(client, auth, make, role):
    make.user(f"r_{role}", roles=(role,))
    auth.login(f"r_{role}")
    assert client.get("/settings").status_code == 403
    assert client.post_form(DUE, {DUE_FIELD: "12"}, token_from="/settings").status_code == 403
    assert get_setting("followup.due_working_days") == 10


def test_quality_edits_its_settings(client, quality):
    response = client.post_form(DUE, {DUE_FIELD: "8"}, htmx=True, token_from="/")
    assert response.status_code == 200 and get_setting("followup.due_working_days") == 8


def test_quality_cannot_edit_calendar_overrides(client, quality):
    html = client.get("/settings").get_data(as_text=True)
    assert "Calendar corrections" in html
    assert 'action="/settings/calendar.overrides"' not in html
    assert 'action="/settings/escalation.recipients"' not in html
    response = client.post_form("/settings/calendar.overrides",
                                {"calendar-overrides-value": "2031-10-01 holiday"}, htmx=True, token_from="/")
    assert response.status_code == 403
    assert get_setting("calendar.overrides") == {}
