"""A complaint from intake to the client's verdict on its handling, by clicking, in Chinese
(DESIGN §4.7, issue 11): the quality desk registers a phone complaint with a recording, accepts
it and assigns it to a department; the owner records the first contact, the investigation with
company fault and a compensation above the department head's limit; an executive approves; the
owner tells the client; the desk closes it, which e-mails the complainant the check's link; the
complainant answers it in their own browser; the complaint page shows it closed, with its
timeline and the check's score."""
import os
import re

from flask_babel import force_locale, gettext
from playwright.sync_api import expect
from sqlalchemy import select

from portal.labels import COMPLAINT_ACTION_LABELS, COMPLAINT_STATE_LABELS
from portal.models import Complaint, OutboxMessage
from portal.models import Department, DepartmentMember
from portal.seed.templates import ensure_default_templates

WAIT = 15000
SHOTS = "/tmp/shots"
LANG = "zh"
#: a few bytes that are an MP3 by their content (an ID3 tag, then an MPEG audio frame header)
RECORDING = b"ID3\x03\x00\x00\x00\x00\x00\x00" + b"\xff\xfb\x90\x64" + bytes(400)
DESCRIPTION = "客户来电：机房空调故障报修后 6 小时才有工程师到场，期间机房温度超过 35 度，要求赔偿损失。"
FINDINGS = "夜班调度漏派工单，工程师在交接班后才接到任务；调度系统未对超时工单告警。"


def text(message, **variables):
    with force_locale(LANG):
        return gettext(message, **variables) if isinstance(message, str) else str(message)


def _shot(page, name):
    os.makedirs(SHOTS, exist_ok=True)
    page.screenshot(path=f"{SHOTS}/complaint-{name}.png", full_page=True)


def _step(page, action, **fields):
    """Fill the step's form on the complaint page and submit it (htmx swaps the box in place)."""
    form = page.locator(f"form[action$='/{action}']")
    expect(form).to_be_visible()
    for name, value in fields.items():
        control = form.locator(f"[name='{action}-{name}']")
        if control.evaluate("e => e.tagName") == "SELECT":
            control.select_option(str(value))
        else:
            control.fill(str(value))
    version = form.locator(f"input[name='{action}-version']").input_value()
    form.locator("button[type=submit]").click()
    # the box came back: the form's version moved on (or the form is gone)
    expect(page.locator(f"form[action$='/{action}'] input[name='{action}-version'][value='{version}']")) \
        .to_have_count(0)


def test_phone_complaint_to_the_clients_verdict(browser, live_server, signed_in, make, db):
    ensure_default_templates()
    make.user("desk_zh", roles=("quality",), display_name="质量部钱", locale=LANG)
    head = make.user("head_zh", roles=("pm",), display_name="运维部主任", locale=LANG)
    owner = make.user("owner_zh", roles=("pm",), display_name="运维工程师赵", locale=LANG)
    make.user("exec_zh", roles=("exec",), display_name="技术总监", locale=LANG)
    project = make.project(code="TS-DEMO-01", name="苏州数据中心运维", client_=make.client("苏州工业园区管委会"))
    contact = make.contact(project.client, name="周主任", email="zhou@example.cn")
    department = Department(name="运维服务部", head=head)
    db.session.add(department)
    db.session.flush()
    db.session.add(DepartmentMember(department=department, user=owner))
    db.session.commit()

    # 1. the quality desk registers the phone complaint with its recording
    desk = signed_in("desk_zh")
    desk.goto("/complaints/new")
    intake = desk.locator("#complaint-intake")
    intake.locator("select[name=channel]").select_option("phone")
    intake.locator("select[name=client_id]").select_option(str(project.client_id))
    expect(desk.locator("#complaint-intake select[name=contact_id] option", has_text="周主任")).to_have_count(1)
    intake = desk.locator("#complaint-intake")
    intake.locator("select[name=contact_id]").select_option(str(contact.id))
    intake.locator("select[name=project_id]").select_option(str(project.id))
    intake.locator("textarea[name=description]").fill(DESCRIPTION)
    intake.locator("input[type=file][name=evidence]").set_input_files(
        files=[{"name": "来电录音.mp3", "mimeType": "audio/mpeg", "buffer": RECORDING}])
    intake.locator("button[type=submit]").click()
    desk.wait_for_url(re.compile(r"/complaints/\d+$"))
    complaint_id = int(desk.url.rsplit("/", 1)[1])
    box = desk.locator("#complaint-box")
    expect(box.locator("a[download]")).to_have_text("来电录音.mp3")
    expect(box.locator(".toolbar .badge").first).to_have_text(text(COMPLAINT_STATE_LABELS["registered"]))

    # 2. accepted as valid, assigned to the department and its engineer
    _step(desk, "accept", note="情况属实，受理。")
    _step(desk, "assign", department=department.id, owner=owner.id)
    expect(box.locator(".toolbar .badge").first).to_have_text(text(COMPLAINT_STATE_LABELS["assigned"]))

    # 3. the owner: first contact, the investigation (company at fault), a compensation of 8000
    handler = signed_in("owner_zh")
    handler.goto(f"/complaints/{complaint_id}")
    _step(handler, "record_contact", how="phone", note="已电话向周主任致歉并说明调查安排。")
    _step(handler, "investigate", findings=FINDINGS, company_fault="1", responsible_employee="调度员 孙")
    _step(handler, "propose_remedy", kind="compensation", amount="8000", text="赔偿 8000 元并整改夜班调度。")
    expect(handler.locator("#complaint-box form[action$='/approve']")).to_have_count(0)

    # 4. above the department head's limit: the executive approves
    approver = signed_in("exec_zh")
    approver.goto(f"/complaints/{complaint_id}")
    _step(approver, "approve", note="同意赔偿。")

    # 5. the owner tells the client; the desk closes, choosing the e-mailed link
    handler.goto(f"/complaints/{complaint_id}")
    _step(handler, "notify_client", how="phone",
          said="已告知周主任调查结果、赔偿 8000 元及整改措施；如不满意可向质量部申诉。")
    desk.goto(f"/complaints/{complaint_id}")
    _step(desk, "close", check_by="link", note="客户认可处理结果。")
    expect(desk.locator("#complaint-box .toolbar .badge").first).to_have_text(text(COMPLAINT_STATE_LABELS["closed"]))
    _shot(desk, "closed")

    # 6. the complainant opens the e-mailed link in their own browser and answers
    db.session.rollback()  # end the test thread's read transaction: see what the server wrote
    message = db.session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "complaint",
                                                            OutboxMessage.to_addr == "zhou@example.cn",
                                                            OutboxMessage.body.contains("/k/")))
    link = re.search(r"https?://\S+/k/[A-Za-z0-9_-]+", message.body).group(0)
    assert link.startswith(live_server)
    guest = browser.new_context(locale="zh-CN").new_page()
    guest.set_default_timeout(WAIT)
    guest.goto(link)
    guest.wait_for_url(re.compile(r"/complaint-check$"))
    reference = db.session.get(Complaint, complaint_id).reference
    expect(guest.locator(".survey-about")).to_contain_text(reference)
    for code, value in (("speed", "3"), ("effect", "4"), ("attitude", "5"), ("overall", "4")):
        guest.locator(f"input[name=q_{code}][value='{value}']").check()
    guest.locator("textarea[name=q_opinion]").fill("处理结果可以接受，但到场太慢。")
    _shot(guest, "check")
    guest.locator("#check-form button[type=submit]").click()
    guest.wait_for_url(re.compile(r"/complaint-check/thanks$"))
    expect(guest.locator(".survey-message")).to_contain_text(reference)

    # 7. the complaint: closed, its whole timeline, and the check's score
    desk.goto(f"/complaints/{complaint_id}")
    box = desk.locator("#complaint-box")
    expect(box.locator(".toolbar .badge").first).to_have_text(text(COMPLAINT_STATE_LABELS["closed"]))
    actions = box.locator("li[data-action]")
    expect(actions).to_have_count(10)
    assert [actions.nth(i).get_attribute("data-action") for i in range(10)] == [
        "registered", "accept", "assign", "record_contact", "investigate", "propose_remedy", "approve",
        "notify_client", "close", "check_answered"]
    expect(actions.nth(6)).to_contain_text("技术总监")
    expect(actions.nth(9)).to_contain_text(text(COMPLAINT_ACTION_LABELS["check_answered"]))
    expect(box.locator("[data-check-score]")).to_contain_text("4.0 / 5")
    _shot(desk, "verdict")
