"""No password, survey token or phone number reaches a log.

A sign-in (and a failed one), an admin setting a password, a contact saved with a phone number,
a PM showing and copying a client's link, and the client opening it, saving a draft and
submitting — all through the app, with every logger of the process at DEBUG (SQLAlchemy keeps
its own WARNING level: statement echo is off in every configuration the portal ships). The
records' messages, arguments and tracebacks are searched, and so is the audit trail for the
password and the token. The gunicorn access log's redaction is tested in tests/test_access_log.py
for /s/<token>; the complaint-check link /k/<token> is checked below.
"""
import logging
import re

import pytest

from portal.access_log import redact
from portal.extensions import db as _db
from portal.extensions import limiter
from portal.models import AuditEvent

from .. import factories

from . import APP_LAYER_ONLY

pytestmark = APP_LAYER_ONLY

PHONE = "13912345678"
NEW_PASSWORD = "Secret-Pass-9876-xyz"
WRONG_PASSWORD = "Wrong-Guess-5432-abc"
DEBUG_LOGGERS = ("", "portal", "flask", "werkzeug", "flask_wtf", "flask_limiter", "flask_login", "weasyprint",
                 "gunicorn", "urllib3")


@pytest.fixture
def everything_logged(caplog):
    levels = {name: logging.getLogger(name).level for name in DEBUG_LOGGERS}
    for name in DEBUG_LOGGERS:
        logging.getLogger(name).setLevel(logging.DEBUG)
    caplog.set_level(logging.DEBUG)
    yield caplog
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)


def _logged_text(records):
    parts = []
    for record in records:
        parts.append(record.getMessage())
        parts.append(repr(record.args))
        if record.exc_info:
            parts.append(logging.Formatter().formatException(record.exc_info))
        parts.append(record.exc_text or "")
    return "\n".join(parts)


def _sign_in(app, username, password=factories.PASSWORD):
    client = app.test_client()
    assert client.post_form("/login", {"username": username, "password": password}).status_code == 303
    return client


def test_passwords_tokens_and_phone_numbers_stay_out_of_the_logs(app, db, everything_logged):
    limiter.enabled = False
    try:
        pm = factories.user("pm_a", roles=("pm",))
        factories.user("root", roles=("admin",))
        project = factories.project(pm=pm)
        inv, token = factories.invitation(project_=project)

        stranger = app.test_client()
        assert stranger.post_form("/login", {"username": "pm_a", "password": WRONG_PASSWORD}).status_code == 422
        admin = _sign_in(app, "root")
        assert admin.post_form(f"/users/{pm.id}/password", {"password": NEW_PASSWORD, "confirm": NEW_PASSWORD},
                               token_from="/users/").status_code in (200, 303)
        pm_client = _sign_in(app, "pm_a", NEW_PASSWORD)
        saved = pm_client.post_form(f"/clients/{project.client_id}/contacts/new",
                                    {"name": "电话联系人", "function": "site_admin", "phone": PHONE, "language": "zh"},
                                    token_from=f"/clients/{project.client_id}/contacts/new")
        assert saved.status_code in (200, 303), saved.status_code
        link = pm_client.post_form(f"/invitations/{inv.id}/link", token_from=f"/rounds/{inv.round_id}")
        assert link.status_code == 200 and token in link.get_data(as_text=True)  # the page shows it, once asked

        survey = app.test_client()
        assert survey.get(f"/s/{token}").status_code == 303
        answers = {"q_attitude": "4", "q_timeliness": "5", "q_technical": "8"}
        assert survey.post_form("/survey/draft", answers, token_from="/survey").status_code in (200, 303)
        assert survey.post_form("/survey/submit", answers, token_from="/survey").status_code == 303
        assert survey.get(f"/s/{token}").status_code in (200, 303, 404, 410)  # a spent link, opened again
    finally:
        limiter.enabled = True

    from portal.models import Contact
    assert _db.session.query(Contact).filter_by(phone=PHONE).count() == 1  # the phone was really stored
    logging.getLogger("portal.services").debug("capture check")
    records = everything_logged.records
    assert any(r.getMessage() == "capture check" for r in records)  # DEBUG records are captured
    logged = _logged_text(records)
    for secret in (factories.PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, token, PHONE):
        assert secret not in logged, f"{secret!r} found in a log record"
    assert not re.search(r"1[3-9]\d{9}", logged)  # no mainland mobile number at all
    audit = " ".join(f"{e.action} {e.detail}" for e in _db.session.query(AuditEvent))
    for secret in (factories.PASSWORD, NEW_PASSWORD, WRONG_PASSWORD, token):
        assert secret not in audit, f"{secret!r} found in the audit trail"


TOKEN = "Yc3-9kPq_ZtR0aVb7nLm2sXw4eHu6jDf8gKo1iTy5AB"


def test_the_access_log_redacts_survey_links():
    assert TOKEN not in redact(f'10.0.0.9 "GET /s/{TOKEN} HTTP/1.1" 303 "https://p.example/s/{TOKEN}"')


def test_the_access_log_redacts_complaint_check_links():
    assert TOKEN not in redact(f'10.0.0.9 "GET /k/{TOKEN} HTTP/1.1" 303 "https://p.example/k/{TOKEN}"')
