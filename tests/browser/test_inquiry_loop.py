"""The closed loop by clicking, in each UI language (DESIGN §4.2, §4.4): sales records an
inquiry on the client's behalf with a low score, an opinion and a major problem; an executive
acknowledges the major problem; the PM works the follow-up it opened (contact, cause and
actions, escalation); the executive answers; the PM resolves; PMO verifies and closes it."""
import os
import re
from contextlib import contextmanager
from datetime import date

import pytest
from flask_babel import force_locale, gettext
from playwright.sync_api import expect

from portal.labels import CHANNEL_LABELS, FOLLOWUP_ACTION_LABELS, FOLLOWUP_STATE_LABELS
from portal.models import FollowUp, SalesInquiry
from portal.services.quarters import local_today
from tests import factories

WAIT = 15000  # ms, for every expect: the live server answers in another thread
SHOTS = "/tmp/shots"
BROWSER_LOCALE = {"zh": "zh-CN", "en": "en-US"}
HTML_LANG = {"zh": "zh-CN", "en": "en"}

EN_SALES_VISIT_QUESTIONS = [
    dict(code="attitude", text="The project team's service attitude", type="scale", scale="sat5_b",
         dimension="attitude"),
    dict(code="overall", text="Overall satisfaction with the project", type="scale", scale="sat5_b",
         dimension="overall"),
    dict(code="opinion", text="Comments and suggestions", type="text", required=False),
]

#: what each person is called and writes, in each language
WORDS = {
    "zh": dict(sales="销售张", exec="技术总监陈", pm="项目经理李", pmo="PMO主任周",
               client="杭州地铁运营公司", buyer="采购刘", ops="运维赵", project="通信系统维保",
               low="不满意", good="满意",
               opinion="夜间故障的响应太慢，希望改进。", problem="核心交换机连续两次宕机，客户考虑更换供应商。",
               ack="已安排技术总监下周拜访客户。", contact_note="客户同意先观察一个月。",
               cause="备件库存不足，夜班无人值守。", corrective="补齐备件，增加夜班值守。",
               preventive="每季度盘点备件库存。", reason="需要公司层面调配资源。",
               answer="同意增加夜班编制，已向客户说明。", resolve_note="客户确认问题已解决。",
               verify_note="已电话核实，关闭。"),
    "en": dict(sales="Sam Sales", exec="Erin Exec", pm="Paul PM", pmo="Olga PMO",
               client="Metro Operations Ltd", buyer="Bob Buyer", ops="Olive Ops", project="Comms maintenance",
               low="Dissatisfied", good="Satisfied",
               opinion="Night-time faults take too long to fix.",
               problem="The core switch failed twice; the client may change supplier.",
               ack="The technical director visits the client next week.",
               contact_note="The client agreed to wait a month.",
               cause="Too few spare parts, no night shift.", corrective="Restock spares, add a night shift.",
               preventive="Count the spares every quarter.", reason="It needs resources at company level.",
               answer="Night shift approved; explained to the client.", resolve_note="The client confirms it is fixed.",
               verify_note="Checked by phone; closed."),
}

#: the timeline of a follow-up that went the whole way, in order
LOOP = ("opened", "record_contact", "record_cause_and_actions", "classify", "escalate", "answer_escalation",
        "resolve", "verify")


def text(lang, message, **variables):
    """UI text as a user with ``lang`` sees it (``message``: a msgid or a lazy label)."""
    with force_locale(lang):
        return gettext(message, **variables) if isinstance(message, str) else str(message)


def prefix(lang, message, variable, **variables):
    """The translated text before ``%(variable)s``."""
    return text(lang, message, **{variable: "\x00"}, **variables).split("\x00")[0]


@pytest.fixture
def open_as(browser, live_server):
    """open_as(username, lang): a new browser context signed in as ``username``; closed at the end."""
    contexts = []

    def sign_in(username, lang):
        context = browser.new_context(base_url=live_server, locale=BROWSER_LOCALE[lang],
                                      viewport={"width": 1280, "height": 900})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(WAIT)
        page.goto("/login")
        page.fill("input[name=username]", username)
        page.fill("input[name=password]", factories.PASSWORD)
        page.click("button[type=submit].primary")
        page.wait_for_url(lambda url: "/login" not in url)
        assert page.locator("html").get_attribute("lang") == HTML_LANG[lang]  # the user's own language
        return page

    yield sign_in
    for context in contexts:
        context.close()


def _world(make, lang):
    w = WORDS[lang]
    users = {role: make.user(f"{role}_{lang}", roles=(role,), display_name=w[role], locale=lang)
             for role in ("sales", "exec", "pm", "pmo")}
    client = make.client(w["client"])
    buyer = make.contact(client, name=w["buyer"], function="procurement")
    make.contact(client, name=w["ops"], function="ops_leader")
    project = make.project(pm=users["pm"], sales=users["sales"], client_=client, code=f"LOOP-{lang.upper()}",
                           name=w["project"], status="completed", end_date=date(2026, 3, 31))
    zh = make.template_version(kind="sales_visit", questions=factories.SALES_VISIT_QUESTIONS, name="销售回访表")
    make.template_version(kind="sales_visit", language="en", questions=EN_SALES_VISIT_QUESTIONS,
                          name="Sales visit form", variant_of=zh)
    return users, project, buyer


@contextmanager
def _step(page, lang, action):
    """The form of ``action`` in the follow-up box; after the block, its button is clicked."""
    label = text(lang, FOLLOWUP_ACTION_LABELS[action])
    section = page.locator("#followup-box section.card").filter(
        has=page.get_by_role("heading", name=label, exact=True))
    expect(section).to_have_count(1, timeout=WAIT)
    yield section
    section.get_by_role("button", name=label, exact=True).click()


def _expect_box(page, lang, state, events):
    """Wait for the swapped box: its state badge and a timeline of ``events`` entries."""
    expect(page.locator("#followup-box .toolbar .badge")).to_have_text(
        text(lang, FOLLOWUP_STATE_LABELS[state]), timeout=WAIT)
    expect(page.locator("#followup-box ol > li")).to_have_count(events, timeout=WAIT)


def _open_followup_from_home(page, lang, link_text, project):
    """Home → the follow-up section's link → the list → the project's follow-up."""
    page.goto("/")
    page.locator("#home-followups").get_by_role("link", name=link_text, exact=True).click()
    page.wait_for_url(re.compile(r"/followups\?"))
    row = page.locator("#followup-results tr", has_text=project.code)
    expect(row).to_have_count(1, timeout=WAIT)
    row.locator("a[href*='/followups/']").click()
    page.wait_for_url(re.compile(r"/followups/\d+$"))
    page.locator("#followup-box").wait_for()


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_inquiry_major_problem_and_followup_loop(open_as, make, db, lang):
    w = WORDS[lang]
    users, project, buyer = _world(make, lang)
    if lang == "zh":  # the labels asserted below really are translated
        for label in (*FOLLOWUP_ACTION_LABELS.values(), *FOLLOWUP_STATE_LABELS.values()):
            assert text("zh", label) != text("en", label)

    # 1. sales: home → the project due an inquiry → the form, on the client's behalf, low score, major problem
    sales = open_as("sales_" + lang, lang)
    sales.goto("/")
    due = sales.locator("#inquiries-due")
    expect(due.locator("h2")).to_have_text(text(lang, "Projects due a sales inquiry"), timeout=WAIT)
    row = due.locator("tr", has_text=project.code)
    row.get_by_role("link", name=text(lang, "Record an inquiry"), exact=True).click()
    sales.wait_for_url(re.compile(rf"/projects/{project.id}/inquiries/new"))
    form = sales.locator("form.inquiry-form")
    form.locator("input[name=inquired_on]").fill(local_today().isoformat())
    form.locator("select[name=mode]").select_option("phone")
    form.locator("select[name=trigger]").select_option("completion")
    form.locator(f"#field-contacts input[value='{buyer.id}']").check()
    form.locator("select[name=respondent]").select_option(str(buyer.id))
    form.get_by_label(text(lang, "Filled in on the client's behalf after a verbal inquiry")).check()
    form.locator("#question-attitude").get_by_role("radio", name=w["low"], exact=True).check()
    form.locator("#question-overall").get_by_role("radio", name=w["good"], exact=True).check()
    form.locator("#question-opinion textarea").fill(w["opinion"])
    form.get_by_label(text(lang, "Major problem: escalate to senior management now")).check()
    form.locator("textarea[name=major_problem_description]").fill(w["problem"])
    form.get_by_role("button", name=text(lang, "Record the inquiry"), exact=True).click()
    sales.wait_for_url(re.compile(r"/inquiries/\d+$"))
    inquiry_url = sales.url
    expect(sales.locator("[data-channel=on_behalf]")).to_have_text(text(lang, CHANNEL_LABELS["on_behalf"]),
                                                                    timeout=WAIT)
    expect(sales.locator("#major-problem")).to_contain_text(w["problem"], timeout=WAIT)
    expect(sales.locator("#major-problem")).to_contain_text(text(lang, "Major problem"))
    assert sales.locator("#major-problem form").count() == 0  # sales cannot acknowledge it

    # 2. the executive: home lists the major problem → the inquiry → note → Acknowledge (htmx)
    executive = open_as("exec_" + lang, lang)
    problems = executive.locator("#major-problems")
    expect(problems.locator("h2")).to_have_text(text(lang, "Major problems awaiting acknowledgement"),
                                                timeout=WAIT)
    expect(problems).to_contain_text(w["problem"])
    problems.locator("a", has_text=project.code).click()
    executive.wait_for_url(inquiry_url)
    expect(executive.locator("[data-channel=on_behalf]")).to_be_visible(timeout=WAIT)
    executive.locator("#major-problem textarea[name=note]").fill(w["ack"])
    executive.locator("#major-problem").get_by_role("button", name=text(lang, "Acknowledge"), exact=True).click()
    acknowledgement = executive.locator("#acknowledgement")
    expect(acknowledgement).to_contain_text(
        prefix(lang, "Acknowledged by %(name)s, %(when)s", "when", name=w["exec"]), timeout=WAIT)
    expect(executive.locator("#major-problem")).to_contain_text(w["ack"])
    expect(executive.locator("#major-problem form")).to_have_count(0)
    executive.goto("/")
    expect(executive.locator("#major-problems")).to_contain_text(text(lang, "No major problem is waiting."),
                                                                 timeout=WAIT)
    expect(executive.locator("#major-problems")).not_to_contain_text(project.code)

    # 3. the PM: home → open follow-ups → the follow-up; contact, cause and actions, escalation
    pm = open_as("pm_" + lang, lang)
    _open_followup_from_home(pm, lang, text(lang, "Your open follow-ups: %(n)d", n=1), project)
    followup_url = pm.url
    box = pm.locator("#followup-box")
    _expect_box(pm, lang, "open", 1)
    expect(box.locator("[data-channel=on_behalf]")).to_have_text(text(lang, CHANNEL_LABELS["on_behalf"]))
    opened_by = box.locator("section.card", has=pm.get_by_role("heading", name=text(lang, "What opened it")))
    expect(opened_by).to_contain_text(w["opinion"])
    expect(opened_by).to_contain_text(w["low"])

    with _step(pm, lang, "record_contact") as form:
        form.locator("select[name='record_contact-how']").select_option("phone")
        form.locator("textarea[name='record_contact-note']").fill(w["contact_note"])
    _expect_box(pm, lang, "contacted", 2)
    expect(box).to_contain_text(w["contact_note"])

    with _step(pm, lang, "record_cause_and_actions") as form:
        form.locator("textarea[name='record_cause_and_actions-cause']").fill(w["cause"])
        form.locator("textarea[name='record_cause_and_actions-corrective_action']").fill(w["corrective"])
        form.locator("textarea[name='record_cause_and_actions-preventive_action']").fill(w["preventive"])
    _expect_box(pm, lang, "contacted", 3)
    facts = box.locator("dl.props")
    for value in (w["cause"], w["corrective"], w["preventive"]):
        expect(facts).to_contain_text(value)

    with _step(pm, lang, "classify") as form:  # the PM sorts the problem (DESIGN §4.1.6)
        form.locator("select[name='classify-direction']").select_option("attitude")
        form.locator("select[name='classify-problem_type']").select_option("complaint")
    _expect_box(pm, lang, "contacted", 4)

    with _step(pm, lang, "escalate") as form:
        form.locator("select[name='escalate-to']").select_option(label=w["exec"])
        form.locator("textarea[name='escalate-reason']").fill(w["reason"])
    _expect_box(pm, lang, "escalated", 5)
    expect(facts).to_contain_text(w["reason"])
    expect(box.locator("form").locator("button")).to_have_text(  # the PM waits for the executive
        [text(lang, FOLLOWUP_ACTION_LABELS["classify"]), text(lang, FOLLOWUP_ACTION_LABELS["route"])])

    # 4. the executive: home → escalations awaiting an answer → the follow-up → answer
    _open_followup_from_home(executive, lang, text(lang, "Escalations awaiting your answer: %(n)d", n=1), project)
    assert executive.url == followup_url
    _expect_box(executive, lang, "escalated", 5)
    with _step(executive, lang, "answer_escalation") as form:
        form.locator("textarea[name='answer_escalation-answer']").fill(w["answer"])
    _expect_box(executive, lang, "answered", 6)
    expect(executive.locator("#followup-box dl.props")).to_contain_text(w["answer"])

    # 5. the PM sees the answer and resolves
    pm.reload()
    _expect_box(pm, lang, "answered", 6)
    expect(facts).to_contain_text(w["answer"])
    expect(facts).to_contain_text(w["exec"])
    with _step(pm, lang, "resolve") as form:
        form.locator("textarea[name='resolve-note']").fill(w["resolve_note"])
    _expect_box(pm, lang, "resolved", 7)

    # 6. PMO: home → awaiting verification → the follow-up → Verify and close
    pmo = open_as("pmo_" + lang, lang)
    _open_followup_from_home(pmo, lang, text(lang, "Awaiting your verification: %(n)d", n=1), project)
    assert pmo.url == followup_url
    with _step(pmo, lang, "verify") as form:
        form.locator("textarea[name='verify-note']").fill(w["verify_note"])
    _expect_box(pmo, lang, "closed", len(LOOP))
    expect(pmo.locator("#followup-box dl.props")).to_contain_text(w["pmo"])  # verified by
    labels = pmo.locator("#followup-box ol > li").evaluate_all(
        "items => items.map(li => [...li.childNodes].filter(n => n.nodeType === Node.TEXT_NODE)"
        ".map(n => n.textContent).join('').split(' · ').pop().trim())")
    assert labels == [text(lang, FOLLOWUP_ACTION_LABELS[a]) for a in LOOP]
    timeline = pmo.locator("#followup-box ol")
    for note in (w["contact_note"], w["cause"], w["reason"], w["answer"], w["resolve_note"], w["verify_note"]):
        expect(timeline).to_contain_text(note)
    os.makedirs(SHOTS, exist_ok=True)
    pmo.screenshot(path=f"{SHOTS}/loop-{lang}.png", full_page=True)

    db.session.rollback()  # end the test thread's read snapshot
    inquiry = db.session.query(SalesInquiry).filter_by(project_id=project.id).one()
    assert inquiry.on_behalf and inquiry.acknowledged_by_id == users["exec"].id
    followup = db.session.query(FollowUp).filter_by(response_id=inquiry.response_id).one()
    assert followup.state == "closed" and [e.action for e in followup.events] == list(LOOP)
