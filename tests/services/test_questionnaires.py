"""Templates and versions (DESIGN §2): a version once answered is frozen; editing makes a new one."""
from datetime import date

import pytest
from sqlalchemy import func, select

from portal.models import (AuditEvent, Question, Response, SurveyRound, Template, TemplateVersion)
from portal.services import DomainError
from portal.services import questionnaires as svc
from portal.services.answers import parse_answers
from portal.services.responses import submit_response
from portal.seed.templates import DEFAULT_TEMPLATES, ensure_default_templates

POLICY_DIMENSIONS = {"attitude", "timeliness", "technical", "communication", "resolution", "documentation"}


def _answered(make, db):
    """A version with one submitted response; returns (version, response)."""
    version = make.template_version()
    parsed = parse_answers(version, {"q_attitude": "4", "q_timeliness": "na", "q_technical": "9",
                                     "q_opinion": "夜间响应偏慢"}, complete=True)
    response = submit_response(version, parsed, channel="paper", project=make.project())
    db.session.commit()
    return version, response


def _answers_of(response):
    answers = sorted((a.question_id, a.question.code, a.question.text, a.raw_value, a.text_value,
                      a.is_na, a.normalized) for a in response.answers)
    assert len(answers) == 4, answers  # comparing two empty lists would prove nothing
    return answers


def _template(db, **kw):
    template = svc.create_template(**{"kind": "pm_quarterly", "language": "zh", "name": "季度调查",
                                      "title": "季度客户满意度调查", **kw})
    db.session.commit()
    return template.versions[-1]


def _q(code="q1", **kw):
    return {"code": code, "text": "服务态度", "type": "scale", "scale": "sat5_a",
            "dimension": "attitude", **kw}


# --- creating and editing a draft -------------------------------------------------------------

def test_create_template_starts_with_an_empty_version_1_and_is_audited(db):
    version = _template(db, intro="尊敬的客户：")
    assert version.number == 1 and version.questions == [] and not version.frozen
    assert version.template.kind == "pm_quarterly" and version.intro == "尊敬的客户："
    assert db.session.scalar(select(func.count(AuditEvent.id)).where(
        AuditEvent.action == "create", AuditEvent.object_type == "Template")) == 1


@pytest.mark.parametrize("kw, field", [
    ({"kind": "weekly"}, "kind"), ({"language": "fr"}, "language"), ({"name": "  "}, "name"),
    ({"title": ""}, "title")])
def test_create_template_refuses_bad_fields(db, kw, field):
    with pytest.raises(DomainError) as err:
        svc.create_template(**{"kind": "pm_quarterly", "language": "zh", "name": "n", "title": "t", **kw})
    assert err.value.field == field


def test_template_name_is_unique_per_kind_and_language(db):
    _template(db)
    with pytest.raises(DomainError) as err:
        svc.create_template("pm_quarterly", "zh", "季度调查", "另一个标题")
    assert err.value.field == "name"
    svc.create_template("pm_quarterly", "en", "季度调查", "Other language is fine")


def test_draft_version_is_edited_in_place(db):
    version = _template(db)
    first = svc.add_question(version, **_q("attitude"))
    second = svc.add_question(version, **_q("timeliness", text="响应及时性", dimension="timeliness"))
    db.session.commit()
    assert not first.new_version and not second.new_version
    assert [q.code for q in version.questions] == ["attitude", "timeliness"]
    assert [q.position for q in version.questions] == [0, 1]
    moved = svc.move_question(version.questions[1], "up")
    db.session.commit()
    assert moved.version.id == version.id
    assert [q.code for q in version.questions] == ["timeliness", "attitude"]
    svc.remove_question(version.questions[0])
    db.session.commit()
    assert [(q.code, q.position) for q in version.questions] == [("attitude", 0)]
    assert db.session.scalar(select(func.count(TemplateVersion.id))) == 1


@pytest.mark.parametrize("fields, field", [
    (_q("attitude"), "code"),                                  # taken in this version
    (_q("Bad Code"), "code"),
    (_q("1abc"), "code"),
    (_q("x", text=" "), "text"),
    (_q("x", type="slider"), "type"),
    (_q("x", scale=None), "scale"),                            # a scale question needs a scale
    (_q("x", type="yes_no", scale=None), "scale"),
    (_q("x", type="yes_no", scale="sat5_a"), "scale"),         # yes/no needs two options
    (_q("x", scale="no_such_scale"), "scale"),
    (_q("x", dimension="price"), "dimension"),
    (_q("x", type="choice", scale=None, choices=["愿意"]), "choices"),
    (_q("x", type="choice", scale=None, choices="\n  \n"), "choices"),
])
def test_question_rules_name_the_field(db, fields, field):
    version = _template(db)
    svc.add_question(version, **_q("attitude"))
    with pytest.raises(DomainError) as err:
        svc.add_question(version, **fields)
    assert err.value.field == field


def test_choice_and_text_questions_keep_only_what_applies(db):
    version = _template(db)
    choice = svc.add_question(version, code="again", text="是否继续合作", type="choice", scale="sat5_a",
                              choices="愿意\n视情况而定\n\n愿意\n不愿意", allow_na=True).question
    text = svc.add_question(version, code="opinion", text="意见和建议", type="text", scale="sat5_a",
                            allow_na=True, required=False).question
    db.session.commit()
    assert choice.choices == ["愿意", "视情况而定", "不愿意"] and choice.scale_id is None
    assert text.scale_id is None and text.choices is None and not text.allow_na and not text.required


# --- versioning -------------------------------------------------------------------------------

def test_editing_an_answered_template_never_changes_old_responses(make, db):
    version, response = _answered(make, db)
    before_answers = _answers_of(response)
    before_questions = [(q.id, q.code, q.text, q.position) for q in version.questions]
    question = next(q for q in version.questions if q.code == "attitude")

    result = svc.update_question(question, code="attitude", text="服务人员的服务态度", type="scale",
                                 scale="sat5_b", dimension="attitude", required=True)
    db.session.commit()

    assert result.new_version and result.version.number == 2
    new = db.session.get(TemplateVersion, result.version.id)
    assert new.template_id == version.template_id and not new.frozen
    assert [q.code for q in new.questions] == [q[1] for q in before_questions]
    assert next(q for q in new.questions if q.code == "attitude").text == "服务人员的服务态度"
    assert next(q for q in new.questions if q.code == "attitude").scale.code == "sat5_b"

    db.session.expire_all()
    stored = db.session.get(Response, response.id)
    old = db.session.get(TemplateVersion, version.id)
    assert stored.template_version_id == version.id
    assert _answers_of(stored) == before_answers
    assert [(q.id, q.code, q.text, q.position) for q in old.questions] == before_questions
    assert old.frozen and svc.current_version(old.template).id == new.id


@pytest.mark.parametrize("change", ["add", "remove", "move", "title"])
def test_every_kind_of_change_to_a_frozen_version_goes_to_a_new_version(make, db, change):
    version, response = _answered(make, db)
    before = _answers_of(response)
    questions = [(q.code, q.text, q.position) for q in version.questions]
    first = version.questions[0]
    if change == "add":
        result = svc.add_question(version, **_q("documentation", text="文档资料", dimension="documentation"))
    elif change == "remove":
        result = svc.remove_question(first)
    elif change == "move":
        result = svc.move_question(first, "down")
    else:
        result = svc.edit_version(version, title="新标题")
    db.session.commit()
    db.session.expire_all()
    assert result.new_version and result.version.number == 2
    assert [(q.code, q.text, q.position) for q in db.session.get(TemplateVersion, version.id).questions] == questions
    assert _answers_of(db.session.get(Response, response.id)) == before
    new_codes = [q.code for q in db.session.get(TemplateVersion, result.version.id).questions]
    expected = {"add": ["attitude", "timeliness", "technical", "opinion", "documentation"],
                "remove": ["timeliness", "technical", "opinion"],
                "move": ["timeliness", "attitude", "technical", "opinion"],
                "title": ["attitude", "timeliness", "technical", "opinion"]}[change]
    assert new_codes == expected


def test_second_edit_goes_to_the_new_draft_not_a_third_version(make, db):
    version, _ = _answered(make, db)
    first = svc.edit_version(version, title="第二版")
    db.session.commit()
    second = svc.add_question(first.version, **_q("extra", text="补充问题"))
    db.session.commit()
    assert not second.new_version and second.version.id == first.version.id
    assert db.session.scalar(select(func.count(TemplateVersion.id)).where(
        TemplateVersion.template_id == version.template_id)) == 2


def test_an_older_version_cannot_be_changed(make, db):
    version, _ = _answered(make, db)
    svc.edit_version(version, title="第二版")
    db.session.commit()
    with pytest.raises(svc.NotCurrentVersion):
        svc.edit_version(version, title="第三版")
    with pytest.raises(svc.NotCurrentVersion):
        svc.remove_question(version.questions[0])


def test_no_change_makes_no_new_version(make, db):
    version, _ = _answered(make, db)
    q = version.questions[0]
    same = svc.update_question(q, code=q.code, text=q.text, type=q.type, scale=q.scale_id,
                               dimension=q.dimension, required=q.required, allow_na=q.allow_na)
    assert not same.new_version
    assert not svc.edit_version(version, title=version.title).new_version
    assert not svc.move_question(q, "up").new_version  # already first
    db.session.commit()
    assert svc.current_version(version.template).id == version.id


def test_a_version_issued_in_a_round_is_frozen_before_any_answer(make, db):
    version = make.template_version()
    project = make.project()
    db.session.add(SurveyRound(project=project, quarter="2026Q4", template_version=version,
                               due_date=date(2026, 12, 31), created_by=project.pm))
    db.session.commit()
    assert version.frozen_at is None and svc.is_frozen(version)
    result = svc.edit_version(version, intro="请于月底前填写")
    db.session.commit()
    assert result.new_version and db.session.get(TemplateVersion, version.id).intro is None


def test_edits_are_audited(db):
    version = _template(db)
    added = svc.add_question(version, **_q("attitude"))
    svc.update_question(added.question, **_q("attitude", text="服务人员态度"))
    svc.remove_question(added.question)
    db.session.commit()
    actions = db.session.execute(select(AuditEvent.action, AuditEvent.object_type)
                                 .where(AuditEvent.object_type == "Question")).all()
    assert sorted(a for a, _ in actions) == ["create", "delete", "update"]


def test_current_versions_offers_the_latest_of_each_active_template(make, db):
    version, _ = _answered(make, db)
    newer = svc.edit_version(version, title="第二版").version
    english = make.template_version(language="en")
    archived = make.template_version()
    svc.set_template_archived(archived.template, True)
    empty = _template(db, name="空模板")
    make.template_version(kind="callback")
    db.session.commit()
    offered = svc.current_versions("pm_quarterly")
    assert {v.id for v in offered} == {newer.id, english.id}
    assert [v.id for v in svc.current_versions("pm_quarterly", "en")] == [english.id]
    assert empty.id not in {v.id for v in offered}


# --- default templates ------------------------------------------------------------------------

def test_the_default_templates_cover_every_dimension_and_ask_for_opinions(db):
    templates = ensure_default_templates()
    db.session.commit()
    assert len(templates) == 8
    assert {(t.kind, t.language) for t in templates} == {
        (k, lang) for k in ("pm_quarterly", "sales_visit", "callback", "complaint_followup")
        for lang in ("zh", "en")}
    for template in templates:
        version = svc.current_version(template)
        texts = [q for q in version.questions if q.type == "text"]
        assert texts and not texts[0].required
        assert version.title and version.intro
        if template.kind == "complaint_followup":  # speed, effect, attitude, overall (issue 11)
            assert [q.code for q in version.questions] == ["speed", "effect", "attitude", "overall", "opinion"]
        else:
            assert {q.dimension for q in version.questions} >= POLICY_DIMENSIONS, template.name
            assert any(q.allow_na for q in version.questions)
        assert svc.current_versions(template.kind, template.language)[0].id == version.id


def test_default_templates_use_the_policy_scales(db):
    ensure_default_templates()
    db.session.commit()

    def scales(kind, language="zh"):
        version = svc.current_versions(kind, language)[0]
        return {q.scale.code for q in version.questions if q.scale is not None}, version

    assert scales("pm_quarterly")[0] == {"sat5_a"}
    assert scales("sales_visit")[0] == {"sat5_b"}
    callback_scales, callback = scales("callback")
    assert {"yes_no", "points10"} <= callback_scales
    resolved = next(q for q in callback.questions if q.code == "resolved")
    assert resolved.type == "yes_no" and resolved.text == "您反映的问题是否已解决？"
    zh = svc.current_versions("pm_quarterly", "zh")[0]
    assert zh.template.name == "运维服务季度客户满意度调查表"
    assert any(q.text.startswith("意见和建议") for q in zh.questions)


def test_seeding_is_idempotent_and_keeps_later_edits(db):
    ensure_default_templates()
    db.session.commit()
    counts = (db.session.scalar(select(func.count(Template.id))),
              db.session.scalar(select(func.count(TemplateVersion.id))),
              db.session.scalar(select(func.count(Question.id))))
    version = svc.current_versions("callback", "zh")[0]
    svc.edit_version(version, title="回访记录表（质量部修订）")
    db.session.commit()
    again = ensure_default_templates()
    db.session.commit()
    assert len(again) == len(DEFAULT_TEMPLATES)
    assert (db.session.scalar(select(func.count(Template.id))),
            db.session.scalar(select(func.count(TemplateVersion.id))),
            db.session.scalar(select(func.count(Question.id)))) == counts
    assert svc.current_versions("callback", "zh")[0].title == "回访记录表（质量部修订）"


def test_default_forms_can_be_answered_and_scored(make, db):
    """Every default template parses a full set of answers and yields a 1–5 score."""
    project = make.project()
    for template in ensure_default_templates():
        version = svc.current_version(template)
        data = {}
        for q in version.questions:
            if q.scale is not None:
                data[f"q_{q.code}"] = f"{q.scale.options[0].value:g}"  # best option
            elif q.type == "choice":
                data[f"q_{q.code}"] = q.choices[0]
        parsed = parse_answers(version, data, complete=True)
        assert parsed.ok, (template.name, parsed.errors)
        response = submit_response(version, parsed, channel="paper", project=project)
        assert response.score == 5
    db.session.commit()
