"""Questionnaire templates screens: quality edits (htmx and plain forms), everyone else reads."""
import re

import pytest
from sqlalchemy import func, select

from portal.models import Question, Response, Template, TemplateVersion
from portal.services import questionnaires as svc
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.seed.templates import ensure_default_templates

HX = {"HX-Request": "true"}
READERS = ("pmo", "pm", "sales", "exec")
TOKEN_PAGE = "/questionnaires/"  # a page every reader of templates may open


@pytest.fixture
def quality(make, auth):
    make.user("q1", roles=("quality",))
    auth.login("q1")


@pytest.fixture
def version(make):
    """A draft version (4 questions: attitude, timeliness, technical, opinion)."""
    return make.template_version(name="运维季度调查")


def _question_data(prefix, **kw):
    data = {"code": "communication", "text": "沟通协调", "type": "scale", "scale": "", "dimension":
            "communication", "required": "y", "choices": ""}
    data.update(kw)
    return {f"{prefix}-{k}": v for k, v in data.items()}


def _scale_id(db, code):
    from portal.models import Scale
    return str(db.session.scalar(select(Scale.id).where(Scale.code == code)))


def _codes(db, version_id):
    db.session.expire_all()
    return [q.code for q in db.session.get(TemplateVersion, version_id).questions]


def _answer(make, db, version):
    parsed = parse_answers(version, {"q_attitude": "5", "q_timeliness": "4", "q_technical": "8"},
                           complete=True)
    response = submit_response(version, parsed, channel="paper", project=make.project())
    db.session.commit()
    return response


# --- list -------------------------------------------------------------------------------------

def test_list_shows_templates_by_kind_with_version_and_state(client, quality, db):
    ensure_default_templates()
    db.session.commit()
    response = client.get("/questionnaires/")
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and "<html" in html
    assert "运维服务季度客户满意度调查表" in html and "Service Ticket Callback Record" in html
    assert "Version 1" in html and "Editable" in html
    assert 'href="/questionnaires/new"' in html
    assert "HX-Request" in response.headers["Vary"]


def test_list_filter_returns_the_fragment_for_htmx(client, quality, db):
    ensure_default_templates()
    db.session.commit()
    response = client.get("/questionnaires/?kind=callback&language=zh", headers=HX)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "<html" not in html and html.lstrip().startswith('<div id="template-list">')
    assert "服务工单电话回访记录表" in html
    assert "运维服务季度客户满意度调查表" not in html and "Service Ticket Callback Record" not in html


def test_list_shows_a_frozen_template(client, quality, make, db, version):
    _answer(make, db, version)
    html = client.get("/questionnaires/").get_data(as_text=True)
    row = re.search(r'<tr id="template-%d">.*?</tr>' % version.template_id, html, re.S).group(0)
    assert "Frozen" in row and ">1</td>" in row


@pytest.mark.parametrize("role", READERS)
def test_other_roles_read_and_preview_but_may_not_change(client, make, auth, db, version, role):
    make.user("reader", roles=(role,))
    auth.login("reader")
    html = client.get("/questionnaires/").get_data(as_text=True)
    assert "运维季度调查" in html and 'href="/questionnaires/new"' not in html
    assert ">Questionnaires</a>" in html  # nav item
    assert client.get(f"/questionnaires/versions/{version.id}/preview").status_code == 200
    question = version.questions[0]
    base = f"/questionnaires/versions/{version.id}"
    assert client.get("/questionnaires/new").status_code == 403
    assert client.get(base).status_code == 403
    for url, data in [("/questionnaires/new", {"kind": "callback", "language": "zh", "name": "x", "title": "x"}),
                      (base, {"name": "x", "title": "x"}),
                      (f"{base}/questions", _question_data("new", scale=_scale_id(db, "sat5_a"))),
                      (f"{base}/questions/{question.id}", _question_data(f"q{question.id}")),
                      (f"{base}/questions/{question.id}/delete", {}),
                      (f"{base}/questions/{question.id}/move", {"direction": "down"}),
                      (f"/questionnaires/templates/{version.template_id}/archive", {"archived": "1"})]:
        assert client.post_form(url, data, token_from=TOKEN_PAGE).status_code == 403, url
        assert client.post_form(url, data, htmx=True, token_from=TOKEN_PAGE).status_code == 403, url
    assert _codes(db, version.id) == ["attitude", "timeliness", "technical", "opinion"]
    assert db.session.scalar(select(func.count(Template.id))) == 1


@pytest.mark.parametrize("role", ["archive", "admin"])
def test_roles_without_templates_are_refused(client, make, auth, version, role):
    make.user("other", roles=(role,))
    auth.login("other")
    refused = client.get("/questionnaires/")
    assert refused.status_code == 403
    assert ">Questionnaires</a>" not in refused.get_data(as_text=True)  # no nav item either
    assert client.get(f"/questionnaires/versions/{version.id}/preview").status_code == 403


# --- create -----------------------------------------------------------------------------------

def test_create_template_then_land_in_its_editor(client, quality, db):
    response = client.post_form("/questionnaires/new", {
        "kind": "sales_visit", "language": "zh", "name": "重点客户回访", "title": "重点客户满意度回访表",
        "intro": "感谢支持"}, token_from=TOKEN_PAGE)
    template = db.session.scalar(select(Template).where(Template.name == "重点客户回访"))
    assert response.status_code == 303
    assert response.headers["Location"] == f"/questionnaires/versions/{template.versions[0].id}"
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "重点客户回访" in page and "No questions yet." in page and 'id="add-question"' in page


def test_create_template_by_htmx_redirects_with_a_header(client, quality, db):
    response = client.post_form("/questionnaires/new", {
        "kind": "callback", "language": "en", "name": "Key account callback", "title": "Callback"},
        htmx=True, token_from=TOKEN_PAGE)
    assert response.status_code == 204
    assert response.headers["HX-Redirect"].startswith("/questionnaires/versions/")


@pytest.mark.parametrize("htmx", [False, True])
def test_invalid_new_template_comes_back_422_with_errors_beside_fields(client, quality, db, version, htmx):
    response = client.post_form("/questionnaires/new", {
        "kind": "pm_quarterly", "language": "zh", "name": "运维季度调查", "title": ""},
        htmx=htmx, token_from=TOKEN_PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert re.search(r'id="field-title">.*?class="errors"', html, re.S)
    assert db.session.scalar(select(func.count(Template.id))) == 1
    # the service's rule (name taken) is shown at its field too
    response = client.post_form("/questionnaires/new", {
        "kind": "pm_quarterly", "language": "zh", "name": "运维季度调查", "title": "t"}, htmx=htmx,
        token_from=TOKEN_PAGE)
    assert response.status_code == 422
    assert re.search(r'id="field-name">.*?already has this name', response.get_data(as_text=True), re.S)


# --- editing a draft --------------------------------------------------------------------------

def test_editor_full_page_lists_questions_with_row_components(client, quality, version):
    html = client.get(f"/questionnaires/versions/{version.id}").get_data(as_text=True)
    assert "<html" in html and "服务态度" in html and "响应及时性" in html
    assert f'<li class="q-row" id="q-{version.questions[0].id}" hx-target="this" hx-swap="outerHTML">' in html
    assert "This version is frozen" not in html


def test_add_question_by_htmx_returns_the_editor(client, quality, db, version):
    data = _question_data("new", scale=_scale_id(db, "sat5_a"), **{"allow_na": "y"})
    response = client.post_form(f"/questionnaires/versions/{version.id}/questions", data, htmx=True,
                                token_from=TOKEN_PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert html.lstrip().startswith('<div id="question-editor">') and "沟通协调" in html
    assert re.search(r'name="new-code"[^>]*value=""', html)  # a fresh form for the next one
    assert _codes(db, version.id) == ["attitude", "timeliness", "technical", "opinion", "communication"]
    added = db.session.scalar(select(Question).where(Question.code == "communication"))
    assert added.allow_na and added.required and added.scale.code == "sat5_a" and added.position == 4


def test_add_question_without_js_redirects_back(client, quality, db, version):
    data = _question_data("new", type="choice", choices="愿意\n不愿意", dimension="")
    response = client.post_form(f"/questionnaires/versions/{version.id}/questions", data, token_from=TOKEN_PAGE)
    assert response.status_code == 303
    assert response.headers["Location"].startswith(f"/questionnaires/versions/{version.id}#q-")
    added = db.session.scalar(select(Question).where(Question.code == "communication"))
    assert added.choices == ["愿意", "不愿意"] and added.dimension is None


@pytest.mark.parametrize("htmx", [False, True])
@pytest.mark.parametrize("fields, field, message", [
    ({"scale": ""}, "scale", "needs a scale"),
    ({"code": "attitude"}, "code", "already has this code"),
    ({"code": ""}, "code", "required"),
    ({"type": "choice", "choices": "只有一个"}, "choices", "at least two options"),
])
def test_invalid_question_is_422_with_the_error_beside_its_field(client, quality, db, version, htmx,
                                                                 fields, field, message):
    data = _question_data("new", **fields)
    response = client.post_form(f"/questionnaires/versions/{version.id}/questions", data, htmx=htmx,
                                token_from=TOKEN_PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert ("<html" in html) is not htmx
    assert re.search(r'id="field-new-%s">(?:(?!</div>).)*?%s' % (field, message), html, re.S), html
    assert re.search(r'name="new-text"[^>]*>\s*沟通协调</textarea>', html)  # what was typed is kept
    assert len(_codes(db, version.id)) == 4


def test_edit_row_in_place(client, quality, db, version):
    question = version.questions[1]
    prefix = f"q{question.id}"
    url = f"/questionnaires/versions/{version.id}/questions/{question.id}"
    form = client.get(url + "/edit", headers=HX).get_data(as_text=True)
    assert form.lstrip().startswith(f'<li class="q-row editing" id="q-{question.id}" hx-target="this"')
    assert f'name="{prefix}-text"' in form and "响应及时性" in form

    invalid = client.post_form(url, _question_data(prefix, code="timeliness", text=""), htmx=True,
                               token_from=TOKEN_PAGE)
    assert invalid.status_code == 422
    assert re.search(r'id="field-%s-text">.*?class="errors"' % prefix, invalid.get_data(as_text=True), re.S)

    saved = client.post_form(url, _question_data(prefix, code="timeliness", text="故障响应及时性",
                                                 scale=_scale_id(db, "sat5_b"), dimension="timeliness"),
                             htmx=True, token_from=TOKEN_PAGE)
    html = saved.get_data(as_text=True)
    assert saved.status_code == 200
    assert html.lstrip().startswith(f'<li class="q-row" id="q-{question.id}"') and "故障响应及时性" in html
    db.session.expire_all()
    changed = db.session.get(Question, question.id)
    assert changed.text == "故障响应及时性" and changed.scale.code == "sat5_b" and not changed.allow_na
    assert db.session.scalar(select(func.count(TemplateVersion.id))) == 1  # a draft is edited in place

    cancel = client.get(url, headers=HX).get_data(as_text=True)
    assert cancel.lstrip().startswith(f'<li class="q-row" id="q-{question.id}"')


def test_edit_row_without_js_is_the_editor_page_with_that_row_open(client, quality, db, version):
    question = version.questions[0]
    url = f"/questionnaires/versions/{version.id}/questions/{question.id}"
    html = client.get(url + "/edit").get_data(as_text=True)
    assert "<html" in html and f'<li class="q-row editing" id="q-{question.id}"' in html
    assert 'id="add-question"' in html
    response = client.post_form(url, _question_data(f"q{question.id}", code="attitude", text="服务人员态度",
                                                    scale=_scale_id(db, "sat5_a"), dimension="attitude"),
                                token_from=TOKEN_PAGE)
    assert response.status_code == 303
    assert response.headers["Location"] == f"/questionnaires/versions/{version.id}#q-{question.id}"


def test_move_and_delete_by_htmx_return_the_renumbered_editor(client, quality, make, db, version):
    first, second = version.questions[0], version.questions[1]
    base = f"/questionnaires/versions/{version.id}/questions"
    moved = client.post_form(f"{base}/{first.id}/move", {"direction": "down"}, htmx=True, token_from=TOKEN_PAGE)
    assert moved.status_code == 200 and moved.get_data(as_text=True).lstrip().startswith('<div id="question-editor">')
    assert _codes(db, version.id) == ["timeliness", "attitude", "technical", "opinion"]
    html = client.post_form(f"{base}/{second.id}/delete", {}, htmx=True, token_from=TOKEN_PAGE).get_data(as_text=True)
    assert "响应及时性" not in html
    assert _codes(db, version.id) == ["attitude", "technical", "opinion"]
    assert client.post_form(f"{base}/{first.id}/move", {"direction": "sideways"}, token_from=TOKEN_PAGE).status_code == 400
    # a question of another version is not reachable under this version's URL
    other = make.template_version(name="别的模板").questions[0].id
    assert client.post_form(f"{base}/{other}/delete", {}, token_from=TOKEN_PAGE).status_code == 404


def test_details_form_saves_in_place(client, quality, db, version):
    url = f"/questionnaires/versions/{version.id}"
    response = client.post_form(url, {"name": "运维季度调查（新）", "title": "季度满意度调查", "intro": "请如实填写"},
                                htmx=True, token_from=TOKEN_PAGE)
    html = response.get_data(as_text=True)
    assert response.status_code == 200 and html.lstrip().startswith('<form') and "Saved." in html
    db.session.expire_all()
    stored = db.session.get(TemplateVersion, version.id)
    assert (stored.template.name, stored.title, stored.intro) == ("运维季度调查（新）", "季度满意度调查", "请如实填写")
    invalid = client.post_form(url, {"name": "x", "title": ""}, htmx=True, token_from=TOKEN_PAGE)
    assert invalid.status_code == 422 and 'id="field-title"' in invalid.get_data(as_text=True)


def test_archive_hides_a_template_from_the_list_and_rounds(client, quality, db, version):
    response = client.post_form(f"/questionnaires/templates/{version.template_id}/archive",
                                {"archived": "1"}, token_from=TOKEN_PAGE)
    assert response.status_code == 303
    assert "运维季度调查" not in client.get("/questionnaires/").get_data(as_text=True)
    assert "运维季度调查" in client.get("/questionnaires/?archived=1").get_data(as_text=True)
    assert svc.current_versions("pm_quarterly") == []


# --- frozen versions --------------------------------------------------------------------------

def test_frozen_version_says_so_and_the_first_edit_makes_a_new_version(client, quality, make, db, version):
    response_row = _answer(make, db, version)
    page = client.get(f"/questionnaires/versions/{version.id}").get_data(as_text=True)
    assert "This version is frozen." in page and "It has 1 response." in page
    assert "Your first change creates version 2" in page

    question = version.questions[0]
    result = client.post_form(f"/questionnaires/versions/{version.id}/questions/{question.id}",
                              _question_data(f"q{question.id}", code="attitude", text="服务人员的服务态度",
                                             scale=_scale_id(db, "sat5_a"), dimension="attitude"),
                              htmx=True, token_from=TOKEN_PAGE)
    assert result.status_code == 204
    new = db.session.scalar(select(TemplateVersion).where(TemplateVersion.number == 2))
    assert result.headers["HX-Redirect"] == f"/questionnaires/versions/{new.id}"
    assert [q.text for q in new.questions][0] == "服务人员的服务态度"
    db.session.expire_all()
    assert db.session.get(Question, question.id).text == "服务态度"
    assert db.session.get(Response, response_row.id).template_version_id == version.id

    landed = client.get(result.headers["HX-Redirect"]).get_data(as_text=True)
    assert "Version 2 was created from version 1" in landed and "This version is frozen." not in landed

    old = client.get(f"/questionnaires/versions/{version.id}").get_data(as_text=True)
    assert "is an older version" in old and 'id="add-question"' not in old
    late = client.post_form(f"/questionnaires/versions/{version.id}/questions/{question.id}/delete", {},
                            htmx=True, token_from=TOKEN_PAGE)
    assert late.headers["HX-Redirect"] == f"/questionnaires/versions/{new.id}"
    assert _codes(db, version.id) == ["attitude", "timeliness", "technical", "opinion"]
    assert len(_codes(db, new.id)) == 4


def test_adding_to_a_frozen_version_without_js_redirects_to_the_new_version(client, quality, make, db, version):
    _answer(make, db, version)
    response = client.post_form(f"/questionnaires/versions/{version.id}/questions",
                                _question_data("new", scale=_scale_id(db, "sat5_a")), token_from=TOKEN_PAGE)
    new = db.session.scalar(select(TemplateVersion).where(TemplateVersion.number == 2))
    assert response.status_code == 303 and response.headers["Location"] == f"/questionnaires/versions/{new.id}"
    assert _codes(db, new.id)[-1] == "communication" and len(_codes(db, version.id)) == 4


# --- preview ----------------------------------------------------------------------------------

def test_preview_renders_the_chinese_form_with_disabled_inputs(client, make, auth, db):
    ensure_default_templates()
    db.session.commit()
    make.user("pm9", roles=("pm",))
    auth.login("pm9")
    version = svc.current_versions("pm_quarterly", "zh")[0]
    html = client.get(f"/questionnaires/versions/{version.id}/preview",
                      headers={"Accept-Language": "en"}).get_data(as_text=True)
    assert "运维服务季度客户满意度调查表" in html
    assert ">满意</span>" in html and ">较满意</span>" in html and ">很不满意</span>" in html
    assert ">不适用</span>" in html  # documentation allows N/A
    assert 'name="q_attitude" value="5" disabled' in html
    assert "<textarea" in html and ">提交</button>" in html
    assert '<div class="survey" lang="zh-CN">' in html and "Satisfied" not in html


def test_preview_of_an_english_template_is_in_english(client, quality, db):
    ensure_default_templates()
    db.session.commit()
    version = svc.current_versions("callback", "en")[0]
    html = client.get(f"/questionnaires/versions/{version.id}/preview").get_data(as_text=True)
    assert ">Yes</span>" in html and ">No</span>" in html and ">Not applicable</span>" in html
    assert 'class="options options-10"' in html and ">Submit</button>" in html
    assert "满意" not in html
