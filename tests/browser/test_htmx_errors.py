"""Issue 7: an htmx action the server refuses (403), cannot find (404) or never gets (network)
shows its message in the #toasts region of every page, dismissible, without breaking the CSP."""
import pytest

from portal.models import Question, User
from tests import factories
from tests.texts import zh


@pytest.fixture
def editor(page, login, make, db):
    """A quality user on a version's editor page; returns (page, version, problems)."""
    make.user("qa", roles=("quality", "pmo"), display_name="质量部甲")
    version = make.template_version(name="运维季度调查")
    problems = []
    page.on("console", lambda m: problems.append(m.text) if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda exc: problems.append(str(exc)))
    login("qa", factories.PASSWORD)
    page.goto(f"/questionnaires/versions/{version.id}")
    page.locator("#question-editor").wait_for()
    return page, version, problems


def _edit_link(page, question_id):
    return page.locator(f"#q-{question_id} .q-actions a.button")


def _no_csp_violation(problems):
    assert not [p for p in problems if "Content Security Policy" in p or "Refused" in p], problems


def test_lost_role_shows_the_403_message_and_it_can_be_dismissed(editor, db):
    page, version, problems = editor
    question_id = version.questions[0].id
    user = db.session.query(User).filter_by(username="qa").one()
    user.set_roles(["pmo"])  # someone takes the quality role away while the page is open
    db.session.commit()

    _edit_link(page, question_id).click()
    toast = page.locator("#toasts .toast")
    toast.wait_for()
    assert "403" in toast.inner_text() and zh("You do not have access to this page.") in toast.inner_text()
    assert page.locator("#question-editor .editing").count() == 0  # nothing swapped: the row stays a row
    assert _edit_link(page, question_id).is_visible()
    assert page.locator("#toasts").get_attribute("aria-live") == "assertive"

    toast.locator("button.toast-close").click()
    assert page.locator("#toasts .toast").count() == 0
    _no_csp_violation(problems)


def test_question_removed_meanwhile_shows_the_404_message(editor, db):
    page, version, problems = editor
    question_id = version.questions[1].id
    db.session.delete(db.session.get(Question, question_id))  # deleted in another window
    db.session.commit()

    _edit_link(page, question_id).click()
    toast = page.locator("#toasts .toast")
    toast.wait_for()
    assert "404" in toast.inner_text() and zh("This page does not exist.") in toast.inner_text()
    _edit_link(page, question_id).click()  # the same error again: still one message
    page.wait_for_timeout(300)
    assert page.locator("#toasts .toast").count() == 1
    _no_csp_violation(problems)


def test_network_failure_shows_a_message(editor):
    page, version, problems = editor
    page.route("**/questions/*/edit", lambda route: route.abort())

    _edit_link(page, version.questions[0].id).click()
    toast = page.locator("#toasts .toast")
    toast.wait_for()
    assert zh("The portal could not be reached. Check your network connection and try again.") in toast.inner_text()
    _no_csp_violation(problems)
