"""The questionnaire macro speaks its template's language, whatever the viewer's (DESIGN §8);
only the viewer's own messages (answer errors) stay in the viewer's language."""
import pytest
from flask import render_template_string

from portal.services.answers import parse_answers

ZH_WORDS = ("</span> 为必答题</p>", 'title="必答"', "（必答）", "不适用", 'placeholder="请填写您的意见或建议"', "0–100 分")
EN_WORDS = ("</span> required</p>", 'title="Required"', "(required)", ">Not applicable<", 'placeholder="Your comments"',
            '<small class="hint">0–100</small>')
QUESTIONS = [
    dict(code="attitude", text="服务态度", type="scale", scale="sat5_a", dimension="attitude", allow_na=True),
    dict(code="score", text="总体评分", type="scale", scale="score100"),
    dict(code="opinion", text="意见和建议", type="text", required=False),
]
MACRO = ('{% from "_macros/questionnaire.html" import questionnaire_header, question_fields %}'
         '{{ questionnaire_header(version) }}{{ question_fields(version, errors=errors) }}')


@pytest.fixture
def quality(make, auth):
    def sign_in(locale):
        make.user("q1", roles=("quality",), locale=locale)
        auth.login("q1")
    return sign_in


def _preview(client, version):
    response = client.get(f"/questionnaires/versions/{version.id}/preview")
    assert response.status_code == 200
    return response.get_data(as_text=True)


def test_chinese_questionnaire_viewed_by_an_english_user_stays_chinese(client, make, quality):
    quality("en")
    html = _preview(client, make.template_version(language="zh", questions=QUESTIONS))
    assert all(word in html for word in ZH_WORDS), [w for w in ZH_WORDS if w not in html]
    assert not [w for w in EN_WORDS if w in html]
    assert '<html lang="en">' in html and "Preview of" in html  # the page around it is the viewer's


def test_english_questionnaire_viewed_by_a_chinese_user_stays_english(client, make, quality):
    quality("zh")
    html = _preview(client, make.template_version(language="en", questions=QUESTIONS))
    assert all(word in html for word in EN_WORDS), [w for w in EN_WORDS if w not in html]
    assert not [w for w in ZH_WORDS if w in html]
    assert '<html lang="zh-CN">' in html and "Preview of" not in html


@pytest.mark.parametrize("viewer, template, message, words", [
    ("en", "zh", "Please answer this question.", ZH_WORDS),
    ("zh", "en", "请回答此题。", EN_WORDS),
])
def test_answer_errors_speak_the_viewers_language_inside_the_templates_form(app, make, viewer, template,
                                                                           message, words):
    version = make.template_version(language=template, questions=QUESTIONS)
    errors = parse_answers(version, {}, complete=True).errors
    with app.test_request_context(headers={"Accept-Language": viewer}):
        html = render_template_string(MACRO, version=version, errors=errors)
    assert html.count(message) == 2  # attitude and score, each beside its question
    assert all(word in html for word in words), [w for w in words if w not in html]
