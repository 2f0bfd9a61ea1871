"""Twenty simultaneous submits of one form make exactly one Response (DESIGN §4.1.3).

Runs against the real database of the suite: a SQLite file (WAL, BEGIN IMMEDIATE)
or PostgreSQL when TEST_DATABASE_URL says so (row lock on the invitation).
"""
import threading

from portal.extensions import db as _db
from portal.models import Invitation, Response
from portal.services import survey
from tests.texts import zh

SUBMITTERS = 20
ANSWERS = {"q_attitude": "5", "q_timeliness": "4", "q_technical": "9", "q_opinion": "同时提交"}


def _race(work):
    """Run ``work(i)`` in SUBMITTERS threads released together; returns their outcomes."""
    start = threading.Barrier(SUBMITTERS)
    outcomes = [None] * SUBMITTERS

    def run(i):
        start.wait()
        try:
            outcomes[i] = work(i)
        except Exception as exc:  # noqa: BLE001 - every failure is reported by the assertion
            outcomes[i] = f"error: {exc!r} {getattr(getattr(exc, 'orig', None), 'sqlite_errorname', '')}"

    threads = [threading.Thread(target=run, args=(i,)) for i in range(SUBMITTERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a submitter hung"
    return outcomes


def test_concurrent_service_submits_make_one_response(app, make, db):
    inv, _ = make.invitation()
    invitation_id = inv.id
    db.session.commit()  # the test's own session holds no lock while the threads run

    def submit(i):
        with app.app_context():
            try:
                survey.submit_online(invitation_id, ANSWERS, client_ip=f"10.0.0.{i}")
                _db.session.commit()
                return "submitted"
            except survey.AlreadySubmitted:
                _db.session.rollback()
                return "already"
            finally:
                _db.session.remove()

    outcomes = _race(submit)
    assert sorted(outcomes) == ["already"] * (SUBMITTERS - 1) + ["submitted"], outcomes
    assert db.session.query(Response).filter_by(invitation_id=invitation_id).count() == 1
    assert db.session.get(Invitation, invitation_id).used_at is not None


def test_concurrent_http_submits_from_one_browser_make_one_response(app, make, db):
    """A double (or twenty-fold) click: separate connections sharing one session cookie."""
    inv, token = make.invitation()
    invitation_id = inv.id
    browser = app.test_client()
    assert browser.get(f"/s/{token}").status_code == 303
    csrf = browser.csrf_token("/survey")
    cookie = browser.get_cookie("portal_session").value
    db.session.commit()
    already = zh("This questionnaire has already been submitted")  # the form follows its zh template

    def submit(i):
        with app.app_context():
            tab = app.test_client()
            tab.set_cookie("portal_session", cookie)
            response = tab.post("/survey/submit", data={**ANSWERS, "csrf_token": csrf})
            body = response.get_data(as_text=True)
            _db.session.remove()
            if response.status_code == 303 and response.headers["Location"] == "/survey/thanks":
                return "submitted"
            if response.status_code == 409 and already in body:
                return "already"
            return f"unexpected {response.status_code}: {body[:200]}"

    outcomes = _race(submit)
    assert sorted(outcomes) == ["already"] * (SUBMITTERS - 1) + ["submitted"], outcomes
    assert db.session.query(Response).filter_by(invitation_id=invitation_id).count() == 1
