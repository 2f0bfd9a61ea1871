"""A client answers on a phone: link → form, draft over htmx, the form sends once while its submit runs."""
import re

from portal.models import Invitation, Response


def test_client_answers_on_a_phone(browser, live_server, make, db):
    from playwright.sync_api import expect
    inv, token = make.invitation()
    invitation_id = inv.id
    db.session.commit()
    context = browser.new_context(base_url=live_server, locale="zh-CN", is_mobile=True, has_touch=True,
                                  viewport={"width": 390, "height": 844})
    page = context.new_page()
    page.set_default_timeout(15000)
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    try:
        page.goto(f"/s/{token}")
        assert page.url.endswith("/survey") and token not in page.url

        page.locator("#question-attitude label.option", has_text="较满意").click()
        page.locator("#question-timeliness label.option", has_text="不适用").click()
        submit = page.locator("button.survey-submit")
        assert submit.bounding_box()["height"] >= 44 and submit.bounding_box()["width"] > 300
        page.locator("button.survey-draft").click()
        page.locator("#draft-status").filter(has_text=re.compile(r"\d\d:\d\d")).wait_for()
        db.session.rollback()  # a fresh snapshot of what the server wrote
        assert db.session.get(Invitation, invitation_id).draft == {"q_attitude": "4", "q_timeliness": "na"}
        db.session.commit()

        page.reload()  # resuming shows the draft
        assert page.locator("input[name=q_attitude][value='4']").is_checked()
        page.locator("#question-technical label.option", has_text="9").first.click()
        # a second tap while the first submit runs sends nothing (static/js/app.js)
        page.evaluate("""() => { window.sent = 0; window.addEventListener("submit", (e) => {
            if (!e.defaultPrevented) { window.sent++; } e.preventDefault(); }); }""")
        submit.click()
        expect(submit).to_be_disabled()
        page.evaluate("document.getElementById('survey-form').requestSubmit()")
        assert page.evaluate("window.sent") == 1

        page.reload()
        page.locator("#question-technical label.option", has_text="9").first.click()
        submit.click()
        page.wait_for_url("**/survey/thanks")
        db.session.rollback()  # a fresh snapshot of what the server wrote
        assert db.session.query(Response).filter_by(invitation_id=invitation_id).count() == 1
        db.session.commit()
    finally:
        context.close()
    assert not [p for p in problems if "favicon" not in p and "Failed to load resource" not in p], problems
